"""People and machines: enrolment, roles, passwords, activation and API tokens. Every change
is one service call that checks who is acting, records the fact in the ledger and applies
it to the accounts tables (`accounts.projection`), all in one transaction.

Rule violations raise DomainError with a reason a person can act on, and change nothing.
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from auditreg.accounts import lockout
from auditreg.accounts.domain import USERNAME, Role, Scope
from auditreg.accounts.models import ApiToken, PasswordStamp, Principal
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger import services as ledger
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import check_choice, check_text
from auditreg.proofs.entry import format_time

# Management commands act as this principal, with the administrator role only: whoever can
# run them already controls the server.
SYSTEM = Principal(
    actor_id="system:manage",
    kind="system",
    username="manage",
    printed_name="Command line administration",
    time_zone="UTC",
    active=True,
)

READERS = set(Role)


def require_role(by: Principal, roles: Iterable[Role], action: str) -> None:
    """Refuse unless `by` is active and holds one of `roles`."""
    roles = set(roles)
    if not by.active:
        raise DomainError(f"{by} is deactivated and cannot {action}")
    if not by.roles() & {role.value for role in roles}:
        needed = " or ".join(sorted(role.label for role in roles))
        raise DomainError(f"{by} cannot {action}: that needs the role {needed}", code="wrong_role")


def principal_for(user: Any) -> Principal:
    try:
        return Principal.objects.get(actor_id=f"user:{user.username}")
    except Principal.DoesNotExist:
        raise DomainError(f"{user.username} is not enrolled") from None


# --- People ------------------------------------------------------------------------------------


def enroll_person(
    *,
    username: str,
    printed_name: str,
    roles: Sequence[Role],
    password: str | None = None,
    email: str = "",
    time_zone: str | None = None,
    by: Principal,
) -> Principal:
    """Enroll a person who can sign with their password. Administrators only."""
    # Hashing a password takes a deliberate half second: never while holding the ledger.
    hashed = None if password is None else make_password(_check_new_password(password))
    return _enroll_person(username, printed_name, roles, hashed, email, time_zone, by)


@transaction.atomic(durable=True)
def _enroll_person(
    username: str,
    printed_name: str,
    roles: Sequence[Role],
    hashed: str | None,
    email: str,
    time_zone: str | None,
    by: Principal,
) -> Principal:
    require_role(by, {Role.ADMINISTRATOR}, "enroll people")
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise DomainError(f"username {username!r} is not valid: lower-case letters, digits, ._-")
    zone = _check_zone(time_zone or settings.TIME_ZONE)
    # An existing Django account (e.g. from createsuperuser) keeps its password unless a new
    # one is given.
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"email": email}
    )
    if hashed is not None:
        user.password = hashed
    elif created:
        user.set_unusable_password()
    user.save()
    person = _enroll(f"user:{username}", "person", username, printed_name, zone, roles, by)
    if hashed is not None:
        _record_password(user, person, "set by an administrator at enrolment", by)
    elif user.has_usable_password():
        _record_password(user, person, "the existing account's password, kept at enrolment", by)
    return person


def set_password(*, person: Principal, password: str, reason: str, by: Principal) -> None:
    """Set a person's password and record that it was set: by whom and why, never the
    password. The person themself, or an administrator (a reset, recorded under the
    administrator's name); the only way a password that signs is set."""
    hashed = make_password(_check_new_password(password))  # slow: before the transaction
    _set_password(person, hashed, reason, by)


@transaction.atomic(durable=True)
def _set_password(person: Principal, hashed: str, reason: str, by: Principal) -> None:
    if not person.is_person:
        raise DomainError(f"{person} is not a person and has no password")
    if by.actor_id != person.actor_id:
        require_role(by, {Role.ADMINISTRATOR}, "reset other people's passwords")
    reason = check_text(reason, "reason", limit=200)
    user = get_user_model().objects.select_for_update().get(username=person.username)
    user.password = hashed
    user.save(update_fields=["password"])
    _record_password(user, person, reason, by)


def _check_new_password(password: object) -> str:
    if not isinstance(password, str) or not password:
        raise DomainError("the new password is empty")
    return password


def _record_password(user: Any, person: Principal, reason: str, by: Principal) -> None:
    payload = {"reason": reason}
    subject = person.actor_id
    entry = write_fact(kind="principal.password_set", subject=subject, payload=payload, by=by)
    PasswordStamp.objects.update_or_create(
        username=user.get_username(),
        defaults={"fingerprint": lockout.password_fingerprint(user.password), "seq": entry.seq},
    )


@transaction.atomic(durable=True)
def enroll_service(
    *, name: str, printed_name: str, roles: Sequence[Role], by: Principal
) -> Principal:
    """Enroll a machine (a training pipeline, a monitoring job). It never signs."""
    require_role(by, {Role.ADMINISTRATOR}, "enroll services")
    if not isinstance(name, str) or not USERNAME.fullmatch(name):
        raise DomainError(f"service name {name!r} is not valid: lower-case letters, digits, ._-")
    return _enroll(f"service:{name}", "service", name, printed_name, "UTC", roles, by)


def _enroll(
    actor_id: str,
    kind: str,
    username: str,
    printed_name: str,
    zone: str,
    roles: Sequence[Role],
    by: Principal,
) -> Principal:
    ledger.lock_subject(actor_id)
    if Principal.objects.filter(actor_id=actor_id).exists():
        raise DomainError(f"{actor_id} is already enrolled")
    roles = [check_choice(role, Role, "role") for role in roles]
    payload = {
        "kind": kind,
        "username": username,
        "printed_name": check_text(printed_name, "printed name", limit=200),
        "time_zone": zone,
    }
    write_fact(kind="principal.enrolled", subject=actor_id, payload=payload, by=by)
    for role in dict.fromkeys(roles):
        write_fact(kind="role.granted", subject=actor_id, payload={"role": role.value}, by=by)
    return Principal.objects.get(actor_id=actor_id)


@transaction.atomic(durable=True)
def grant_role(*, principal: Principal, role: Role, by: Principal) -> Entry:
    require_role(by, {Role.ADMINISTRATOR}, "grant roles")
    role = check_choice(role, Role, "role")
    principal = _locked_principal(principal)
    if role.value in principal.roles():
        raise DomainError(f"{principal} already has the role {role}")
    return write_fact(
        kind="role.granted", subject=principal.actor_id, payload={"role": role.value}, by=by
    )


@transaction.atomic(durable=True)
def revoke_role(*, principal: Principal, role: Role, by: Principal) -> Entry:
    require_role(by, {Role.ADMINISTRATOR}, "revoke roles")
    role = check_choice(role, Role, "role")
    principal = _locked_principal(principal)
    if role.value not in principal.roles():
        raise DomainError(f"{principal} does not have the role {role}")
    return write_fact(
        kind="role.revoked", subject=principal.actor_id, payload={"role": role.value}, by=by
    )


@transaction.atomic(durable=True)
def set_active(*, principal: Principal, active: bool, reason: str, by: Principal) -> Entry:
    """Deactivate (or reactivate) a principal: a deactivated person cannot sign or act."""
    require_role(by, {Role.ADMINISTRATOR}, "deactivate or reactivate principals")
    principal = _locked_principal(principal)
    if principal.active == active:
        raise DomainError(f"{principal} is already {'active' if active else 'deactivated'}")
    kind = "principal.reactivated" if active else "principal.deactivated"
    payload = {"reason": check_text(reason, "reason")}
    entry = write_fact(kind=kind, subject=principal.actor_id, payload=payload, by=by)
    if principal.is_person:
        get_user_model().objects.filter(username=principal.username).update(is_active=active)
    return entry


def _locked_principal(principal: Principal) -> Principal:
    """Lock, then re-read: the caller decides on the principal as it stands now."""
    ledger.lock_subject(principal.actor_id)
    return Principal.objects.get(actor_id=principal.actor_id)


# --- API tokens for service principals ---------------------------------------------------------

TOKEN_PREFIX = "ar"  # noqa: S105 - the tokens' public prefix, not a secret
MAX_TOKEN_DAYS = 365


@transaction.atomic(durable=True)
def issue_token(
    *,
    principal: Principal,
    name: str,
    scopes: Sequence[Scope],
    days: int = 90,
    by: Principal,
) -> tuple[ApiToken, str]:
    """Issue an API token to a service principal. Administrators only.

    Returns the token row and the token itself, which is shown once and never stored: only
    its SHA-256 is kept. The issue (never the secret) is recorded in the ledger.
    """
    require_role(by, {Role.ADMINISTRATOR}, "issue API tokens")
    if principal.kind != "service":
        raise DomainError(f"{principal} is not a service principal; people sign in instead")
    if not principal.active:
        raise DomainError(f"{principal} is deactivated")
    checked = sorted({check_choice(scope, Scope, "scope").value for scope in scopes})
    if not checked:
        raise DomainError("a token needs at least one scope: ingest, read")
    if not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        raise DomainError(f"a token lasts from 1 to {MAX_TOKEN_DAYS} days")
    prefix = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    payload: dict[str, Any] = {
        "token": prefix,
        "name": check_text(name, "token name", limit=100),
        "scopes": checked,
        "expires_at": format_time(now + timedelta(days=days)),
    }
    entry = write_fact(kind="token.issued", subject=principal.actor_id, payload=payload, by=by)
    row = ApiToken.objects.create(
        principal=principal,
        name=payload["name"],
        prefix=prefix,
        digest=_token_digest(token),
        scopes=checked,
        created_at=entry.recorded_at,
        expires_at=now + timedelta(days=days),
        issued_seq=entry.seq,
    )
    return row, token


@transaction.atomic(durable=True)
def revoke_token(*, token: ApiToken, reason: str, by: Principal) -> None:
    require_role(by, {Role.ADMINISTRATOR}, "revoke API tokens")
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        raise DomainError(f"{token} is already revoked")
    payload = {"token": token.prefix, "reason": check_text(reason, "reason")}
    entry = write_fact(kind="token.revoked", subject=token.principal_id, payload=payload, by=by)
    token.revoked_at = entry.recorded_at
    token.save(update_fields=["revoked_at"])


def authenticate_token(token: str) -> tuple[Principal, ApiToken]:
    """The principal behind a presented token; DomainError if it is unknown, expired,
    revoked, or its principal is deactivated (the reason is not told to the caller)."""
    # The secret is URL-safe base64, which may itself contain "_".
    parts = token.split("_", 2) if isinstance(token, str) else []
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise DomainError("not an auditreg API token")
    row = ApiToken.objects.select_related("principal").filter(prefix=parts[1]).first()
    if row is None or not hmac.compare_digest(row.digest, _token_digest(token)):
        raise DomainError("unknown API token")
    if row.revoked_at is not None:
        raise DomainError("this API token has been revoked")
    if row.expires_at <= timezone.now():
        raise DomainError("this API token has expired")
    if not row.principal.active:
        raise DomainError("the token's service principal is deactivated")
    return row.principal, row


def _token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching).
    return hashlib.sha256(token.encode()).hexdigest()


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"time zone {name!r} is not an IANA time zone name") from None
    return name
