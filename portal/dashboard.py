"""What the dashboard shows, read in a fixed number of queries whatever the data size."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from auditreg.ledger.models import Checkpoint
from auditreg.ledger.services import latest_checkpoint
from auditreg.registry.domain import (
    AuthorizationStatus,
    Requirement,
    Role,
    Signed,
    Stage,
    missing_signatures,
    package_authors,
    signable_now,
    stored_requirements,
)
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    Policy,
    Principal,
    RegisteredModel,
    Signature,
)
from auditreg.registry.services import ChangeRequest, as_signed, change_requests, counts_on
from portal.ledger import last_finished_run
from portal.models import VerificationRun

EXPIRY_HORIZONS = (30, 60, 90)
# Each list on the dashboard shows this many items, the most urgent first, and says how many
# more there are: a bank's inventory has hundreds waiting, and the page must stay quick.
SHOWN = 20


@dataclass(frozen=True)
class Waiting:
    subject: str
    title: str
    missing: list[str]


@dataclass(frozen=True)
class Expiring:
    subject: str
    use_case: str
    version: str
    expires_at: datetime
    within_days: int


@dataclass(frozen=True)
class Dashboard:
    sign_offs: list[Waiting]
    authorizations: list[Waiting]
    reviews_due: list[ModelVersion]
    expiring: list[Expiring]
    # How many authorizations expire within each horizon (all of them, not only those shown).
    expiring_counts: list[tuple[int, int]]
    changes_requested: list[ChangeRequest]
    by_tier: list[tuple[str, int]]
    by_stage: list[tuple[str, int]]
    checkpoint: Checkpoint | None
    verification: VerificationRun | None


def open_roles(requirements: list[Requirement], signed: list[Signed]) -> set[str]:
    """The roles that could sign next: approvals wait for their validation sign-off."""
    requirements = signable_now(requirements, signed)
    missing = missing_signatures(requirements, signed)
    return {r.role.value for r in requirements if any(m.endswith(f" by {r.role}") for m in missing)}


def build(me: Principal) -> Dashboard:
    roles = me.roles()
    policies = {p.risk_tier: p for p in Policy.objects.all()}
    versions = list(
        ModelVersion.objects.filter(stage=Stage.VALIDATION)
        .select_related("model")
        .order_by("stage_seq")
    )
    proposals = list(
        Authorization.objects.filter(status=AuthorizationStatus.PROPOSED)
        .select_related("version__model")
        .order_by("proposed_seq")
    )
    signed: dict[str, list[Signature]] = {}
    subjects = [v.subject for v in versions] + [a.subject for a in proposals]
    for signature in Signature.objects.filter(subject__in=subjects, binding_valid=True):
        signed.setdefault(signature.subject, []).append(signature)
    sign_offs = []
    for version in versions:
        current = [s for s in signed.get(version.subject, []) if counts_on(version, s)]
        policy = policies.get(version.model.risk_tier)
        if policy is not None:
            item = _waiting(
                me, roles, version.subject, version.model.name, policy.approval, current
            )
            if item is not None:
                sign_offs.append(item)
    authorizations = []
    for proposal in proposals:
        policy = policies.get(proposal.version.model.risk_tier)
        if policy is not None:
            title = f"{proposal.version_id} for {proposal.use_case_id}"
            current = signed.get(proposal.subject, [])
            item = _waiting(me, roles, proposal.subject, title, policy.authorization, current)
            if item is not None:
                authorizations.append(item)
    reviews_due = (
        list(
            ModelVersion.objects.filter(review_required=True)
            .select_related("model")
            .order_by("review_seq")
        )
        if Role.VALIDATOR.value in roles
        else []
    )
    return Dashboard(
        sign_offs=sign_offs,
        authorizations=authorizations,
        reviews_due=reviews_due,
        expiring=_expiring(),
        expiring_counts=_expiring_counts(),
        changes_requested=_changes_requested(me, versions, signed),
        by_tier=_counts(RegisteredModel.objects.values_list("risk_tier").annotate(n=Count("*"))),
        by_stage=_counts(ModelVersion.objects.values_list("stage").annotate(n=Count("*"))),
        checkpoint=latest_checkpoint(),
        verification=last_finished_run(),
    )


def _waiting(
    me: Principal,
    roles: set[str],
    subject: str,
    title: str,
    policy: list[dict[str, Any]],
    signatures: list[Signature],
) -> Waiting | None:
    if any(s.signer == me.actor_id for s in signatures):
        return None
    signed = as_signed(signatures)
    requirements = stored_requirements(policy)
    if not open_roles(requirements, signed) & roles:
        return None
    return Waiting(subject=subject, title=title, missing=missing_signatures(requirements, signed))


def _changes_requested(
    me: Principal, versions: list[ModelVersion], signed: dict[str, list[Signature]]
) -> list[ChangeRequest]:
    """Open requests for changes on the versions this person registered, developed or authored."""
    mine = [
        v
        for v in versions
        if me.actor_id == v.registered_by
        or me.actor_id in package_authors(v.package)
        or any(
            s.signer == me.actor_id for s in signed.get(v.subject, []) if s.meaning == "authored"
        )
    ]
    found = change_requests(mine)
    return [r for v in mine for r in found.get(v.subject, []) if r.open]


def _expiring() -> list[Expiring]:
    now = timezone.now()
    horizon = now + timedelta(days=max(EXPIRY_HORIZONS))
    rows = Authorization.objects.filter(
        status=AuthorizationStatus.ACTIVE, expires_at__gt=now, expires_at__lte=horizon
    ).order_by("expires_at")[:SHOWN]
    return [
        Expiring(
            subject=a.subject,
            use_case=a.use_case_id,
            version=a.version_id,
            expires_at=a.expires_at,
            within_days=next(d for d in EXPIRY_HORIZONS if a.expires_at <= now + timedelta(days=d)),
        )
        for a in rows
    ]


def _expiring_counts() -> list[tuple[int, int]]:
    """(days, authorizations in force expiring within them) for each horizon, in one query."""
    now = timezone.now()
    horizon = now + timedelta(days=max(EXPIRY_HORIZONS))
    active = Authorization.objects.filter(
        status=AuthorizationStatus.ACTIVE, expires_at__gt=now, expires_at__lte=horizon
    )
    # Counting a column of the (status, expires_at) index lets PostgreSQL read the index alone.
    within = {
        f"within_{days}": Count("expires_at", filter=Q(expires_at__lte=now + timedelta(days=days)))
        for days in EXPIRY_HORIZONS
    }
    counts = active.aggregate(**within)
    return [(days, int(counts[f"within_{days}"])) for days in EXPIRY_HORIZONS]


def _counts(rows: Any) -> list[tuple[str, int]]:
    return sorted((str(key), int(n)) for key, n in rows)
