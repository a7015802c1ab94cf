"""What the dashboard shows, read in a fixed number of queries whatever the data size; and
the approvals inbox's queues, which are the dashboard's, paged."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db.models import Count, Q
from django.utils import timezone

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.ledger.models import Checkpoint, VerificationRun
from auditreg.ledger.services import latest_checkpoint
from auditreg.ledger.verification import last_finished_run
from auditreg.registry import rules, selectors
from auditreg.registry.domain import AuthorizationStatus, Stage
from auditreg.registry.models import Authorization, ModelVersion, Policy, RegisteredModel, Signature
from auditreg.registry.selectors import ChangeRequest

EXPIRY_HORIZONS = (30, 60, 90)
# Each list on the dashboard shows this many items, the most urgent first, and says how many
# more there are: a bank's inventory has hundreds waiting, and the page must stay quick.
SHOWN = 20

T = TypeVar("T")


@dataclass(frozen=True)
class Waiting:
    subject: str
    title: str
    missing: list[str]


@dataclass(frozen=True)
class Shown(Generic[T]):
    """The first items of a list, and how many it has in all."""

    items: list[T]
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class Expiring:
    subject: str
    use_case: str
    version: str
    expires_at: datetime
    within_days: int


@dataclass(frozen=True)
class Dashboard:
    sign_offs: Shown[Waiting]
    authorizations: Shown[Waiting]
    is_validator: bool
    reviews_due: Shown[ModelVersion]
    expiring: list[Expiring]
    # How many authorizations expire within each horizon (all of them, not only those shown).
    expiring_counts: list[tuple[int, int]]
    changes_requested: Shown[ChangeRequest]
    by_tier: list[tuple[str, int]]
    by_stage: list[tuple[str, int]]
    checkpoint: Checkpoint | None
    verification: VerificationRun | None


def build(me: Principal) -> Dashboard:
    queues = Queues.read(me)
    is_validator = Role.VALIDATOR.value in me.roles()
    return Dashboard(
        sign_offs=queues.shown(queues.versions),
        authorizations=queues.shown(queues.proposals),
        is_validator=is_validator,
        reviews_due=_reviews_due() if is_validator else Shown([], 0),
        expiring=_expiring(),
        expiring_counts=_expiring_counts(),
        changes_requested=_changes_requested(me, queues.in_validation),
        by_tier=_counts(RegisteredModel.objects.values_list("risk_tier").annotate(n=Count("*"))),
        by_stage=_counts(ModelVersion.objects.values_list("stage").annotate(n=Count("*"))),
        checkpoint=latest_checkpoint(),
        verification=last_finished_run(),
    )


Record = ModelVersion | Authorization


@dataclass
class Queues:
    """The versions in validation and the authorization proposals that wait for a signature
    this person's roles can give and they have not given, the longest waiting first.

    Every candidate is read (in three queries), since only the policy decides which wait; a
    row in words is made only for those shown.
    """

    me: Principal
    policies: dict[str, Policy]
    signatures: dict[str, list[Signature]]
    in_validation: list[ModelVersion]
    versions: list[ModelVersion]
    proposals: list[Authorization]

    @classmethod
    def read(cls, me: Principal) -> "Queues":
        versions = list(
            ModelVersion.objects.filter(stage=Stage.VALIDATION)
            .select_related("model")
            .order_by("stage_seq")
        )
        proposals = list(
            Authorization.objects.filter(status=AuthorizationStatus.PROPOSED)
            .select_related("version__model", "use_case")
            .order_by("proposed_seq")
        )
        records: list[Record] = [*versions, *proposals]
        by_subject = {r.subject: r for r in records}
        signatures: dict[str, list[Signature]] = {r.subject: [] for r in records}
        found = Signature.objects.filter(subject__in=list(by_subject), binding_valid=True)
        for signature in found.order_by("seq"):
            if selectors.counts_on(by_subject[signature.subject], signature):
                signatures[signature.subject].append(signature)
        policies = {p.risk_tier: p for p in Policy.objects.all()}
        queues = cls(me, policies, signatures, versions, [], [])
        queues.versions = [v for v in versions if queues.waits(v)]
        queues.proposals = [a for a in proposals if queues.waits(a)]
        return queues

    def policy(self, record: Record) -> Policy | None:
        model = record.model if isinstance(record, ModelVersion) else record.version.model
        return self.policies.get(model.risk_tier)

    def waits(self, record: Record) -> bool:
        """The policy waits for a role this person holds, and they have not signed."""
        policy, signed = self.policy(record), self.signatures[record.subject]
        if policy is None or any(s.signer == self.me.actor_id for s in signed):
            return False
        required = selectors.requirements(policy, record)
        return not rules.open_roles(required, selectors.as_signed(signed)).isdisjoint(
            self.me.roles()
        )

    def row(self, record: Record) -> Waiting:
        policy = self.policy(record)
        assert policy is not None
        signed = selectors.as_signed(self.signatures[record.subject])
        if isinstance(record, ModelVersion):
            title = record.model.name
        else:
            title = f"{record.version_id} for {record.use_case_id}"
        missing = rules.missing_signatures(selectors.requirements(policy, record), signed)
        return Waiting(subject=record.subject, title=title, missing=missing)

    def shown(self, records: list[ModelVersion] | list[Authorization]) -> Shown[Waiting]:
        return Shown([self.row(r) for r in records[:SHOWN]], len(records))


def _reviews_due() -> Shown[ModelVersion]:
    due = ModelVersion.objects.filter(review_required=True)
    shown = list(due.select_related("model").order_by("review_seq")[:SHOWN])
    return Shown(shown, due.count())


def _changes_requested(me: Principal, versions: list[ModelVersion]) -> Shown[ChangeRequest]:
    """Open requests for changes on the versions this person built (`rules.builders`)."""
    found = selectors.change_requests(versions)
    asked = [v for v in versions if any(r.open for r in found.get(v.subject, []))]
    builders = selectors.builders_by_version(asked)
    mine = [
        r for v in asked if me.actor_id in builders[v.subject] for r in found[v.subject] if r.open
    ]
    return Shown(mine[:SHOWN], len(mine))


def _expiring() -> list[Expiring]:
    now = timezone.now()
    horizon = now + timedelta(days=max(EXPIRY_HORIZONS))
    rows = (
        Authorization.objects.in_force(now)
        .filter(expires_at__lte=horizon)
        .order_by("expires_at")[:SHOWN]
    )
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
    in_force = Authorization.objects.in_force(now).filter(expires_at__lte=horizon)
    within = {
        f"within_{days}": Count("expires_at", filter=Q(expires_at__lte=now + timedelta(days=days)))
        for days in EXPIRY_HORIZONS
    }
    counts = in_force.aggregate(**within)
    return [(days, int(counts[f"within_{days}"])) for days in EXPIRY_HORIZONS]


def _counts(rows: Any) -> list[tuple[str, int]]:
    return sorted((str(key), int(n)) for key, n in rows)
