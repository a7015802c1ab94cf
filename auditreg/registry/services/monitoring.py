"""Monitoring: the bounds a model's metrics must stay within, the figures recorded for a
version in use, and the review a figure outside its bounds requires."""

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.proofs.checks import check_decimal, check_text
from auditreg.registry import selectors
from auditreg.registry.domain import DEPLOYED, Stage
from auditreg.registry.models import ModelVersion, MonitoringRecord, RegisteredModel, Threshold
from auditreg.registry.services.versions import locked


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
    version = locked(version)
    if version.stage not in (*DEPLOYED, Stage.DEPRECATED):
        raise DomainError(f"{version.subject} is {version.stage}, not in use")
    value = check_decimal(value, "value")
    metric = check_text(metric, "metric", limit=100)
    segment = check_text(segment, "segment", limit=100)
    today = timezone.now().astimezone(selectors.organisation_zone()).date()
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
