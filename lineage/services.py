"""Recording lineage: every call validates, appends one ledger entry and applies it to
the lineage tables in one transaction, or raises DomainError and changes nothing.

Every call is idempotent by content: the same facts again return the node already
recorded, `created` False, and append nothing. Facts that contradict what is recorded
raise Conflict. Concurrent calls about one subject take turns (`lock_subject`), so each
decides on what the one before it recorded: the same facts sent at once are recorded once.
"""

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import require_role
from auditreg.errors import Conflict, DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger.services import lock_ledger, lock_subject
from lineage import openlineage, queries
from lineage.domain import (
    Relation,
    check_dataset,
    check_report,
    check_run,
    check_snapshot,
    dataset_subject,
    is_snapshot_subject,
    snapshot_subject,
)
from lineage.models import Edge, Event, Node
from lineage.projection import is_placeholder, run_edges

RECORDERS = {Role.DEVELOPER, Role.VALIDATOR}

P = ParamSpec("P")
T = TypeVar("T")


def check_snapshots_recorded(subjects: list[str], digests: dict[str, str] | None = None) -> None:
    """Refuse references to dataset snapshots that are not recorded in the lineage, or were
    recorded with another content digest."""
    found = dict(
        Node.objects.filter(subject__in=subjects, kind="snapshot").values_list("subject", "digest")
    )
    for subject in subjects:
        if not is_snapshot_subject(subject) or subject not in found:
            raise DomainError(f"{subject} is not a recorded dataset snapshot")
        if digests and digests.get(subject) not in (None, found[subject]):
            raise DomainError(
                f"{subject} was recorded with digest {found[subject]}, not {digests[subject]}"
            )


def checked_again_on_conflict(write: Callable[P, T]) -> Callable[P, T]:
    """A unique key that fires means a concurrent writer recorded the fact first, which the
    subject lock should already prevent: decide again, on what is now recorded, so the
    answer is "already recorded" (or the Conflict) rather than a 500."""

    @wraps(write)
    def again(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return write(*args, **kwargs)
        except IntegrityError:
            return write(*args, **kwargs)

    return again


def check_signed_lineage(report: dict[str, Any], *, job: str = "") -> None:
    """Refuse a report of a run that would add an edge into what a signed model version was
    built from: a new input, code or environment of a run behind it, or a run claiming to
    have produced its training data. A signature was given over the lineage as it stood;
    a later reader must see the same. (A finished run is closed anyway, `check_report`;
    this covers the run still running and a new run naming a signed version's data.)

    The first report of a run that a version named before it was reported is accepted:
    it records what the version named, shown until then as not recorded."""
    subject = report["id"]
    edges = run_edges(report) + ([(job, subject, Relation.JOB)] if job else [])
    recorded = set(
        (Edge.objects.filter(target=subject) | Edge.objects.filter(source=subject)).values_list(
            "source", "target", "relation"
        )
    )
    targets = {
        target
        for source, target, relation in edges
        if (source, target, relation.value) not in recorded
    }
    targets = set(Node.objects.filter(subject__in=targets).values_list("subject", flat=True))
    check_unsigned(targets, f"{subject}: this report")


def _signed_versions() -> Callable[[list[str]], list[str]]:
    """Which model versions are signed is the registry's to say (lineage never imports it):
    `settings.AUDITREG_SIGNED_VERSIONS` names its function."""
    signed: Callable[[list[str]], list[str]] = import_string(settings.AUDITREG_SIGNED_VERSIONS)
    return signed


def check_unsigned(subjects: Collection[str], what: str) -> None:
    """Refuse (Conflict) if a signed model version was built from any of `subjects`.

    The ledger's append lock is taken first, and held until the entry is appended: a
    signature recorded before it is seen here, one recorded after it comes later in the
    ledger than this entry. (Only when there is something to check, and the walk is short:
    the nodes a report adds to are new data and runs, with little built from them yet.)"""
    if not subjects:
        return
    lock_ledger()
    signed = _signed_versions()(queries.versions_downstream(sorted(subjects)))
    if signed:
        raise Conflict(
            f"{what} would change the lineage of {', '.join(signed)}, which has been signed; "
            "the lineage a signature was given over cannot change"
        )


@checked_again_on_conflict
@transaction.atomic(durable=True)
def record_dataset(
    *, name: str, uri: str = "", description: str = "", by: Principal
) -> tuple[Node, bool]:
    """A dataset: a named source of data whose states are recorded as snapshots.

    A dataset that only OpenLineage events have named (a placeholder, with the event's
    namespace) is completed by these facts: a new entry, which replaces its name and facts.
    """
    require_role(by, RECORDERS, "record lineage")
    payload = check_dataset(name=name, uri=uri, description=description)
    subject = dataset_subject(payload["name"])
    lock_subject(subject)
    existing = Node.objects.filter(subject=subject).first()
    if existing is not None and not is_placeholder(existing.kind, existing.digest, existing.facts):
        recorded = {"name": existing.name, **existing.facts}
        if {key: recorded.get(key) for key in payload} != payload:
            raise Conflict(f"{subject} is already recorded with other facts")
        return existing, False
    if existing is not None:
        check_unsigned([subject], f"completing {subject}")
    write_fact(kind="dataset.recorded", subject=subject, payload=payload, by=by)
    return Node.objects.get(subject=subject), True


@checked_again_on_conflict
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
    """One exact state of a dataset, pinned by its content digest.

    A snapshot that only OpenLineage events have named (no digest: OpenLineage pins no
    content) is completed by these facts: a new entry, which gives it its digest."""
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
    lock_subject(subject)
    existing = Node.objects.filter(subject=subject).first()
    if existing is not None and not is_placeholder(existing.kind, existing.digest, existing.facts):
        facts = {key: payload[key] for key in ("uri", "rows", "schema", "time_range")}
        if existing.digest != payload["digest"] or existing.facts != facts:
            raise Conflict(f"{subject} is already recorded with other facts")
        return existing, False
    if existing is not None:
        check_unsigned([subject], f"completing {subject}")
    write_fact(kind="snapshot.recorded", subject=subject, payload=payload, by=by)
    return Node.objects.get(subject=subject), True


@checked_again_on_conflict
@transaction.atomic(durable=True)
def record_run(*, facts: dict[str, Any], by: Principal) -> tuple[Node, bool]:
    """One report of a training run; reports of one run merge (see `merge_run`). A report
    that adds nothing to what is recorded appends nothing. Refused (Conflict) once the run
    has finished, if it would add to what the run read, wrote or ran with, or to who made
    it; refused if a snapshot would be both an input and an output (see `check_report`)."""
    require_role(by, RECORDERS, "record lineage")
    report = check_run(facts)
    check_snapshots_recorded([*report["inputs"], *report["outputs"]])
    lock_subject(report["id"])  # the OpenLineage events of the run take the same lock
    existing = Node.objects.filter(subject=report["id"]).first()
    if existing is not None and existing.kind != "run":
        raise Conflict(f"{report['id']} is recorded as a {existing.kind}")
    merged = check_report(existing.facts if existing else None, report)
    if existing is not None and merged == existing.facts:
        return existing, False
    check_signed_lineage(report)
    write_fact(kind="run.recorded", subject=report["id"], payload=report, by=by)
    return Node.objects.get(subject=report["id"]), True


@checked_again_on_conflict
@transaction.atomic(durable=True)
def record_openlineage_event(*, event: object, by: Principal) -> tuple[Event, bool]:
    """An OpenLineage event, kept whole in the ledger with its digest. The same event sent
    again (the client retries on 5xx) returns the first record. An event about a finished
    run is refused (Conflict) if it would add to the run (see `check_report`); one that
    adds nothing is kept, and changes nothing."""
    require_role(by, RECORDERS, "record lineage")
    checked = openlineage.check_event(event)
    digest = openlineage.digest(checked)
    mapped = openlineage.map_event(checked)
    subject = mapped.run["id"] if mapped.run else (mapped.job.subject if mapped.job else "")
    subject = subject or mapped.datasets[0].subject
    # The same event has the same subject: its copies, and the reports of its run, take turns.
    lock_subject(subject)
    existing = Event.objects.filter(digest=digest).first()
    if existing is not None:
        return existing, False
    if mapped.run is not None:
        run = Node.objects.filter(subject=mapped.run["id"]).first()
        if run is not None and run.kind != "run":
            raise Conflict(f"{mapped.run['id']} is recorded as a {run.kind}")
        check_report(run.facts if run else None, mapped.run, strict=False)
        check_signed_lineage(mapped.run, job=mapped.job.subject if mapped.job else "")
    write_fact(
        kind="openlineage.event",
        subject=subject,
        payload={"event": checked, "digest": digest},
        by=by,
    )
    return Event.objects.get(digest=digest), True
