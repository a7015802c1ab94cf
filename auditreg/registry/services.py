"""The registry's use cases. Every write is one service call: it checks who is acting and the
rules, appends the ledger entries that record the facts, and applies them to the registry's
tables through the projection, all in one transaction.

Rule violations raise DomainError with a reason a person can act on, and change nothing
(except refused signing attempts, which are themselves recorded, 21 CFR 11.300(d)).
"""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from auditreg.accounts import lockout
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger import services as ledger
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import DIGEST, check_choice, check_decimal, check_text, sha256_of
from auditreg.proofs.entry import format_time
from auditreg.registry.domain import (
    DEPLOYED,
    MANUAL_TRANSITIONS,
    NEEDS_AUTHORIZATION,
    AuthorizationStatus,
    Meaning,
    Requirement,
    RiskTier,
    Signed,
    Stage,
    authorization_subject,
    check_package,
    check_requirements,
    check_slug,
    missing_signatures,
    package_authors,
    signable_now,
    signed_content,
    stored_requirements,
    version_subject,
)
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    MonitoringRecord,
    Policy,
    RegisteredModel,
    Signature,
    Threshold,
    UseCase,
)
from lineage.services import check_snapshots_recorded

DEPLOYERS = {Role.DEVELOPER, Role.APPROVER, Role.ADMINISTRATOR}
GOVERNORS = {Role.APPROVER, Role.MODEL_RISK_COMMITTEE, Role.ADMINISTRATOR}
DEFAULT_POLICIES: dict[RiskTier, dict[str, Any]] = {
    RiskTier.HIGH: {
        "approval": [
            {"role": "validator", "meaning": "validated", "count": 1},
            {"role": "approver", "meaning": "approved", "count": 1},
            {"role": "model_risk_committee", "meaning": "approved", "count": 1},
        ],
        "authorization": [
            {"role": "approver", "meaning": "approved", "count": 1},
            {"role": "model_risk_committee", "meaning": "approved", "count": 1},
        ],
        "review_months": 12,
    },
    RiskTier.MEDIUM: {
        "approval": [
            {"role": "validator", "meaning": "validated", "count": 1},
            {"role": "approver", "meaning": "approved", "count": 1},
        ],
        "authorization": [{"role": "approver", "meaning": "approved", "count": 1}],
        "review_months": 18,
    },
    RiskTier.LOW: {
        "approval": [{"role": "approver", "meaning": "approved", "count": 1}],
        "authorization": [{"role": "approver", "meaning": "approved", "count": 1}],
        "review_months": 24,
    },
}


def _check_package_data(package: dict[str, Any]) -> None:
    data = package["data"]
    check_snapshots_recorded(
        [item["snapshot"] for item in data], {item["snapshot"]: item["digest"] for item in data}
    )


def organisation_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


# --- Policies ----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def set_policy(
    *,
    risk_tier: RiskTier,
    approval: list[dict[str, Any]],
    authorization: list[dict[str, Any]],
    review_months: int,
    by: Principal,
) -> Policy:
    """Set which signatures a tier's approvals and authorizations need. Idempotent."""
    require_role(by, {Role.MODEL_RISK_COMMITTEE, Role.ADMINISTRATOR}, "set policies")
    tier = check_choice(risk_tier, RiskTier, "risk tier")
    if not isinstance(review_months, int) or not 1 <= review_months <= 60:
        raise DomainError("review interval must be a whole number of months from 1 to 60")
    payload = {
        "risk_tier": tier.value,
        "approval": [r.as_json() for r in check_requirements(approval, "approval")],
        "authorization": [r.as_json() for r in check_requirements(authorization, "authorization")],
        "review_months": review_months,
    }
    current = Policy.objects.filter(risk_tier=tier).first()
    if current is not None and _policy_payload(current) == payload:
        return current
    write_fact(kind="policy.set", subject=f"policy:{tier}", payload=payload, by=by)
    return Policy.objects.get(risk_tier=tier)


def _policy_payload(policy: Policy) -> dict[str, Any]:
    return {
        "risk_tier": policy.risk_tier,
        "approval": policy.approval,
        "authorization": policy.authorization,
        "review_months": policy.review_months,
    }


def policy_for(model: RegisteredModel) -> Policy:
    policy = Policy.objects.filter(risk_tier=model.risk_tier).first()
    if policy is None:
        raise DomainError(
            f"there is no policy for the {model.risk_tier} risk tier: the model risk "
            "committee or an administrator must set one first"
        )
    return policy


# --- Models and versions -----------------------------------------------------------------------


@transaction.atomic(durable=True)
def register_model(
    *,
    slug: str,
    name: str,
    owner: str,
    domain: str,
    risk_tier: RiskTier,
    intended_purpose: str,
    limitations: str,
    description: str = "",
    by: Principal,
) -> RegisteredModel:
    """Register a model in the inventory. Idempotent for the same facts."""
    require_role(by, {Role.DEVELOPER}, "register models")
    payload = {
        "slug": check_slug(slug, "model slug"),
        "name": check_text(name, "model name", limit=200),
        "owner": check_text(owner, "owner", limit=200),
        "domain": check_text(domain, "domain", limit=100),
        "risk_tier": check_choice(risk_tier, RiskTier, "risk tier").value,
        "intended_purpose": check_text(intended_purpose, "intended purpose"),
        "limitations": check_text(limitations, "known limitations"),
        "description": check_text(description, "description", required=False),
    }
    ledger.lock_subject(f"model:{slug}")
    existing = RegisteredModel.objects.filter(slug=slug).first()
    if existing is not None:
        if all(getattr(existing, field) == value for field, value in payload.items()):
            return existing
        raise DomainError(
            f"model {slug} is already registered with other facts; record a correction instead"
        )
    write_fact(kind="model.registered", subject=f"model:{slug}", payload=payload, by=by)
    return RegisteredModel.objects.get(slug=slug)


@transaction.atomic(durable=True)
def correct_model(
    *, model: RegisteredModel, changes: dict[str, str], reason: str, by: Principal
) -> RegisteredModel:
    """Supersede some of a model's inventory facts. A new risk tier needs the committee."""
    allowed = {"name", "owner", "description", "intended_purpose", "limitations", "domain"}
    if "risk_tier" in changes:
        require_role(by, {Role.MODEL_RISK_COMMITTEE}, "change a model's risk tier")
        changes = {**changes, "risk_tier": check_choice(changes["risk_tier"], RiskTier, "tier")}
        allowed.add("risk_tier")
    else:
        require_role(by, {Role.DEVELOPER, Role.MODEL_RISK_COMMITTEE}, "correct a model")
    unknown = set(changes) - allowed
    if not changes or unknown:
        raise DomainError(f"a correction changes some of: {', '.join(sorted(allowed))}")
    changes = {
        field: check_text(value, field, required=field != "description")
        for field, value in changes.items()
    }
    if all(getattr(model, field) == value for field, value in changes.items()):
        raise DomainError(f"model {model.slug} already has these facts")
    payload = {"changes": changes, "reason": check_text(reason, "reason")}
    write_fact(kind="model.corrected", subject=model.subject, payload=payload, by=by)
    return RegisteredModel.objects.get(slug=model.slug)


@transaction.atomic(durable=True)
def register_version(
    *, model: RegisteredModel, package: dict[str, Any], by: Principal
) -> tuple[ModelVersion, bool]:
    """Record a new immutable version of `model`. Returns (version, created).

    Idempotent on the package: registering the same package again returns the version
    already registered, even when the two requests race.
    """
    require_role(by, {Role.DEVELOPER}, "register model versions")
    checked = check_package(package)
    _check_package_data(checked)
    digest = sha256_of(checked)
    # Lock the model row: concurrent registrations of one model are serialized, so the
    # idempotency check and the next number hold.
    model = RegisteredModel.objects.select_for_update().get(slug=model.slug)
    existing = ModelVersion.objects.filter(model=model, package_digest=digest).first()
    if existing is not None:
        return existing, False
    number = 1 + max(model.versions.values_list("number", flat=True), default=0)
    subject = version_subject(model.slug, number)
    payload = {"model": model.slug, "number": number, "package": checked, "package_digest": digest}
    write_fact(kind="version.registered", subject=subject, payload=payload, by=by)
    return ModelVersion.objects.get(subject=subject), True


@transaction.atomic(durable=True)
def correct_version(
    *, version: ModelVersion, package: dict[str, Any], reason: str, by: Principal
) -> ModelVersion:
    """Supersede a version's package facts (never its artifact) before it is approved.

    Signatures already given are bound to the old facts and stop counting.
    """
    require_role(by, {Role.DEVELOPER}, "correct model versions")
    version = _locked(version)
    if version.stage not in (Stage.DEVELOPMENT, Stage.VALIDATION):
        raise DomainError(
            f"{version.subject} is {version.stage}: its facts are final; register a new version"
        )
    checked = check_package(package)
    _check_package_data(checked)
    if checked["artifact"]["digest"] != version.artifact_digest:
        raise DomainError("a different artifact is a different version: register it as one")
    digest = sha256_of(checked)
    if digest == version.package_digest:
        raise DomainError(f"{version.subject} already has exactly this package")
    payload = {
        "package": checked,
        "package_digest": digest,
        "supersedes": version.package_digest,
        "reason": check_text(reason, "reason"),
    }
    write_fact(kind="version.corrected", subject=version.subject, payload=payload, by=by)
    return ModelVersion.objects.get(subject=version.subject)


def _locked(version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)


# --- Stages ------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def change_stage(*, version: ModelVersion, to: Stage, reason: str, by: Principal) -> ModelVersion:
    """Move a version along its lifecycle: deploy (shadow, canary, production), withdraw,
    deprecate, retire. Entering production supersedes the model's production version."""
    to = check_choice(to, Stage, "stage")
    reason = check_text(reason, "reason")
    deploying = to in DEPLOYED or to == Stage.APPROVED
    require_role(by, DEPLOYERS if deploying else GOVERNORS, f"move versions to {to}")
    RegisteredModel.objects.select_for_update().get(slug=version.model_id)
    version = _locked(version)
    current = Stage(version.stage)
    if to not in MANUAL_TRANSITIONS[current]:
        allowed = ", ".join(sorted(MANUAL_TRANSITIONS[current])) or "none by hand"
        raise DomainError(
            f"{version.subject} is {current}; it cannot move to {to} (allowed: {allowed})"
        )
    if to in NEEDS_AUTHORIZATION:
        if version.review_required:
            raise DomainError(f"{version.subject} has a monitoring review outstanding")
        if not in_force_authorizations(version=version, moment=timezone.now()):
            raise DomainError(
                f"{version.subject} has no authorization in force for any use case; it "
                f"cannot serve decisions in {to}"
            )
    if to == Stage.PRODUCTION:
        for other in version.model.versions.filter(stage=Stage.PRODUCTION):
            _move(other, Stage.DEPRECATED, f"superseded by {version.subject}", by)
    _move(version, to, reason, by)
    return ModelVersion.objects.get(pk=version.pk)


def _move(version: ModelVersion, to: Stage, reason: str, by: Principal) -> None:
    payload = {"from": version.stage, "to": to.value, "reason": reason}
    write_fact(kind="stage.changed", subject=version.subject, payload=payload, by=by)


# --- Electronic signatures ---------------------------------------------------------------------


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
    comment = _check_comment(comment, required=meaning in _NEEDS_COMMENT)
    if isinstance(target, ModelVersion):
        target = _locked(target)
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

CHANGE_REQUESTERS = (Role.VALIDATOR, Role.APPROVER, Role.MODEL_RISK_COMMITTEE)


@dataclass(frozen=True)
class ChangeRequest:
    seq: int
    version: str
    requested_by: str
    printed_name: str
    role: str
    comment: str
    requested_at: datetime
    # Still waiting for an answer: the version is unchanged since and still in validation.
    open: bool


@transaction.atomic(durable=True)
def request_changes(*, version: ModelVersion, role: Role, comment: str, by: Principal) -> Entry:
    """Ask a version's developers for changes instead of signing. A validator, approver or
    committee member may, in a role they hold, while the version is in validation.

    A recorded comment, not a signature: it fills no policy requirement and leaves the stage
    as it is, so the reviewer's later signature is still theirs to give. The developers answer
    with a correction (`correct_version`), which closes the request and voids signatures bound
    to the old facts. (A rejection, by contrast, ends the version: rejected is final.)
    """
    role = check_choice(role, Role, "role")
    if role not in CHANGE_REQUESTERS:
        raise DomainError("changes are requested by a validator, an approver or the committee")
    require_role(by, {role}, f"request changes as {role}")
    comment = _check_comment(comment, required=True)
    version = _locked(version)
    if version.stage != Stage.VALIDATION:
        raise DomainError(f"{version.subject} is {version.stage}, not in validation")
    if by.actor_id in builders_of(version):
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


def change_requests(versions: Iterable[ModelVersion]) -> dict[str, list[ChangeRequest]]:
    """The changes requested on each version, oldest first, in one query."""
    by_subject = {v.subject: v for v in versions}
    found: dict[str, list[ChangeRequest]] = {}
    entries = Entry.objects.filter(kind="changes.requested", subject__in=list(by_subject))
    for entry in entries.order_by("seq"):
        version, payload = by_subject[entry.subject], entry.payload
        still_open = (
            version.stage == Stage.VALIDATION
            and entry.seq > version.stage_seq
            and payload["package_digest"] == version.package_digest
        )
        found.setdefault(entry.subject, []).append(
            ChangeRequest(
                seq=entry.seq,
                version=entry.subject,
                requested_by=entry.actor,
                printed_name=entry.actor_name,
                role=payload["role"],
                comment=payload["comment"],
                requested_at=entry.recorded_at,
                open=still_open,
            )
        )
    return found


# A rejection or a revocation must say why.
_NEEDS_COMMENT = {Meaning.REJECTED, Meaning.REVOKED}


def _check_comment(comment: object, *, required: bool) -> str:
    if required and isinstance(comment, str) and not comment.strip():
        raise DomainError("a comment is required: say why", code="reason_required")
    return check_text(comment, "comment", required=required)


def _decision(target: ModelVersion | Authorization, meaning: Meaning, role: Role) -> Decision:
    if isinstance(target, ModelVersion):
        return _version_decision(target, meaning, role)
    return _authorization_decision(target, meaning, role)


def _version_decision(version: ModelVersion, meaning: Meaning, role: Role) -> Decision:
    terms: dict[str, Any] = {"meaning": meaning.value, "role": role.value, "stage": version.stage}
    if meaning == Meaning.AUTHORED:
        _expect(version.stage == Stage.DEVELOPMENT, f"{version.subject} is not in development")
        _expect(role == Role.DEVELOPER, "a version is authored by a developer")
    elif meaning == Meaning.REVIEWED:
        _expect(version.review_required, f"{version.subject} has no monitoring review due")
        _expect(role == Role.VALIDATOR, "a monitoring review is signed by a validator")
        terms["review_of"] = version.review_seq
    elif meaning in (Meaning.VALIDATED, Meaning.APPROVED, Meaning.REJECTED):
        _expect(
            version.stage == Stage.VALIDATION,
            f"{version.subject} is {version.stage}, not in validation",
        )
        requirements = stored_requirements(policy_for(version.model).approval)
        _check_role_fits(requirements, meaning, role, version.model.risk_tier, "approval")
        if meaning == Meaning.APPROVED:
            now = signable_now(requirements, as_signed(version_signatures(version)))
            if all(r.meaning != Meaning.APPROVED for r in now):
                raise DomainError(
                    f"{version.subject} needs its validation sign-off before approvals"
                )
    else:
        raise DomainError(f"a model version is not signed as {meaning}")
    return Decision(version.subject, version.package_digest, terms)


def _authorization_decision(auth: Authorization, meaning: Meaning, role: Role) -> Decision:
    terms = {"meaning": meaning.value, "role": role.value, "status": auth.status}
    if meaning == Meaning.REVOKED:
        _expect(auth.status == AuthorizationStatus.ACTIVE, f"{auth.subject} is {auth.status}")
        _expect(role in GOVERNORS, "revocation is signed by an approver, the committee or admin")
    elif meaning in (Meaning.APPROVED, Meaning.REJECTED):
        _expect(
            auth.status == AuthorizationStatus.PROPOSED,
            f"{auth.subject} is {auth.status}, not awaiting decision",
        )
        version = auth.version
        # A proposal can always be rejected; approving it needs a version still fit for use.
        _expect(
            meaning == Meaning.REJECTED
            or (version.stage in (Stage.APPROVED, *DEPLOYED) and not version.review_required),
            f"{version.subject} is {version.stage}"
            + (" with a monitoring review outstanding" if version.review_required else "")
            + "; it cannot be authorized now",
        )
        model = version.model
        requirements = stored_requirements(policy_for(model).authorization)
        _check_role_fits(requirements, meaning, role, model.risk_tier, "authorization")
    else:
        raise DomainError(f"an authorization is not signed as {meaning}")
    return Decision(auth.subject, auth.facts_digest, terms)


def _check_role_fits(
    requirements: list[Requirement], meaning: Meaning, role: Role, tier: str, what: str
) -> None:
    roles = {r.role for r in requirements}
    if meaning == Meaning.REJECTED:
        fits = role in roles
    else:
        fits = any(r.role == role and r.meaning == meaning for r in requirements)
    if not fits:
        wanted = "; ".join(f"{r.meaning} by {r.role}" for r in requirements)
        raise DomainError(
            f"the {tier}-tier policy has no place for {meaning} by {role} on an {what} "
            f"(it needs: {wanted})",
            code="not_in_policy",
        )


def _expect(condition: bool, reason: str) -> None:
    if not condition:
        raise DomainError(reason)


def _check_independent(
    target: ModelVersion | Authorization, decision: Decision, by: Principal
) -> None:
    """Separation of duties: those who built a version do not validate, approve or
    authorize it, and a person signs a decision once, so no one fills two required roles.
    (Authoring is the developer attesting their own work.)"""
    if decision.terms["meaning"] == Meaning.AUTHORED:
        return
    version = target if isinstance(target, ModelVersion) else target.version
    on_version = version_signatures(version)
    builders = builders_of(version)
    if isinstance(target, Authorization):
        builders.add(target.proposed_by)
        same_decision = [
            s
            for s in authorization_signatures(target)
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


def builders_of(version: ModelVersion) -> set[str]:
    """Who built a version, so that none of them validates, approves or authorizes it: who
    registered it or corrected its facts, the code and run authors of every package it ever
    had, and whoever signed *authored* on it, whatever facts that signature was bound to.
    A correction never takes anyone out of this set."""
    builders = {version.registered_by} | package_authors(version.package)
    history = Entry.objects.filter(
        subject=version.subject, kind__in=["version.registered", "version.corrected"]
    )
    for entry in history.only("actor", "body"):
        builders.add(entry.actor)
        builders |= package_authors(entry.payload["package"])
    authored = Signature.objects.filter(subject=version.subject, meaning=Meaning.AUTHORED)
    return builders | set(authored.values_list("signer", flat=True))


def version_signatures(version: ModelVersion) -> list[Signature]:
    """Signatures that count on the version's current facts (bound to them)."""
    return [
        s
        for s in Signature.objects.filter(subject=version.subject, binding_valid=True)
        if counts_on(version, s)
    ]


def counts_on(version: ModelVersion, signature: Signature) -> bool:
    """Whether a signature counts on a version: valid, and bound to its current facts."""
    return signature.binding_valid and signature.content["facts"] == version.package_digest


def authorization_signatures(auth: Authorization) -> list[Signature]:
    return list(Signature.objects.filter(subject=auth.subject, binding_valid=True))


def as_signed(signatures: Iterable[Signature]) -> list[Signed]:
    return [Signed(s.signer, s.role, s.meaning) for s in signatures]


def _after_signature(
    target: ModelVersion | Authorization, meaning: Meaning, comment: str, by: Principal
) -> None:
    if isinstance(target, ModelVersion):
        version = ModelVersion.objects.select_related("model").get(pk=target.pk)
        if meaning == Meaning.AUTHORED:
            _move(version, Stage.VALIDATION, "submitted for validation", by)
        elif meaning == Meaning.REJECTED:
            _move(version, Stage.REJECTED, comment, by)
        elif meaning == Meaning.REVIEWED:
            payload = {"review_of": version.review_seq, "comment": comment}
            write_fact(kind="review.cleared", subject=version.subject, payload=payload, by=by)
        elif approval_missing(version) == []:
            _move(version, Stage.APPROVED, "signatures required by policy complete", by)
        return
    auth = Authorization.objects.select_related("version__model").get(pk=target.pk)
    if meaning == Meaning.REJECTED:
        write_fact(kind="authorization.rejected", subject=auth.subject, payload={}, by=by)
    elif meaning == Meaning.REVOKED:
        write_fact(
            kind="authorization.revoked", subject=auth.subject, payload={"reason": comment}, by=by
        )
    elif authorization_missing(auth) == []:
        write_fact(kind="authorization.activated", subject=auth.subject, payload={}, by=by)


def approval_missing(version: ModelVersion) -> list[str]:
    """The signatures the version's approval still needs, in words."""
    requirements = stored_requirements(policy_for(version.model).approval)
    return missing_signatures(requirements, as_signed(version_signatures(version)))


def authorization_missing(auth: Authorization) -> list[str]:
    requirements = stored_requirements(policy_for(auth.version.model).authorization)
    return missing_signatures(requirements, as_signed(authorization_signatures(auth)))


# --- Use cases and authorizations --------------------------------------------------------------


@transaction.atomic(durable=True)
def create_use_case(
    *,
    slug: str,
    title: str,
    model: RegisteredModel,
    population: str,
    description: str = "",
    by: Principal,
) -> UseCase:
    """Define a use a model may be authorized for. Idempotent for the same facts."""
    require_role(by, GOVERNORS, "define use cases")
    payload = {
        "slug": check_slug(slug, "use case slug"),
        "title": check_text(title, "title", limit=200),
        "description": check_text(description, "description", required=False),
        "population": check_text(population, "intended population"),
        "model": model.slug,
    }
    ledger.lock_subject(f"usecase:{slug}")
    existing = UseCase.objects.filter(slug=slug).first()
    if existing is not None:
        same = [existing.title, existing.description, existing.population, existing.model_id]
        if same == [payload[f] for f in ("title", "description", "population", "model")]:
            return existing
        raise DomainError(f"use case {slug} already exists with other facts")
    write_fact(kind="usecase.created", subject=f"usecase:{slug}", payload=payload, by=by)
    return UseCase.objects.get(slug=slug)


@transaction.atomic(durable=True)
def propose_authorization(
    *,
    version: ModelVersion,
    use_case: UseCase,
    effective_on: date,
    conditions: Sequence[str] = (),
    expires_on: date | None = None,
    fallback: ModelVersion | None = None,
    by: Principal,
) -> Authorization:
    """Propose authorizing `version` for `use_case`; it is in force once the tier's policy
    signatures are given, from `effective_on` to the end of `expires_on` (at most the
    policy's review interval; by default exactly that)."""
    require_role(
        by, {Role.DEVELOPER, Role.APPROVER, Role.MODEL_RISK_COMMITTEE}, "propose authorizations"
    )
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    version = ModelVersion.objects.select_related("model").get(pk=version.pk)
    if version.model_id != use_case.model_id:
        raise DomainError(f"{version.subject} is not a version of {use_case.model_id}")
    if version.stage not in (Stage.APPROVED, *DEPLOYED):
        raise DomainError(f"{version.subject} is {version.stage}; only approved versions")
    if version.review_required:
        raise DomainError(f"{version.subject} has a monitoring review outstanding")
    policy = policy_for(version.model)
    zone = organisation_zone()
    today = timezone.now().astimezone(zone).date()
    if not isinstance(effective_on, date) or effective_on < today:
        raise DomainError(f"the effective date must be today ({today}) or later")
    latest = latest_expiry(policy, effective_on)
    expires_on = latest if expires_on is None else expires_on
    if not isinstance(expires_on, date) or not effective_on <= expires_on <= latest:
        raise DomainError(
            f"the authorization must end between {effective_on} and {latest}: the "
            f"{policy.risk_tier}-tier policy allows {policy.review_months} months before review"
        )
    conditions = [check_text(c, "condition", limit=500) for c in conditions]
    _check_fallback(fallback, version, use_case)
    pending = use_case.authorizations.filter(
        version=version, status__in=[AuthorizationStatus.PROPOSED, AuthorizationStatus.ACTIVE]
    ).exclude(expires_at__lte=timezone.now())
    if pending.exists():
        raise DomainError(f"{version.subject} is already proposed or authorized for {use_case}")
    number = 1 + max(use_case.authorizations.values_list("number", flat=True), default=0)
    subject = authorization_subject(use_case.slug, number)
    facts = {
        "use_case": use_case.slug,
        "number": number,
        "version": version.subject,
        "package_digest": version.package_digest,
        "fallback": None if fallback is None else fallback.subject,
        "conditions": conditions,
        "effective_on": effective_on.isoformat(),
        "expires_on": expires_on.isoformat(),
        "effective_from": format_time(datetime.combine(effective_on, time.min, zone)),
        "expires_at": format_time(datetime.combine(expires_on + timedelta(days=1), time.min, zone)),
        "time_zone": zone.key,
    }
    payload = {**facts, "facts_digest": sha256_of(facts)}
    write_fact(kind="authorization.proposed", subject=subject, payload=payload, by=by)
    return Authorization.objects.get(subject=subject)


def _check_fallback(
    fallback: ModelVersion | None, version: ModelVersion, use_case: UseCase
) -> None:
    if fallback is None:
        return
    if fallback.model_id != version.model_id or fallback.pk == version.pk:
        raise DomainError("the fallback must be another version of the same model")
    if not in_force_authorizations(version=fallback, use_case=use_case, moment=timezone.now()):
        raise DomainError(
            f"the fallback {fallback.subject} has no authorization in force for {use_case}"
        )


def latest_expiry(policy: Policy, effective_on: date) -> date:
    """The last day an authorization effective on `effective_on` may run under `policy`
    (its review interval); also the default expiry."""
    return _add_months(effective_on, policy.review_months) - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def in_force_authorizations(
    *, version: ModelVersion, moment: datetime, use_case: UseCase | None = None
) -> list[Authorization]:
    candidates = Authorization.objects.filter(version=version, activated_at__isnull=False)
    if use_case is not None:
        candidates = candidates.filter(use_case=use_case)
    return [auth for auth in candidates if auth.in_force(moment)]


@transaction.atomic(durable=True)
def rollback(*, use_case: UseCase, reason: str, by: Principal) -> ModelVersion:
    """Put the use case's validated fallback back into production, and deprecate the version
    that was there. The fallback must itself be authorized for the use case now."""
    require_role(by, GOVERNORS, "roll back use cases")
    reason = check_text(reason, "reason")
    RegisteredModel.objects.select_for_update().get(slug=use_case.model_id)
    current = ModelVersion.objects.filter(
        model__slug=use_case.model_id, stage=Stage.PRODUCTION
    ).first()
    if current is None:
        raise DomainError(f"no version of {use_case.model_id} is in production to roll back")
    authorization = (
        use_case.authorizations.filter(version=current, activated_at__isnull=False)
        .order_by("-number")
        .first()
    )
    if authorization is None or authorization.fallback is None:
        raise DomainError(f"{current.subject} has no fallback authorized for {use_case}")
    fallback = authorization.fallback
    if not in_force_authorizations(version=fallback, use_case=use_case, moment=timezone.now()):
        raise DomainError(
            f"the fallback {fallback.subject} is no longer authorized for {use_case}: it has "
            "expired or been revoked"
        )
    if fallback.stage in (Stage.REJECTED, Stage.RETIRED):
        raise DomainError(f"the fallback {fallback.subject} is {fallback.stage}")
    if fallback.review_required:
        raise DomainError(
            f"the fallback {fallback.subject} has a monitoring review outstanding; a "
            "validator must sign it reviewed before it can go back into production"
        )
    payload = {"from": current.subject, "to": fallback.subject, "reason": reason}
    write_fact(
        kind="usecase.rolled_back", subject=f"usecase:{use_case.slug}", payload=payload, by=by
    )
    _move(current, Stage.DEPRECATED, f"rolled back: {reason}", by)
    _move(fallback, Stage.PRODUCTION, f"rollback of {use_case.slug}: {reason}", by)
    return ModelVersion.objects.get(pk=fallback.pk)


# --- Monitoring --------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def set_threshold(
    *,
    model: RegisteredModel,
    metric: str,
    lower: str | None = None,
    upper: str | None = None,
    segment: str = "all",
    by: Principal,
) -> Threshold:
    """Bounds for a monitored metric; a figure outside them requires a review."""
    require_role(by, {Role.VALIDATOR, Role.MODEL_RISK_COMMITTEE}, "set monitoring thresholds")
    if lower is None and upper is None:
        raise DomainError("a threshold needs a lower bound, an upper bound or both")
    lower = None if lower is None else check_decimal(lower, "lower bound")
    upper = None if upper is None else check_decimal(upper, "upper bound")
    if lower is not None and upper is not None and Decimal(lower) > Decimal(upper):
        raise DomainError("the lower bound is above the upper bound")
    payload = {
        "metric": check_text(metric, "metric", limit=100),
        "segment": check_text(segment, "segment", limit=100),
        "lower": lower,
        "upper": upper,
    }
    write_fact(kind="threshold.set", subject=model.subject, payload=payload, by=by)
    return Threshold.objects.get(model=model, metric=payload["metric"], segment=payload["segment"])


@transaction.atomic(durable=True)
def record_monitoring(
    *,
    version: ModelVersion,
    metric: str,
    value: str,
    window_start: date,
    window_end: date,
    segment: str = "all",
    by: Principal,
) -> MonitoringRecord:
    """Record a performance figure for a version in use. A figure outside the model's
    threshold marks the version *review required* until a validator signs a review."""
    require_role(by, {Role.DEVELOPER, Role.VALIDATOR}, "record monitoring figures")
    version = _locked(version)
    if version.stage not in (*DEPLOYED, Stage.DEPRECATED):
        raise DomainError(f"{version.subject} is {version.stage}, not in use")
    value = check_decimal(value, "value")
    metric = check_text(metric, "metric", limit=100)
    segment = check_text(segment, "segment", limit=100)
    today = timezone.now().astimezone(organisation_zone()).date()
    if not (isinstance(window_start, date) and isinstance(window_end, date)):
        raise DomainError("the monitoring window is two dates")
    if not window_start <= window_end <= today:
        raise DomainError("the monitoring window must end after it starts, and not in the future")
    duplicate = version.monitoring.filter(
        metric=metric, segment=segment, window_start=window_start, window_end=window_end
    )
    if duplicate.exists():
        raise DomainError(f"{metric} for {segment} in this window is already recorded")
    threshold = (
        Threshold.objects.filter(model=version.model, metric=metric, segment=segment).first()
        or Threshold.objects.filter(model=version.model, metric=metric, segment="all").first()
    )
    payload = {
        "metric": metric,
        "value": value,
        "segment": segment,
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "threshold": None if threshold is None else _threshold_json(threshold),
        "breach": threshold is not None and _breaches(value, threshold),
    }
    entry = write_fact(kind="monitoring.recorded", subject=version.subject, payload=payload, by=by)
    return MonitoringRecord.objects.get(seq=entry.seq)


def _threshold_json(threshold: Threshold) -> dict[str, Any]:
    return {
        "segment": threshold.segment,
        "lower": threshold.lower,
        "upper": threshold.upper,
        "set_seq": threshold.set_seq,
    }


def _breaches(value: str, threshold: Threshold) -> bool:
    figure = Decimal(value)
    return (threshold.lower is not None and figure < Decimal(threshold.lower)) or (
        threshold.upper is not None and figure > Decimal(threshold.upper)
    )
