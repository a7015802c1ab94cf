"""Recording lineage: every call validates, appends one ledger entry and applies it to
the lineage tables in one transaction, or raises DomainError and changes nothing.

Every call is idempotent by content: the same facts again return the node already
recorded, `created` False, and append nothing. Facts that contradict what is recorded
raise Conflict.
"""

from typing import Any

from django.db import transaction

from auditreg.errors import Conflict, DomainError
from auditreg.registry.domain import Role
from auditreg.registry.models import Principal
from auditreg.registry.services import check_snapshots_recorded, require_role, write_fact
from lineage import openlineage
from lineage.domain import (
    check_dataset,
    check_run,
    check_snapshot,
    dataset_subject,
    merge_run,
    snapshot_subject,
)
from lineage.models import Event, Node

RECORDERS = {Role.DEVELOPER, Role.VALIDATOR}


@transaction.atomic(durable=True)
def record_dataset(
    *, name: str, uri: str = "", description: str = "", by: Principal
) -> tuple[Node, bool]:
    """A dataset: a named source of data whose states are recorded as snapshots."""
    require_role(by, RECORDERS, "record lineage")
    payload = check_dataset(name=name, uri=uri, description=description)
    subject = dataset_subject(payload["name"])
    existing = Node.objects.filter(subject=subject).first()
    if existing is not None:
        recorded = {"name": existing.name, **existing.facts}
        if {key: recorded.get(key) for key in payload} != payload:
            raise Conflict(f"{subject} is already recorded with other facts")
        return existing, False
    write_fact(kind="dataset.recorded", subject=subject, payload=payload, by=by)
    return Node.objects.get(subject=subject), True


@transaction.atomic(durable=True)
def record_snapshot(
    *,
    dataset: str,
    label: str,
    digest: str,
    uri: str = "",
    rows: int | None = None,
    schema: dict[str, Any] | None = None,
    time_range: dict[str, str] | None = None,
    by: Principal,
) -> tuple[Node, bool]:
    """One exact state of a dataset, pinned by its content digest."""
    require_role(by, RECORDERS, "record lineage")
    payload = check_snapshot(
        dataset=dataset,
        label=label,
        digest=digest,
        uri=uri,
        rows=rows,
        schema=schema,
        time_range=time_range,
    )
    if not Node.objects.filter(subject=dataset_subject(payload["dataset"])).exists():
        raise DomainError(f"the dataset {payload['dataset']!r} is not recorded")
    subject = snapshot_subject(payload["dataset"], payload["label"])
    existing = Node.objects.filter(subject=subject).first()
    if existing is not None:
        facts = {key: payload[key] for key in ("uri", "rows", "schema", "time_range")}
        if existing.digest != payload["digest"] or existing.facts != facts:
            raise Conflict(f"{subject} is already recorded with other facts")
        return existing, False
    write_fact(kind="snapshot.recorded", subject=subject, payload=payload, by=by)
    return Node.objects.get(subject=subject), True


@transaction.atomic(durable=True)
def record_run(*, facts: dict[str, Any], by: Principal) -> tuple[Node, bool]:
    """One report of a training run; reports of one run merge (see `merge_run`). A report
    that adds nothing to what is recorded appends nothing."""
    require_role(by, RECORDERS, "record lineage")
    report = check_run(facts)
    check_snapshots_recorded([*report["inputs"], *report["outputs"]])
    # Lock the run's node: concurrent reports of one run are merged one after the other.
    existing = Node.objects.select_for_update().filter(subject=report["id"]).first()
    if existing is not None and merge_run(existing.facts, report) == existing.facts:
        return existing, False
    write_fact(kind="run.recorded", subject=report["id"], payload=report, by=by)
    return Node.objects.get(subject=report["id"]), True


@transaction.atomic(durable=True)
def record_openlineage_event(*, event: object, by: Principal) -> tuple[Event, bool]:
    """An OpenLineage event, kept whole in the ledger with its digest. The same event sent
    again (the client retries on 5xx) returns the first record."""
    require_role(by, RECORDERS, "record lineage")
    checked = openlineage.check_event(event)
    digest = openlineage.digest(checked)
    existing = Event.objects.filter(digest=digest).first()
    if existing is not None:
        return existing, False
    mapped = openlineage.map_event(checked)
    if mapped.run is not None:
        run = Node.objects.select_for_update().filter(subject=mapped.run["id"]).first()
        if run is not None and run.kind != "run":
            raise Conflict(f"{mapped.run['id']} is recorded as a {run.kind}")
        if run is not None:
            merge_run(run.facts, mapped.run, strict=False)  # raises on a contradiction
    subject = mapped.run["id"] if mapped.run else (mapped.job.subject if mapped.job else "")
    subject = subject or mapped.datasets[0].subject
    write_fact(
        kind="openlineage.event",
        subject=subject,
        payload={"event": checked, "digest": digest},
        by=by,
    )
    return Event.objects.get(digest=digest), True
