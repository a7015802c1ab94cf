"""Lineage facts and the rules that need no database: what a dataset, a snapshot and a
training run report must hold, their ledger subjects, and how reports of one run merge.

Pure code (no Django), shared by the services that write facts and the projection that
rebuilds the lineage tables from the ledger.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import rfc8785

from auditreg.errors import Conflict, DomainError
from auditreg.proofs.checks import (
    COMMIT,
    check_actors,
    check_bool,
    check_choice,
    check_decimal,
    check_digest,
    check_list,
    check_object,
    check_string_map,
    check_text,
    sha256_of,
)

# A name: printable, no white space, and no '@' (it separates a dataset from a snapshot).
NAME = re.compile(r"[^\s@]{1,300}")
LABEL = re.compile(r"[^\s@]{1,100}")
MAX_ITEMS = 1000


class NodeKind(StrEnum):
    DATASET = "dataset"
    SNAPSHOT = "snapshot"
    RUN = "run"
    JOB = "job"
    CODE = "code"
    ENVIRONMENT = "environment"
    ARTIFACT = "artifact"
    VERSION = "version"


class Relation(StrEnum):
    """An edge runs from the upstream node to the downstream one."""

    SNAPSHOT_OF = "snapshot_of"  # dataset → snapshot
    INPUT = "input"  # snapshot → run
    OUTPUT = "output"  # run → snapshot or artifact
    CODE = "code"  # code → run or version
    ENVIRONMENT = "environment"  # environment → run or version
    JOB = "job"  # job → run
    TRAINED_BY = "trained_by"  # run → version
    TRAINED_ON = "trained_on"  # snapshot → version
    ARTIFACT = "artifact"  # artifact → version


class RunStatus(StrEnum):
    STARTED = "started"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    ABORTED = "aborted"


FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.ABORTED})


# --- Subjects ----------------------------------------------------------------------------------


def dataset_subject(name: str) -> str:
    return f"dataset:{name}"


def snapshot_subject(dataset: str, label: str) -> str:
    return f"dataset:{dataset}@{label}"


def run_subject(run_id: str) -> str:
    return run_id if run_id.startswith("run:") else f"run:{run_id}"


def code_subject(code: Mapping[str, Any]) -> str:
    return f"code:{code['repository']}@{code['commit']}"


def environment_subject(environment: Mapping[str, Any]) -> str:
    return f"environment:{environment['lock_digest']}"


def artifact_subject(digest: str) -> str:
    return f"artifact:{digest}"


def check_canonical(value: object, what: str) -> bytes:
    """`value` as RFC 8785 canonical JSON, the form the ledger hashes, or DomainError when
    it has none. (The message does not repeat the value, which may be huge.)"""
    try:
        return bytes(rfc8785.dumps(value))  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, TypeError):
        raise DomainError(
            f"{what} has no canonical JSON form (RFC 8785): numbers must be finite, integers "
            "within 2^53 - 1 and text valid Unicode (no lone surrogate such as \\udc00); send "
            "such values as strings"
        ) from None


def check_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise DomainError(f"{what} must be 1 to 300 characters with no spaces and no '@'")
    return value


def is_snapshot_subject(subject: str) -> bool:
    return subject.startswith("dataset:") and "@" in subject


# --- Datasets and snapshots --------------------------------------------------------------------


def check_dataset(*, name: object, uri: object = "", description: object = "") -> dict[str, Any]:
    dataset = {
        "name": check_name(name, "the dataset name"),
        "uri": check_text(uri, "uri", required=False, limit=1000),
        "description": check_text(description, "description", required=False),
    }
    check_canonical(dataset, "the dataset")
    return dataset


def check_snapshot(
    *,
    dataset: object,
    label: object,
    digest: object,
    uri: object = "",
    rows: object = None,
    schema: object = None,
    time_range: object = None,
) -> dict[str, Any]:
    """A snapshot is one exact state of a dataset: its content digest, and optionally its
    row count, schema (fields and their digest) and the time range its rows cover."""
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise DomainError("the snapshot label must be 1 to 100 characters, no spaces, no '@'")
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 0):
        raise DomainError("rows must be a whole number, 0 or more")
    snapshot = {
        "dataset": check_name(dataset, "the dataset name"),
        "label": label,
        "digest": check_digest(digest, "digest"),
        "uri": check_text(uri, "uri", required=False, limit=1000),
        "rows": rows,
        "schema": _check_schema(schema),
        "time_range": _check_range(time_range),
    }
    check_canonical(snapshot, "the snapshot")
    return snapshot


def _check_schema(schema: object) -> dict[str, Any] | None:
    if schema is None:
        return None
    value = check_object(schema, "schema")
    fields = check_list(value.get("fields", []), "schema.fields")
    if len(fields) > MAX_ITEMS:
        raise DomainError(f"schema.fields holds more than {MAX_ITEMS} fields")
    checked = []
    for item in fields:
        field = check_object(item, "schema.fields[]", required=True)
        checked.append(
            {
                "name": check_text(field.get("name"), "schema.fields[].name", limit=300),
                "type": check_text(field.get("type", ""), "schema.fields[].type", required=False),
            }
        )
    digest = value.get("digest")
    check_canonical(checked, "schema.fields")
    return {
        "fields": checked,
        # Without a digest of its own, the schema's digest is that of its fields (RFC 8785).
        "digest": check_digest(digest, "schema.digest") if digest else sha256_of(checked),
    }


def _check_range(time_range: object) -> dict[str, str] | None:
    if time_range is None:
        return None
    value = check_object(time_range, "time_range")
    start = check_time(value.get("start"), "time_range.start")
    end = check_time(value.get("end"), "time_range.end")
    if datetime.fromisoformat(end) < datetime.fromisoformat(start):
        raise DomainError("time_range ends before it starts")
    return {"start": start, "end": end}


def check_time(value: object, what: str) -> str:
    """An ISO 8601 time with its UTC offset, returned in one canonical form."""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be an ISO 8601 time such as 2026-06-30T12:00:00Z")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{what}: {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise DomainError(f"{what}: {value!r} has no UTC offset")
    return moment.isoformat()


# --- Training runs -----------------------------------------------------------------------------

RUN_FIELDS = {
    "id",
    "job",
    "status",
    "started_at",
    "ended_at",
    "parameters",
    "metrics",
    "inputs",
    "outputs",
    "code",
    "environment",
    "artifacts",
    "authors",
}


def check_run(facts: object) -> dict[str, Any]:
    """Validate one report of a training run; return it normalized, ready to be hashed."""
    if not isinstance(facts, Mapping):
        raise DomainError("a run report must be a JSON object")
    unknown = sorted(set(facts) - RUN_FIELDS)
    if unknown:
        raise DomainError(f"the run report has unknown fields: {', '.join(unknown)}")
    run_id = check_text(facts.get("id"), "id", limit=200)
    if any(char.isspace() for char in run_id):
        raise DomainError("a run id has no spaces")
    report: dict[str, Any] = {
        "id": run_subject(run_id),
        "job": check_text(facts.get("job", ""), "job", required=False, limit=300),
        "status": str(check_choice(facts.get("status"), RunStatus, "status")),
        "started_at": _optional_time(facts.get("started_at"), "started_at"),
        "ended_at": _optional_time(facts.get("ended_at"), "ended_at"),
        "parameters": _parameters(facts.get("parameters")),
        "metrics": {
            check_text(name, "metric name", limit=100): check_decimal(value, f"metric {name!r}")
            for name, value in check_object(facts.get("metrics"), "metrics").items()
        },
        "inputs": _subjects(facts.get("inputs", []), "inputs"),
        "outputs": _subjects(facts.get("outputs", []), "outputs"),
        "code": _code(facts.get("code")),
        "environment": _environment(facts.get("environment")),
        "artifacts": _artifacts(facts.get("artifacts", [])),
        "authors": check_actors(facts.get("authors", []), "authors"),
    }
    started, ended = report["started_at"], report["ended_at"]
    if started and ended and datetime.fromisoformat(ended) < datetime.fromisoformat(started):
        raise DomainError("the run ends before it starts")
    if ended and report["status"] not in FINISHED:
        raise DomainError("a run with an end time is completed, failed or aborted")
    check_canonical(report, "the run report")
    return report


def _optional_time(value: object, what: str) -> str | None:
    return None if value is None else check_time(value, what)


def _parameters(value: object) -> dict[str, str | int | bool]:
    parameters = check_object(value, "parameters")
    if len(parameters) > MAX_ITEMS:
        raise DomainError(f"parameters holds more than {MAX_ITEMS} entries")
    checked: dict[str, str | int | bool] = {}
    for name, item in parameters.items():
        check_text(name, "parameter name", limit=200)
        if isinstance(item, float) or not isinstance(item, str | int | bool):
            raise DomainError(
                f"parameter {name!r} must be a string, integer or boolean; "
                "send decimals as strings so they hash the same everywhere"
            )
        checked[name] = check_text(item, f"parameter {name!r}") if isinstance(item, str) else item
    return checked


def _subjects(value: object, what: str) -> list[str]:
    items = check_list(value, what)
    if len(items) > MAX_ITEMS:
        raise DomainError(f"{what} holds more than {MAX_ITEMS} entries")
    for item in items:
        if not isinstance(item, str) or not is_snapshot_subject(item):
            raise DomainError(f"{what}: {item!r} is not a snapshot such as 'dataset:name@label'")
    return sorted(set(items))


def _code(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    code = check_object(value, "code")
    commit = code.get("commit")
    if not isinstance(commit, str) or not COMMIT.fullmatch(commit):
        raise DomainError("code.commit must be a full git commit id (40 or 64 hex)")
    return {
        "repository": check_text(code.get("repository"), "code.repository", limit=1000),
        "commit": commit,
        "dirty": check_bool(code.get("dirty", False), "code.dirty"),
    }


def _environment(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    environment = check_object(value, "environment")
    return {
        "lock_digest": check_digest(environment.get("lock_digest"), "environment.lock_digest"),
        "python": check_text(environment.get("python", ""), "environment.python", required=False),
        "packages": check_string_map(environment.get("packages", {}), "environment.packages"),
    }


def _artifacts(value: object) -> list[dict[str, str]]:
    items = check_list(value, "artifacts")
    if len(items) > MAX_ITEMS:
        raise DomainError(f"artifacts holds more than {MAX_ITEMS} entries")
    checked = {}
    for item in items:
        artifact = check_object(item, "artifacts[]", required=True)
        digest = check_digest(artifact.get("digest"), "artifacts[].digest")
        checked[digest] = {
            "uri": check_text(artifact.get("uri"), "artifacts[].uri", limit=1000),
            "digest": digest,
            "media_type": check_text(
                artifact.get("media_type", ""), "artifacts[].media_type", required=False
            ),
        }
    return [checked[digest] for digest in sorted(checked)]


def check_report(
    recorded: Mapping[str, Any] | None, report: Mapping[str, Any], *, strict: bool = True
) -> dict[str, Any]:
    """The run as known after a new `report` (see `merge_run`), or Conflict when the report
    may not be recorded any more: it adds to a finished run (see `closed_changes`), or it
    makes a snapshot both an input and an output of the run.

    The services check every new report with this; the projection applies recorded entries
    with `merge_run` alone, since the ledger may hold reports accepted before these rules."""
    merged = merge_run(recorded, report, strict=strict)
    changed = [] if recorded is None else closed_changes(recorded, merged)
    if recorded is not None and changed:
        raise Conflict(
            f"{report['id']} is already {recorded['status']}: a finished run is closed, and "
            f"this report would change its {_words(changed)}; report new work as a new run"
        )
    loops = cycles(merged)
    if loops:
        refusal = DomainError if recorded is None else Conflict  # Conflict: with what is recorded
        raise refusal(f"{loops[0]} is both an input and an output of {report['id']}")
    return merged


# What a run read, wrote and ran with, and who made it: once the run has finished, later
# reports may repeat these but never add to them, or the lineage that signatures were given
# over would change under them. Its times may still be filled in (a late START event).
CLOSED = (
    "job",
    "code",
    "environment",
    "parameters",
    "metrics",
    "inputs",
    "outputs",
    "artifacts",
    "authors",
)


def closed_changes(recorded: Mapping[str, Any], merged: Mapping[str, Any]) -> list[str]:
    """The facts of a finished run that `merged` changes (none when it is not finished)."""
    if recorded["status"] not in FINISHED:
        return []
    return [key for key in CLOSED if merged[key] != recorded[key]]


def cycles(run: Mapping[str, Any]) -> list[str]:
    """Snapshots that are both an input and an output of `run`: an exact state of a dataset
    cannot be made by a run that read it. (An OpenLineage dataset named without a version
    is a table a job may read and rewrite: only snapshots are refused.)"""
    both = set(run["inputs"]) & set(run["outputs"])
    return sorted(subject for subject in both if is_snapshot_subject(subject))


def _words(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def merge_run(
    recorded: Mapping[str, Any] | None, report: Mapping[str, Any], *, strict: bool = True
) -> dict[str, Any]:
    """The run as known after `report`: the latest status and times, the union of inputs,
    outputs and artifacts. Raises Conflict where the report contradicts what is recorded:
    a changed parameter, metric, code, environment or job, or a finished run reopened.

    Not `strict` (OpenLineage events, which may arrive out of order): a report of a
    running run after its end keeps the finished status instead of raising.

    This is how the projection applies every recorded report, including reports recorded
    before finished runs were closed (`check_report`): those are projected as they were
    recorded then, so replay rebuilds exactly what the tables held."""
    if recorded is None:
        return {key: value for key, value in report.items() if key != "id"}
    merged = dict(recorded)
    for key in ("job", "code", "environment", "started_at"):
        if report[key] and recorded[key] and report[key] != recorded[key]:
            raise Conflict(f"{report['id']} was recorded with another {key}")
        merged[key] = recorded[key] or report[key]
    status = report["status"]
    if recorded["status"] in FINISHED and status != recorded["status"]:
        if strict or status in FINISHED:
            raise Conflict(f"{report['id']} is already {recorded['status']}")
        status = recorded["status"]
    if recorded["ended_at"] and report["ended_at"] and recorded["ended_at"] != report["ended_at"]:
        raise Conflict(f"{report['id']} was recorded with another end time")
    merged["status"] = status
    merged["ended_at"] = recorded["ended_at"] or report["ended_at"]
    for key in ("parameters", "metrics"):
        for name, value in report[key].items():
            if name in recorded[key] and recorded[key][name] != value:
                raise Conflict(f"{report['id']} has {key[:-1]} {name!r} = {recorded[key][name]!r}")
        merged[key] = {**recorded[key], **report[key]}
    for key in ("inputs", "outputs", "authors"):
        merged[key] = sorted(set(recorded[key]) | set(report[key]))
    artifacts = {item["digest"]: item for item in [*report["artifacts"], *recorded["artifacts"]]}
    merged["artifacts"] = [artifacts[digest] for digest in sorted(artifacts)]
    return merged
