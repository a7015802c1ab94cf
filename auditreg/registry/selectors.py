"""The registry's reads: what the services decide on, and the portal, the reports and the API
show. Each gathers the inputs of a rule in `auditreg.registry.rules` from the tables and lets
the rule decide, so a page shows what the services will enforce.

No function here writes; each reads a fixed number of times, however many rows it reads.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from auditreg.accounts.domain import Role
from auditreg.ledger.models import Entry
from auditreg.registry import rules
from auditreg.registry.domain import Meaning, Requirement, Stage, stored_requirements
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    Policy,
    RegisteredModel,
    Signature,
    UseCase,
)


def organisation_zone() -> ZoneInfo:
    """The organisation's time zone: an authorization runs from the start of its effective day
    to the end of its expiry day there, and a monitoring window ends by its today."""
    return ZoneInfo(settings.TIME_ZONE)


# --- Policies ------------------------------------------------------------------------------------


def policy_for(model: RegisteredModel) -> Policy:
    """The policy of the model's risk tier; DomainError when the tier has none yet."""
    policy = Policy.objects.filter(risk_tier=model.risk_tier).first()
    if policy is None:
        raise rules.no_policy(model.risk_tier)
    return policy


def requirements(policy: Policy, record: ModelVersion | Authorization) -> list[Requirement]:
    """What the policy asks of the record's decision: approval of a version, or an
    authorization."""
    stored = policy.approval if isinstance(record, ModelVersion) else policy.authorization
    return stored_requirements(stored)


# --- Signatures ----------------------------------------------------------------------------------


def counts_on(record: ModelVersion | Authorization, signature: Signature) -> bool:
    """Whether a signature counts on the record's current facts (`rules.counts`)."""
    facts = record.package_digest if isinstance(record, ModelVersion) else record.facts_digest
    return rules.counts(
        binding_valid=signature.binding_valid,
        signed_facts=signature.content.get("facts"),
        facts=facts,
    )


def version_signatures(version: ModelVersion) -> list[Signature]:
    """The signatures that count on the version's current facts, oldest first."""
    found = Signature.objects.filter(subject=version.subject, binding_valid=True).order_by("seq")
    return [s for s in found if counts_on(version, s)]


def authorization_signatures(auth: Authorization) -> list[Signature]:
    """The signatures that count on the authorization, oldest first."""
    found = Signature.objects.filter(subject=auth.subject, binding_valid=True).order_by("seq")
    return [s for s in found if counts_on(auth, s)]


def counting(record: ModelVersion | Authorization) -> list[Signature]:
    if isinstance(record, ModelVersion):
        return version_signatures(record)
    return authorization_signatures(record)


def as_signed(signatures: Iterable[Signature]) -> list[rules.Signed]:
    return [rules.Signed(s.signer, s.role, s.meaning) for s in signatures]


def approval_missing(version: ModelVersion) -> list[str]:
    """The signatures the version's approval still needs, in words."""
    required = requirements(policy_for(version.model), version)
    return rules.missing_signatures(required, as_signed(version_signatures(version)))


def authorization_missing(auth: Authorization) -> list[str]:
    """The signatures the authorization still needs to come into force, in words."""
    required = requirements(policy_for(auth.version.model), auth)
    return rules.missing_signatures(required, as_signed(authorization_signatures(auth)))


# --- What may be signed --------------------------------------------------------------------------


def version_state(
    version: ModelVersion, signatures: Iterable[Signature] | None = None
) -> rules.VersionState:
    """The version as the signing rules see it. `signatures`: those that count on it, when the
    caller has read them already."""
    signed = version_signatures(version) if signatures is None else signatures
    return rules.VersionState(
        subject=version.subject,
        tier=version.model.risk_tier,
        stage=version.stage,
        review_required=version.review_required,
        signed=tuple(as_signed(signed)),
    )


def authorization_state(auth: Authorization) -> rules.AuthorizationState:
    """The authorization, and the version it is for, as the signing rules see them."""
    version = auth.version
    return rules.AuthorizationState(
        subject=auth.subject,
        tier=version.model.risk_tier,
        status=auth.status,
        version=version.subject,
        version_stage=version.stage,
        version_review_required=version.review_required,
    )


def decision_rules(
    record: ModelVersion | Authorization,
    *,
    policies: Mapping[str, Policy] | None = None,
    signatures: Iterable[Signature] | None = None,
) -> tuple[rules.State, list[Requirement] | None]:
    """What `rules.check_decision` decides a signature on the record from: its state and its
    tier policy's requirements (None when the tier has no policy). `policies` (by risk tier)
    and `signatures` (those counting on a version): when the caller has read them already."""
    model = record.model if isinstance(record, ModelVersion) else record.version.model
    if policies is None:
        policy = Policy.objects.filter(risk_tier=model.risk_tier).first()
    else:
        policy = policies.get(model.risk_tier)
    required = None if policy is None else requirements(policy, record)
    if isinstance(record, ModelVersion):
        return version_state(record, signatures), required
    return authorization_state(record), required


def offerable(
    record: ModelVersion | Authorization,
    roles: Iterable[str],
    *,
    policies: Mapping[str, Policy] | None = None,
    signatures: Iterable[Signature] | None = None,
) -> list[tuple[Meaning, Role]]:
    """The signatures someone holding `roles` may give on the record now: exactly those the
    signing service accepts from them (`rules.offerable_decisions`)."""
    state, required = decision_rules(record, policies=policies, signatures=signatures)
    return rules.offerable_decisions(state, roles, required)


def change_request_roles(version: ModelVersion, roles: Iterable[str]) -> list[Role]:
    """The roles in which someone holding `roles` may ask for changes on the version now."""
    # Only the stage decides: the signatures given do not matter.
    return rules.change_request_roles(version_state(version, ()), roles)


def requirement_filled(record: ModelVersion | Authorization, meaning: str, role: str) -> str:
    """In words, the policy requirement a signature with this meaning and role would fill."""
    if meaning == Meaning.REJECTED:
        if isinstance(record, ModelVersion):
            return (
                "A rejection fills no policy requirement: it ends validation at once and the "
                "version is rejected."
            )
        return "A rejection fills no policy requirement: it ends the proposal at once."
    if meaning == Meaning.REVOKED:
        governors = " or ".join(rules.roles_words(rules.GOVERNORS))
        return (
            f"A revocation fills no policy requirement: any {governors} may end an "
            "authorization in force, with a reason."
        )
    model = record.model if isinstance(record, ModelVersion) else record.version.model
    what = "approval" if isinstance(record, ModelVersion) else "authorization"
    required = requirements(policy_for(model), record)
    policy = f"the {model.risk_tier}-tier policy's {what} rule ({rules.policy_words(required)})"
    wanted = next((r for r in required if r.role == role and r.meaning == meaning), None)
    if wanted is None:
        return f"This signature fills no requirement of {policy}."
    given = len({s.signer for s in counting(record) if s.role == role and s.meaning == meaning})
    return (
        f"This signature would be {meaning} {min(given + 1, wanted.count)} of {wanted.count} "
        f"by {rules.role_words(role)} under {policy}."
    )


# --- Who built a version -------------------------------------------------------------------------


def builders_of(version: ModelVersion) -> set[str]:
    """Who built the version (`rules.builders`): none of them validates, approves or
    authorizes it."""
    return builders_by_version([version])[version.subject]


def builders_by_version(versions: Iterable[ModelVersion]) -> dict[str, set[str]]:
    """`rules.builders` of each version, in two queries however many versions."""
    versions = list(versions)
    subjects = [v.subject for v in versions]
    recorded: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
    for v in versions:
        recorded[v.subject].append((v.registered_by, v.package))
    history = Entry.objects.filter(
        subject__in=subjects, kind__in=["version.registered", "version.corrected"]
    )
    for entry in history.only("subject", "actor", "body"):
        recorded[entry.subject].append((entry.actor, entry.payload["package"]))
    authored: dict[str, list[str]] = defaultdict(list)
    signers = Signature.objects.filter(subject__in=subjects, meaning=Meaning.AUTHORED)
    for subject, signer in signers.values_list("subject", "signer"):
        authored[subject].append(signer)
    return {s: rules.builders(recorded[s], authored[s]) for s in subjects}


# --- Requests for changes ------------------------------------------------------------------------


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

    @property
    def role_words(self) -> str:
        return rules.role_words(self.role)


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


# --- Authorizations and rollbacks ----------------------------------------------------------------


def in_force_authorizations(
    *, version: ModelVersion, moment: datetime, use_case: UseCase | None = None
) -> list[Authorization]:
    """The version's authorizations in force at `moment` (for one use case, if given)."""
    found = Authorization.objects.in_force(moment).filter(version=version)
    if use_case is not None:
        found = found.filter(use_case=use_case)
    return list(found.order_by("use_case", "number"))


@dataclass(frozen=True)
class RollbackPlan:
    """What rolling a use case back does now: `current` leaves production (deprecated) and
    `fallback`, named by the latest authorization of `current` for the use, goes back into
    it. `refusal` says why it cannot be done now ("" when it can)."""

    current: ModelVersion | None
    authorization: Authorization | None
    fallback: ModelVersion | None
    refusal: str


def rollback_plan(use_case: UseCase) -> RollbackPlan:
    """The rollback as the registry decides it now; `services.rollback` carries it out."""
    current = (
        ModelVersion.objects.in_production()
        .filter(model__slug=use_case.model_id)
        .select_related("model")
        .first()
    )
    if current is None:
        refusal = f"no version of {use_case.model_id} is in production to roll back"
        return RollbackPlan(None, None, None, refusal)
    authorization = (
        use_case.authorizations.filter(version=current, activated_at__isnull=False)
        .select_related("fallback__model")
        .order_by("-number")
        .first()
    )
    fallback = authorization.fallback if authorization is not None else None
    return RollbackPlan(
        current, authorization, fallback, _rollback_refusal(use_case, current, fallback)
    )


def _rollback_refusal(
    use_case: UseCase, current: ModelVersion, fallback: ModelVersion | None
) -> str:
    if fallback is None:
        return f"{current.subject} has no fallback authorized for {use_case}"
    if not in_force_authorizations(version=fallback, use_case=use_case, moment=timezone.now()):
        return (
            f"the fallback {fallback.subject} is no longer authorized for {use_case}: it has "
            "expired or been revoked"
        )
    if fallback.stage in (Stage.REJECTED, Stage.RETIRED):
        return f"the fallback {fallback.subject} is {fallback.stage}"
    if fallback.review_required:
        return (
            f"the fallback {fallback.subject} has a monitoring review outstanding; a "
            "validator must sign it reviewed before it can go back into production"
        )
    return ""
