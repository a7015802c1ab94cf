"""Models and their versions: registering them, correcting their facts, and moving a version
along its lifecycle (deploy, withdraw, deprecate, retire)."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger import services as ledger
from auditreg.proofs.checks import check_choice, check_text, sha256_of
from auditreg.registry import rules, selectors
from auditreg.registry.domain import (
    DEPLOYED,
    MANUAL_TRANSITIONS,
    NEEDS_AUTHORIZATION,
    RiskTier,
    Stage,
    check_package,
    check_slug,
    version_subject,
)
from auditreg.registry.models import ModelVersion, RegisteredModel
from lineage.services import check_snapshots_recorded


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
    version = locked(version)
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


def locked(version: ModelVersion) -> ModelVersion:
    """The version's row, locked and read again (with its model), for a write that decides
    on it as it stands now."""
    return ModelVersion.objects.select_for_update().select_related("model").get(pk=version.pk)


# --- Stages ------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def change_stage(*, version: ModelVersion, to: Stage, reason: str, by: Principal) -> ModelVersion:
    """Move a version along its lifecycle: deploy (shadow, canary, production), withdraw,
    deprecate, retire. Entering production supersedes the model's production version."""
    to = check_choice(to, Stage, "stage")
    reason = check_text(reason, "reason")
    deploying = to in DEPLOYED or to == Stage.APPROVED
    require_role(by, rules.DEPLOYERS if deploying else rules.GOVERNORS, f"move versions to {to}")
    RegisteredModel.objects.select_for_update().get(slug=version.model_id)
    version = locked(version)
    current = Stage(version.stage)
    if to not in MANUAL_TRANSITIONS[current]:
        allowed = ", ".join(sorted(MANUAL_TRANSITIONS[current])) or "none by hand"
        raise DomainError(
            f"{version.subject} is {current}; it cannot move to {to} (allowed: {allowed})"
        )
    if to in NEEDS_AUTHORIZATION:
        if version.review_required:
            raise DomainError(f"{version.subject} has a monitoring review outstanding")
        if not selectors.in_force_authorizations(version=version, moment=timezone.now()):
            raise DomainError(
                f"{version.subject} has no authorization in force for any use case; it "
                f"cannot serve decisions in {to}"
            )
    if to == Stage.PRODUCTION:
        for other in version.model.versions.in_production():
            write_stage_change(other, Stage.DEPRECATED, f"superseded by {version.subject}", by)
    write_stage_change(version, to, reason, by)
    return ModelVersion.objects.get(pk=version.pk)


def write_stage_change(version: ModelVersion, to: Stage, reason: str, by: Principal) -> None:
    """Record that the version moves to `to`. Checks nothing: a service's own step, inside its
    transaction, after it has checked the move."""
    payload = {"from": version.stage, "to": to.value, "reason": reason}
    write_fact(kind="stage.changed", subject=version.subject, payload=payload, by=by)


def _check_package_data(package: dict[str, Any]) -> None:
    data = package["data"]
    check_snapshots_recorded(
        [item["snapshot"] for item in data], {item["snapshot"]: item["digest"] for item in data}
    )
