"""Point-in-time questions: what was in production, and what was authorized for which use,
on whose signatures, at a given moment.

Answered from the projection's time-stamped periods (stage periods, authorization validity,
review periods, signatures), all rebuilt from the ledger by replay, in a fixed number of
queries whatever the size of the registry.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from auditreg.accounts.models import Principal
from auditreg.accounts.services import READERS, require_role
from auditreg.errors import DomainError
from auditreg.registry import rules
from auditreg.registry.domain import DEPLOYED, Meaning, Stage
from auditreg.registry.models import (
    Authorization,
    ModelVersion,
    RegisteredModel,
    ReviewPeriod,
    Signature,
    StagePeriod,
    UseCase,
)

APPROVAL_MEANINGS = (Meaning.VALIDATED, Meaning.APPROVED)


@dataclass(frozen=True)
class SignatureAt:
    """A signature's manifestation (21 CFR 11.50): printed name, date and time, meaning."""

    seq: int
    printed_name: str
    username: str
    role: str
    meaning: str
    signed_at: datetime
    comment: str

    def __str__(self) -> str:
        when = self.signed_at.strftime("%Y-%m-%d %H:%M:%S %Z (UTC%z)")
        return f"{self.meaning} by {self.printed_name} ({self.username}, {self.role}) at {when}"


@dataclass(frozen=True)
class VersionAt:
    subject: str
    stage: str
    review_required: bool
    package_digest: str
    approvals: tuple[SignatureAt, ...]


@dataclass(frozen=True)
class AuthorizationAt:
    subject: str
    version: str
    fallback: str | None
    conditions: tuple[str, ...]
    effective_on: date
    expires_on: date
    signatures: tuple[SignatureAt, ...]


@dataclass(frozen=True)
class UseCaseAt:
    slug: str
    title: str
    model: str
    authorizations: tuple[AuthorizationAt, ...]
    # The model's production version, when it is authorized for this use: the version a
    # decision for this use was made with. None when production is not authorized for it.
    in_use: str | None
    production: str | None

    @property
    def authorized_versions(self) -> tuple[str, ...]:
        return tuple(sorted({a.version for a in self.authorizations}))


@dataclass(frozen=True)
class ModelAt:
    slug: str
    name: str
    risk_tier: str
    production: str | None
    shadow: tuple[str, ...]
    canary: tuple[str, ...]


@dataclass(frozen=True)
class RegistryAt:
    moment: datetime
    models: tuple[ModelAt, ...]
    use_cases: tuple[UseCaseAt, ...]
    versions: dict[str, VersionAt]

    def use_case(self, slug: str) -> UseCaseAt:
        for use_case in self.use_cases:
            if use_case.slug == slug:
                return use_case
        raise DomainError(f"there was no use case {slug} at {self.moment.isoformat()}")


def as_of(
    moment: datetime,
    *,
    by: Principal,
    model: RegisteredModel | None = None,
    use_case: UseCase | None = None,
) -> RegistryAt:
    """The registry as recorded at `moment`: each model's production, shadow and canary
    versions; each use case's authorizations in force, with their signatures and the
    approval signatures of the versions involved; which version was in use for it."""
    require_role(by, READERS, "read the registry")
    if moment.tzinfo is None:
        raise DomainError("the moment must carry a time zone")
    model_slugs = _scope(model, use_case)
    models = RegisteredModel.objects.filter(registered_at__lte=moment).order_by("slug")
    use_cases = UseCase.objects.filter(created_at__lte=moment).order_by("slug")
    if model_slugs is not None:
        models = models.filter(slug__in=model_slugs)
        use_cases = use_cases.filter(model_id__in=model_slugs)
    if use_case is not None:
        use_cases = use_cases.filter(slug=use_case.slug)

    deployed = _periods_at(moment).filter(stage__in=list(DEPLOYED))
    if model_slugs is not None:
        deployed = deployed.filter(version__model_id__in=model_slugs)
    by_model: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for version, model_slug, stage in deployed.values_list(
        "version__subject", "version__model__slug", "stage"
    ):
        by_model[model_slug][stage].append(version)

    authorizations = list(_in_force(moment, use_cases))
    auth_signatures = _signatures(
        Signature.objects.filter(authorization__in=[a.subject for a in authorizations]),
        moment,
        facts={a.subject: a.facts_digest for a in authorizations},
    )
    involved = {v for stages in by_model.values() for vs in stages.values() for v in vs}
    involved |= {a.version_id for a in authorizations}
    involved |= {a.fallback_id for a in authorizations if a.fallback_id}
    versions = versions_at(moment, involved)

    by_use: dict[str, list[AuthorizationAt]] = defaultdict(list)
    for auth in authorizations:
        by_use[auth.use_case_id].append(
            AuthorizationAt(
                subject=auth.subject,
                version=auth.version_id,
                fallback=auth.fallback_id,
                conditions=tuple(auth.conditions),
                effective_on=auth.effective_on,
                expires_on=auth.expires_on,
                signatures=tuple(auth_signatures.get(auth.subject, ())),
            )
        )
    model_rows = tuple(
        ModelAt(
            slug=m.slug,
            name=m.name,
            risk_tier=m.risk_tier,
            production=_one(by_model[m.slug][Stage.PRODUCTION]),
            shadow=tuple(sorted(by_model[m.slug][Stage.SHADOW])),
            canary=tuple(sorted(by_model[m.slug][Stage.CANARY])),
        )
        for m in models
    )
    use_case_rows = []
    for uc in use_cases:
        production = _one(by_model[uc.model_id][Stage.PRODUCTION])
        granted = tuple(by_use[uc.slug])
        in_use = production if any(a.version == production for a in granted) else None
        use_case_rows.append(
            UseCaseAt(uc.slug, uc.title, uc.model_id, granted, in_use=in_use, production=production)
        )
    return RegistryAt(moment, model_rows, tuple(use_case_rows), versions)


def usable_version(use_case: UseCase, moment: datetime, *, by: Principal) -> str | None:
    """The version that may make decisions for `use_case` at `moment`: in production and
    authorized for this use. None when there is none (never an unauthorized version)."""
    return as_of(moment, by=by, use_case=use_case).use_case(use_case.slug).in_use


def _scope(model: RegisteredModel | None, use_case: UseCase | None) -> list[str] | None:
    if model is not None and use_case is not None and use_case.model_id != model.slug:
        raise DomainError(f"use case {use_case.slug} is not a use of {model.slug}")
    if model is not None:
        return [model.slug]
    if use_case is not None:
        return [use_case.model_id]
    return None


def _periods_at(moment: datetime) -> QuerySet[StagePeriod]:
    return StagePeriod.objects.filter(started_at__lte=moment).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=moment)
    )


def _in_force(moment: datetime, use_cases: QuerySet[UseCase]) -> QuerySet[Authorization]:
    found = Authorization.objects.in_force(moment).filter(use_case__in=use_cases)
    return found.order_by("use_case", "number")


def versions_at(moment: datetime, subjects: Iterable[str]) -> dict[str, VersionAt]:
    subjects = sorted(subjects)
    if not subjects:
        return {}
    stages = dict(
        _periods_at(moment).filter(version__in=subjects).values_list("version__subject", "stage")
    )
    digests = dict(
        ModelVersion.objects.filter(subject__in=subjects).values_list("subject", "package_digest")
    )
    reviews = set(
        ReviewPeriod.objects.filter(version__in=subjects, started_at__lte=moment)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=moment))
        .values_list("version__subject", flat=True)
    )
    approvals = _signatures(
        Signature.objects.filter(version__in=subjects, meaning__in=list(APPROVAL_MEANINGS)),
        moment,
        facts=digests,
    )
    return {
        subject: VersionAt(
            subject=subject,
            stage=stages.get(subject, "not registered"),
            review_required=subject in reviews,
            package_digest=digests[subject],
            approvals=tuple(approvals.get(subject, ())),
        )
        for subject in subjects
    }


def _signatures(
    signatures: QuerySet[Signature], moment: datetime, *, facts: dict[str, str]
) -> dict[str, list[SignatureAt]]:
    """The signatures recorded by `moment` that count on their record's facts (`facts`, by
    subject)."""
    found: dict[str, list[SignatureAt]] = defaultdict(list)
    for s in signatures.filter(recorded_at__lte=moment, binding_valid=True).order_by("seq"):
        signed = s.content.get("facts")
        if not rules.counts(
            binding_valid=s.binding_valid, signed_facts=signed, facts=facts[s.subject]
        ):
            continue
        found[s.subject].append(
            SignatureAt(
                seq=s.seq,
                printed_name=s.printed_name,
                username=s.username,
                role=s.role,
                meaning=s.meaning,
                signed_at=s.signed_at.astimezone(ZoneInfo(s.time_zone)),
                comment=s.comment,
            )
        )
    return found


def _one(versions: list[str]) -> str | None:
    return versions[0] if versions else None


def format_registry_at(snapshot: RegistryAt) -> str:
    """A plain-text answer, for the command line."""
    lines = [f"Registry as of {snapshot.moment.isoformat()}"]
    for m in snapshot.models:
        lines.append(f"  model {m.slug} ({m.risk_tier} risk): production {m.production or '-'}")
        if m.shadow or m.canary:
            lines.append(
                f"    shadow {', '.join(m.shadow) or '-'}; canary {', '.join(m.canary) or '-'}"
            )
        if m.production and snapshot.versions[m.production].review_required:
            lines.append(f"    {m.production} REVIEW REQUIRED (monitoring breach)")
    for uc in snapshot.use_cases:
        lines.append(f"  use case {uc.slug}: {uc.title}")
        lines.append(f"    in use: {uc.in_use or 'no authorized version in production'}")
        for auth in uc.authorizations:
            fallback = f", fallback {auth.fallback}" if auth.fallback else ""
            lines.append(
                f"    authorized {auth.version} ({auth.subject}) {auth.effective_on} to "
                f"{auth.expires_on}{fallback}"
            )
            for signature in auth.signatures:
                lines.append(f"      authorization {signature}")
            for signature in snapshot.versions[auth.version].approvals:
                lines.append(f"      version {signature}")
    return "\n".join(lines)
