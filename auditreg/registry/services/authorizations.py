"""Use cases and their authorizations: defining a use, proposing a version for it (in force
once the tier's policy signatures are given), and rolling a use back to its fallback."""

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger import services as ledger
from auditreg.proofs.checks import check_text, sha256_of
from auditreg.proofs.entry import format_time
from auditreg.registry import rules, selectors
from auditreg.registry.domain import (
    DEPLOYED,
    AuthorizationStatus,
    Stage,
    authorization_subject,
    check_slug,
)
from auditreg.registry.models import Authorization, ModelVersion, RegisteredModel, UseCase
from auditreg.registry.services.versions import write_stage_change


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
    require_role(by, rules.GOVERNORS, "define use cases")
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
    require_role(by, rules.PROPOSERS, "propose authorizations")
    use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
    version = ModelVersion.objects.select_related("model").get(pk=version.pk)
    if version.model_id != use_case.model_id:
        raise DomainError(f"{version.subject} is not a version of {use_case.model_id}")
    if version.stage not in (Stage.APPROVED, *DEPLOYED):
        raise DomainError(f"{version.subject} is {version.stage}; only approved versions")
    if version.review_required:
        raise DomainError(f"{version.subject} has a monitoring review outstanding")
    policy = selectors.policy_for(version.model)
    zone = selectors.organisation_zone()
    today = timezone.now().astimezone(zone).date()
    if not isinstance(effective_on, date) or effective_on < today:
        raise DomainError(f"the effective date must be today ({today}) or later")
    latest = rules.latest_expiry(policy.review_months, effective_on)
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
    if not selectors.in_force_authorizations(
        version=fallback, use_case=use_case, moment=timezone.now()
    ):
        raise DomainError(
            f"the fallback {fallback.subject} has no authorization in force for {use_case}"
        )


@transaction.atomic(durable=True)
def rollback(*, use_case: UseCase, reason: str, by: Principal) -> ModelVersion:
    """Put the use case's validated fallback back into production, and deprecate the version
    that was there (`selectors.rollback_plan`, read again under the model's lock). The
    fallback must itself be authorized for the use case now."""
    require_role(by, rules.GOVERNORS, "roll back use cases")
    reason = check_text(reason, "reason")
    RegisteredModel.objects.select_for_update().get(slug=use_case.model_id)
    plan = selectors.rollback_plan(use_case)
    current, fallback = plan.current, plan.fallback
    if plan.refusal or current is None or fallback is None:
        raise DomainError(plan.refusal)
    payload = {"from": current.subject, "to": fallback.subject, "reason": reason}
    write_fact(
        kind="usecase.rolled_back", subject=f"usecase:{use_case.slug}", payload=payload, by=by
    )
    write_stage_change(current, Stage.DEPRECATED, f"rolled back: {reason}", by)
    write_stage_change(fallback, Stage.PRODUCTION, f"rollback of {use_case.slug}: {reason}", by)
    return ModelVersion.objects.get(pk=fallback.pk)
