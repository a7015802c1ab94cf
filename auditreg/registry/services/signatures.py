"""Electronic signatures on versions and authorizations (21 CFR Part 11), and requests for
changes: what a signer signs, who may sign it (`rules.check_decision`, separation of duties,
the password again), and what follows once it is recorded."""

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from auditreg.accounts import lockout
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import DIGEST, check_choice, check_text, sha256_of
from auditreg.proofs.entry import format_time
from auditreg.registry import rules, selectors
from auditreg.registry.domain import Meaning, Stage, signed_content
from auditreg.registry.models import Authorization, ModelVersion, Signature
from auditreg.registry.services.versions import locked, write_stage_change


@dataclass(frozen=True)
class Decision:
    """What a signature decides, and what follows once it is recorded."""

    subject: str
    facts: str
    terms: dict[str, Any]

    @property
    def content(self) -> dict[str, Any]:
        return signed_content(record=self.subject, facts=self.facts, decision=self.terms)

    @property
    def sha256(self) -> str:
        return sha256_of(self.content)


def content_to_sign(
    *, record: ModelVersion | Authorization, meaning: Meaning, role: Role
) -> dict[str, Any]:
    """The canonical content a signer is shown and signs, for the portal and the API."""
    meaning, role = check_choice(meaning, Meaning, "meaning"), check_choice(role, Role, "role")
    return _decision(record, meaning, role).content


def sign(
    *,
    record: ModelVersion | Authorization,
    meaning: Meaning,
    role: Role,
    password: str,
    comment: str = "",
    content_sha256: str | None = None,
    by: Principal,
) -> Signature:
    """Sign a decision on a version or an authorization (21 CFR 11.50, 11.70, 11.200).

    The signer enters their password again; a session is not enough. The signature records
    printed name, username, time with zone, meaning and comment, and is bound to the
    SHA-256 of the content signed; `content_sha256`, when given, must be the hash of what
    the signer was shown. Refused attempts are recorded in the ledger, then raised.

    What follows a signature is applied in the same transaction: submitted for validation
    (authored), rejected, approved when the tier's policy is met, authorization activated,
    rejected or revoked, monitoring review cleared.
    """
    meaning = check_choice(meaning, Meaning, "meaning")
    try:
        if content_sha256 is not None and not (
            isinstance(content_sha256, str) and DIGEST.fullmatch(content_sha256)
        ):
            raise DomainError(
                "the content you were shown must be named by its sha256:<hex>",
                code="malformed_content_hash",
            )
        _check_signer(by, password)
        return _sign(record, meaning, role, comment, content_sha256, by)
    except DomainError as refusal:
        if by.is_person and Principal.objects.filter(actor_id=by.actor_id).exists():
            _record_refusal(record.subject, meaning, str(refusal), by)
        raise


def _check_signer(by: Principal, password: str) -> None:
    if not by.is_person:
        raise DomainError(f"{by} is not a person; only people sign (21 CFR 11.100)")
    user = get_user_model().objects.filter(username=by.username).first()
    if user is None or not by.active or not user.is_active:
        raise DomainError(f"{by} is deactivated and cannot sign")
    if not isinstance(password, str):
        raise DomainError(
            "the password is not correct; the signature was not recorded", code="wrong_password"
        )
    if not lockout.password_is_recorded(user):
        raise DomainError(
            f"{by}'s password was set outside auditreg's record (no principal.password_set "
            "entry): it cannot sign until it is set again through auditreg"
        )
    # The same lock-out as signing in: failed signing passwords count towards it, and a
    # locked person cannot sign (a held session must not become a password oracle).
    outcome = lockout.attempt(user.get_username(), lambda: lockout.check_password(user, password))
    if outcome is not lockout.Outcome.RIGHT:
        until = lockout.locked_until(user.get_username())
        if until is not None and outcome is lockout.Outcome.LOCKED:
            raise DomainError(
                f"too many wrong passwords for {by.username}: signing and signing in are "
                f"locked until {format_time(until)}; the signature was not recorded",
                code="locked",
            )
        raise DomainError(
            "the password is not correct; the signature was not recorded", code="wrong_password"
        )


REFUSAL_LIMIT = 1000


@transaction.atomic(durable=True)
def _record_refusal(subject: str, meaning: Meaning, reason: str, by: Principal) -> None:
    # Bounded: a refusal quotes what it refused, and the ledger keeps it for ever.
    payload = {"meaning": meaning.value, "reason": reason[:REFUSAL_LIMIT]}
    write_fact(kind="signature.failed", subject=subject, payload=payload, by=by)


@transaction.atomic(durable=True)
def _sign(
    target: ModelVersion | Authorization,
    meaning: Meaning,
    role: Role,
    comment: str,
    content_sha256: str | None,
    by: Principal,
) -> Signature:
    role = check_choice(role, Role, "role")
    require_role(by, {role}, f"sign as {role}")
    comment = _check_comment(comment, required=meaning in rules.NEEDS_COMMENT)
    if isinstance(target, ModelVersion):
        target = locked(target)
    else:
        target = Authorization.objects.select_for_update().get(pk=target.pk)
    decision = _decision(target, meaning, role)
    _check_independent(target, decision, by)
    if content_sha256 is not None and content_sha256 != decision.sha256:
        raise DomainError(
            f"the content you were shown ({content_sha256}) is not {target.subject} as it "
            f"stands ({decision.sha256}); reload it and sign again",
            code="content_changed",
        )
    signed_at = timezone.now().astimezone(ZoneInfo(by.time_zone))
    payload = {
        "meaning": meaning.value,
        "role": role.value,
        "username": by.username,
        "printed_name": by.printed_name,
        "signed_at": signed_at.isoformat(timespec="microseconds"),
        "time_zone": by.time_zone,
        "comment": comment,
        "content": decision.content,
        "content_sha256": decision.sha256,
    }
    entry = write_fact(kind="signature.signed", subject=target.subject, payload=payload, by=by)
    signature = Signature.objects.get(seq=entry.seq)
    _after_signature(target, meaning, comment, by)
    return signature


# --- Requests for changes ----------------------------------------------------------------------


@transaction.atomic(durable=True)
def request_changes(*, version: ModelVersion, role: Role, comment: str, by: Principal) -> Entry:
    """Ask a version's developers for changes instead of signing. A validator, approver or
    committee member may, in a role they hold, while the version is in validation
    (`rules.check_change_request`).

    A recorded comment, not a signature: it fills no policy requirement and leaves the stage
    as it is, so the reviewer's later signature is still theirs to give. The developers answer
    with a correction (`versions.correct_version`), which closes the request and voids
    signatures bound to the old facts. (A rejection, by contrast, ends the version: rejected
    is final.)
    """
    role = check_choice(role, Role, "role")
    require_role(by, {role}, f"request changes as {role}")
    comment = _check_comment(comment, required=True)
    version = locked(version)
    rules.check_change_request(selectors.version_state(version, ()), role)
    if by.actor_id in selectors.builders_of(version):
        raise DomainError(
            f"{by} registered or developed {version.subject} and cannot review it "
            "(separation of duties)",
            code="separation_of_duties",
        )
    payload = {
        "role": role.value,
        "comment": comment,
        "stage": version.stage,
        "package_digest": version.package_digest,
    }
    return write_fact(kind="changes.requested", subject=version.subject, payload=payload, by=by)


def _check_comment(comment: object, *, required: bool) -> str:
    if required and isinstance(comment, str) and not comment.strip():
        raise DomainError("a comment is required: say why", code="reason_required")
    return check_text(comment, "comment", required=required)


def _decision(target: ModelVersion | Authorization, meaning: Meaning, role: Role) -> Decision:
    """What a signature with this meaning in this role decides on the record as it stands;
    refused by `rules.check_decision` unless the policy and the record allow it."""
    state, required = selectors.decision_rules(target)
    rules.check_decision(state, meaning, role, required)
    terms: dict[str, Any] = {"meaning": meaning.value, "role": role.value}
    if isinstance(target, Authorization):
        return Decision(target.subject, target.facts_digest, {**terms, "status": target.status})
    terms["stage"] = target.stage
    if meaning == Meaning.REVIEWED:
        terms["review_of"] = target.review_seq
    return Decision(target.subject, target.package_digest, terms)


def _check_independent(
    target: ModelVersion | Authorization, decision: Decision, by: Principal
) -> None:
    """Separation of duties: those who built a version do not validate, approve or
    authorize it, and a person signs a decision once, so no one fills two required roles.
    (Authoring is the developer attesting their own work.)"""
    if decision.terms["meaning"] == Meaning.AUTHORED:
        return
    version = target if isinstance(target, ModelVersion) else target.version
    on_version = selectors.version_signatures(version)
    builders = selectors.builders_of(version)
    if isinstance(target, Authorization):
        builders.add(target.proposed_by)
        same_decision = [
            s
            for s in selectors.authorization_signatures(target)
            if s.content["decision"].get("status") == decision.terms["status"]
        ]
    else:
        same_decision = [
            s
            for s in on_version
            if s.content["decision"].get("stage") == decision.terms["stage"]
            and s.content["decision"].get("review_of") == decision.terms.get("review_of")
        ]
    if by.actor_id in builders:
        raise DomainError(
            f"{by} registered, proposed or developed {version.subject} and cannot sign "
            "this decision (separation of duties)",
            code="separation_of_duties",
        )
    if by.actor_id in {s.signer for s in same_decision}:
        raise DomainError(f"{by} has already signed this decision on {target.subject}")


def _after_signature(
    target: ModelVersion | Authorization, meaning: Meaning, comment: str, by: Principal
) -> None:
    if isinstance(target, ModelVersion):
        version = ModelVersion.objects.select_related("model").get(pk=target.pk)
        if meaning == Meaning.AUTHORED:
            write_stage_change(version, Stage.VALIDATION, "submitted for validation", by)
        elif meaning == Meaning.REJECTED:
            write_stage_change(version, Stage.REJECTED, comment, by)
        elif meaning == Meaning.REVIEWED:
            payload = {"review_of": version.review_seq, "comment": comment}
            write_fact(kind="review.cleared", subject=version.subject, payload=payload, by=by)
        elif selectors.approval_missing(version) == []:
            write_stage_change(
                version, Stage.APPROVED, "signatures required by policy complete", by
            )
        return
    auth = Authorization.objects.select_related("version__model").get(pk=target.pk)
    if meaning == Meaning.REJECTED:
        write_fact(kind="authorization.rejected", subject=auth.subject, payload={}, by=by)
    elif meaning == Meaning.REVOKED:
        write_fact(
            kind="authorization.revoked", subject=auth.subject, payload={"reason": comment}, by=by
        )
    elif selectors.authorization_missing(auth) == []:
        write_fact(kind="authorization.activated", subject=auth.subject, payload={}, by=by)
