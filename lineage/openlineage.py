"""OpenLineage events (https://openlineage.io/spec) mapped to lineage facts.

The ledger keeps each event as received (its `openlineage.event` entry holds the event and
its digest); this mapping turns it into nodes and edges, identically live and on replay.

- A RunEvent's run becomes `run:{runId}` with the event's status (START → started,
  RUNNING/OTHER → running, COMPLETE → completed, FAIL → failed, ABORT → aborted) and times;
  its job becomes `job:{namespace}/{name}`; a `sourceCodeLocation` facet of type git with a
  full commit becomes the run's code (the repository is its `repoUrl`, else its `url`).
- A dataset becomes `dataset:{namespace}/{name}`; with a `version` facet, the snapshot
  `dataset:{namespace}/{name}@{datasetVersion}`, which is what the run read or wrote.
  A `schema` facet gives the snapshot's fields. OpenLineage carries no content digest, so
  these snapshots have none: a reviewer sees that the data's content was not pinned, until
  the pipeline records the same snapshot itself with its digest, which completes it (see
  `lineage.projection.is_placeholder`).
- A report about a finished run may repeat it but not add to it (`lineage.domain.check_report`).
- A JobEvent names a job and its datasets; a DatasetEvent names a dataset.

Pure code (no Django).
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import rfc8785

from auditreg.errors import DomainError
from auditreg.proofs.checks import COMMIT, sha256_of
from lineage.domain import check_canonical

STATUS = {
    "START": "started",
    "RUNNING": "running",
    "OTHER": "running",
    "COMPLETE": "completed",
    "FAIL": "failed",
    "ABORT": "aborted",
}
ENDS = {"COMPLETE", "FAIL", "ABORT"}


@dataclass(frozen=True)
class Job:
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        return f"job:{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Dataset:
    namespace: str
    name: str
    version: str
    schema: dict[str, Any] | None

    @property
    def subject(self) -> str:
        return f"dataset:{_escape(self.namespace)}/{_escape(self.name)}"

    @property
    def snapshot(self) -> str:
        return f"{self.subject}@{_escape(self.version)}" if self.version else ""

    @property
    def uri(self) -> str:
        return f"{self.namespace}/{self.name}" if "://" in self.namespace else ""


@dataclass
class Mapped:
    event_type: str
    event_time: str
    job: Job | None
    run: dict[str, Any] | None
    datasets: list[Dataset] = field(default_factory=list)


def digest(event: Mapping[str, Any]) -> str:
    """The event's identity: SHA-256 of its canonical JSON (RFC 8785), so the same event
    re-sent, however it was serialized or compressed, is recognised. (`check_event` has
    refused events with no canonical form.)"""
    return "sha256:" + hashlib.sha256(rfc8785.dumps(event)).hexdigest()


def check_event(event: object) -> dict[str, Any]:
    """Refuse what is not an OpenLineage event; return the event unchanged."""
    if not isinstance(event, dict):
        raise DomainError("an OpenLineage event must be a JSON object")
    # Facets are free-form: any of them may hold 1e400, 2^60 or "\udc00", which the event's
    # digest and its ledger entry (both RFC 8785) cannot hold.
    check_canonical(event, "the OpenLineage event")
    for name in ("eventTime", "producer", "schemaURL"):
        if not isinstance(event.get(name), str) or not event[name]:
            raise DomainError(f"the OpenLineage event has no {name}")
    try:
        moment = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(f"eventTime {event['eventTime']!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise DomainError("eventTime has no UTC offset")
    if "run" in event:
        run = event["run"]
        if not isinstance(run, dict) or not _text(run.get("runId")):
            raise DomainError("the RunEvent's run has no runId")
        if "job" not in event:
            raise DomainError("a RunEvent names its job")
        event_type = event.get("eventType", "OTHER")
        if event_type not in STATUS:
            raise DomainError(f"eventType {event_type!r} is not one of {', '.join(STATUS)}")
    if "job" in event:
        _job(event["job"])
    elif "dataset" in event:
        _dataset(event["dataset"], "dataset")
    else:
        raise DomainError("an OpenLineage event holds a run and job, a job, or a dataset")
    for side in ("inputs", "outputs"):
        items = event.get(side, [])
        if not isinstance(items, list):
            raise DomainError(f"{side} must be a JSON array")
        for item in items:
            _dataset(item, side)
    return event


def map_event(event: Mapping[str, Any]) -> Mapped:
    """Nodes and edges of a checked event."""
    moment = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")).isoformat()
    inputs = [_dataset(item, "inputs") for item in event.get("inputs", [])]
    outputs = [_dataset(item, "outputs") for item in event.get("outputs", [])]
    datasets = [*inputs, *outputs]
    if "dataset" in event:
        datasets.append(_dataset(event["dataset"], "dataset"))
    job = _job(event["job"]) if "job" in event else None
    mapped = Mapped(
        event_type=event.get("eventType", "") if "run" in event else "",
        event_time=moment,
        job=job,
        run=None,
        datasets=datasets,
    )
    if "run" in event and job is not None:
        event_type = event.get("eventType", "OTHER")
        mapped.event_type = event_type
        mapped.run = {
            "id": f"run:{event['run']['runId']}",
            "job": job.subject,
            "status": STATUS[event_type],
            "started_at": moment if event_type == "START" else None,
            "ended_at": moment if event_type in ENDS else None,
            "parameters": {},
            "metrics": {},
            "inputs": sorted({d.snapshot or d.subject for d in inputs}),
            "outputs": sorted({d.snapshot or d.subject for d in outputs}),
            "code": _code(event["job"]),
            "environment": None,
            "artifacts": [],
            "authors": [],
        }
    return mapped


def _job(value: object) -> Job:
    if not isinstance(value, dict) or not _text(value.get("namespace")):
        raise DomainError("the event's job needs a namespace and a name")
    if not _text(value.get("name")):
        raise DomainError("the event's job needs a namespace and a name")
    return Job(namespace=value["namespace"], name=value["name"])


def _dataset(value: object, where: str) -> Dataset:
    if not isinstance(value, dict):
        raise DomainError(f"each of {where} must be a JSON object")
    if not _text(value.get("namespace")) or not _text(value.get("name")):
        raise DomainError(f"each of {where} needs a namespace and a name")
    facets = value.get("facets") or {}
    if not isinstance(facets, dict):
        raise DomainError(f"the facets of {where} must be a JSON object")
    version = facets.get("version") or {}
    dataset_version = version.get("datasetVersion", "") if isinstance(version, dict) else ""
    return Dataset(
        namespace=value["namespace"],
        name=value["name"],
        version=dataset_version if _text(dataset_version) else "",
        schema=_schema(facets.get("schema")),
    )


def _schema(facet: object) -> dict[str, Any] | None:
    if not isinstance(facet, dict) or not isinstance(facet.get("fields"), list):
        return None
    fields = [
        {"name": str(item.get("name", "")), "type": str(item.get("type", ""))}
        for item in facet["fields"]
        if isinstance(item, dict)
    ]
    return {"fields": fields, "digest": sha256_of(fields)}


def _code(job: Mapping[str, Any]) -> dict[str, Any] | None:
    facets = job.get("facets") or {}
    location = facets.get("sourceCodeLocation") if isinstance(facets, dict) else None
    if not isinstance(location, dict) or location.get("type") != "git":
        return None
    # `url` locates a file (often a web page at the commit); `repoUrl` names the repository.
    commit, url = location.get("version"), location.get("repoUrl") or location.get("url")
    if not (isinstance(commit, str) and COMMIT.fullmatch(commit) and _text(url)):
        return None
    return {"repository": url, "commit": commit, "dirty": False}


def _text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 1000


def _escape(value: str) -> str:
    """Keep '@' (it separates a dataset from a snapshot) and white space out of subjects."""
    return value.replace("%", "%25").replace("@", "%40").replace(" ", "%20")
