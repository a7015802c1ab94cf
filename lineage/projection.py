"""The lineage graph as a function of ledger entries (see `auditreg.facts.kernel`).

Pure code (no Django). Applied with the registry's projection, entry by entry, by the
services (live) and by replay (from the ledger alone): the lineage appliers of an entry
run before the registry's, so a version correction still sees the package it replaces.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from auditreg.facts.kernel import Applier, Fact, Projection, ProjectionError, Row, Store, dispatch
from lineage import openlineage
from lineage.domain import (
    NodeKind,
    Relation,
    artifact_subject,
    code_subject,
    dataset_subject,
    environment_subject,
    merge_run,
    run_subject,
)

KEYS: dict[str, tuple[str, ...]] = {
    "node": ("subject",),
    "edge": ("target", "source", "relation"),
    "event": ("digest",),
}


def node_row(
    fact: Fact,
    *,
    subject: str,
    kind: NodeKind,
    name: str,
    digest: str = "",
    facts: Mapping[str, Any] | None = None,
) -> Row:
    return {
        "subject": subject,
        "kind": kind.value,
        "name": name,
        "digest": digest,
        "facts": dict(facts or {}),
        "recorded_seq": fact.seq,
        "updated_seq": fact.seq,
        "recorded_at": fact.time,
    }


def edge_row(fact: Fact, source: str, target: str, relation: Relation) -> Row:
    return {"target": target, "source": source, "relation": relation.value, "seq": fact.seq}


def upsert_node(store: Store, fact: Fact, **node: Any) -> None:
    """Record a node the first time it is named; later mentions change nothing."""
    store.add("node", [node_row(fact, **node)])


def is_placeholder(kind: str, digest: str, facts: Mapping[str, Any]) -> bool:
    """A dataset or snapshot node that only OpenLineage events have named: a dataset with
    the event's namespace among its facts, a snapshot with no content digest. Every other
    path records a dataset with its own facts and a snapshot with its digest.

    OpenLineage's `dataset:{namespace}/{name}` shares its subjects with the pipeline's own
    datasets, deliberately: they are the same data. Rather than moving OpenLineage into a
    namespace of its own (which would change the subjects that existing ledgers project, and
    keep the two names of one dataset apart), the pipeline's own record completes such a
    placeholder: a snapshot gets the digest OpenLineage cannot give. Until then, the live
    service refused such a record (409, "already recorded with other facts"), so no
    existing ledger holds one, and their replay is unchanged."""
    if kind == NodeKind.DATASET:
        return "namespace" in facts
    return kind == NodeKind.SNAPSHOT and not digest


def complete_placeholder(store: Store, fact: Fact, *, name: str, digest: str, facts: Row) -> bool:
    """Give an OpenLineage placeholder the facts of the pipeline's own record; False when
    the subject is not a placeholder (then the record is new, or repeats what is recorded)."""
    row = store.get("node", {"subject": fact.subject})
    if row is None or not is_placeholder(row["kind"], row["digest"], row["facts"]):
        return False
    changes = {"name": name, "digest": digest, "facts": facts, "updated_seq": fact.seq}
    store.update("node", {"subject": fact.subject}, changes)
    return True


def add_edge(store: Store, fact: Fact, source: str, target: str, relation: Relation) -> None:
    store.add("edge", [edge_row(fact, source, target, relation)])


def run_edges(report: Mapping[str, Any]) -> list[tuple[str, str, Relation]]:
    """The edges (source, target, relation) one report of a run names: what the run read,
    wrote and ran with. (An OpenLineage event also names the run's job.)"""
    subject = report["id"]
    edges = [(source, subject, Relation.INPUT) for source in report["inputs"]]
    edges += [(subject, output, Relation.OUTPUT) for output in report["outputs"]]
    edges += [
        (subject, artifact_subject(artifact["digest"]), Relation.OUTPUT)
        for artifact in report["artifacts"]
    ]
    if report["code"]:
        edges.append((code_subject(report["code"]), subject, Relation.CODE))
    if report["environment"]:
        edges.append((environment_subject(report["environment"]), subject, Relation.ENVIRONMENT))
    return edges


def record_run(store: Store, fact: Fact, report: Mapping[str, Any], *, strict: bool = True) -> None:
    """Merge one report of a run into its node, with the nodes and edges it names.

    Only `merge_run`'s contradictions apply here, not the services' later rules
    (`check_report`: a finished run is closed, no snapshot both in and out; the lineage of
    a signed version is fixed). A ledger written before those rules may hold a report they
    now refuse: it is projected as it was recorded then, because the ledger is what
    happened, and replay must rebuild exactly the tables that were written from it."""
    subject = report["id"]
    row = store.get("node", {"subject": subject})
    merged = merge_run(row["facts"] if row else None, report, strict=strict)
    if row is None:
        upsert_node(store, fact, subject=subject, kind=NodeKind.RUN, name=subject, facts=merged)
    else:
        store.update("node", {"subject": subject}, {"facts": merged, "updated_seq": fact.seq})
    nodes = [artifact_node(fact, artifact) for artifact in report["artifacts"]]
    if report["code"]:
        nodes.append(code_node(fact, report["code"]))
    if report["environment"]:
        nodes.append(environment_node(fact, report["environment"]))
    store.add("node", nodes)
    store.add("edge", [edge_row(fact, *edge) for edge in run_edges(report)])


def code_node(fact: Fact, code: Mapping[str, Any]) -> Row:
    return node_row(
        fact,
        subject=code_subject(code),
        kind=NodeKind.CODE,
        name=f"{code['repository']} @ {code['commit'][:12]}",
        facts={"repository": code["repository"], "commit": code["commit"]},
    )


def environment_node(fact: Fact, environment: Mapping[str, Any]) -> Row:
    python = environment["python"]
    return node_row(
        fact,
        subject=environment_subject(environment),
        kind=NodeKind.ENVIRONMENT,
        name=f"Python {python}" if python else environment_subject(environment),
        digest=environment["lock_digest"],
        facts={"python": python, "packages": environment["packages"]},
    )


def artifact_node(fact: Fact, artifact: Mapping[str, Any]) -> Row:
    return node_row(
        fact,
        subject=artifact_subject(artifact["digest"]),
        kind=NodeKind.ARTIFACT,
        name=artifact["uri"],
        digest=artifact["digest"],
        facts={"uri": artifact["uri"], "media_type": artifact.get("media_type", "")},
    )


# --- Appliers ----------------------------------------------------------------------------------


def _dataset_recorded(fact: Fact, store: Store) -> None:
    p = fact.payload
    facts = {"uri": p["uri"], "description": p["description"]}
    if complete_placeholder(store, fact, name=p["name"], digest="", facts=facts):
        return
    upsert_node(
        store, fact, subject=fact.subject, kind=NodeKind.DATASET, name=p["name"], facts=facts
    )


def _snapshot_recorded(fact: Fact, store: Store) -> None:
    p = fact.payload
    dataset = dataset_subject(p["dataset"])
    if store.get("node", {"subject": dataset}) is None:
        raise ProjectionError(fact.seq, f"snapshot of an unknown dataset {dataset}")
    facts = {key: p[key] for key in ("uri", "rows", "schema", "time_range")}
    name = f"{p['dataset']} @ {p['label']}"
    if not complete_placeholder(store, fact, name=name, digest=p["digest"], facts=facts):
        upsert_node(
            store,
            fact,
            subject=fact.subject,
            kind=NodeKind.SNAPSHOT,
            name=name,
            digest=p["digest"],
            facts=facts,
        )
    add_edge(store, fact, dataset, fact.subject, Relation.SNAPSHOT_OF)


def _run_recorded(fact: Fact, store: Store) -> None:
    record_run(store, fact, fact.payload)


def version_edges(package: Mapping[str, Any]) -> Iterator[tuple[str, Relation]]:
    """The upstream nodes a model package names."""
    yield artifact_subject(package["artifact"]["digest"]), Relation.ARTIFACT
    if package["code"]["repository"] and package["code"]["commit"]:
        yield code_subject(package["code"]), Relation.CODE
    if package["environment"]["lock_digest"]:
        yield environment_subject(package["environment"]), Relation.ENVIRONMENT
    if package["training_run"]["id"]:
        yield run_subject(package["training_run"]["id"]), Relation.TRAINED_BY
    for item in package["data"]:
        yield item["snapshot"], Relation.TRAINED_ON


def _add_version_lineage(
    fact: Fact, store: Store, package: Mapping[str, Any], version: Row | None = None
) -> None:
    """The version's node (when new), the nodes its package names, and its edges."""
    nodes = [] if version is None else [version]
    nodes.append(artifact_node(fact, package["artifact"]))
    if package["code"]["repository"] and package["code"]["commit"]:
        nodes.append(code_node(fact, package["code"]))
    if package["environment"]["lock_digest"]:
        nodes.append(environment_node(fact, package["environment"]))
    store.add("node", nodes)
    store.add(
        "edge",
        [
            edge_row(fact, source, fact.subject, relation)
            for source, relation in version_edges(package)
        ],
    )


def _version_registered(fact: Fact, store: Store) -> None:
    p = fact.payload
    version = node_row(
        fact,
        subject=fact.subject,
        kind=NodeKind.VERSION,
        name=f"{p['model']} v{p['number']}",
        digest=p["package"]["artifact"]["digest"],
        facts={"model": p["model"], "number": p["number"], "package_digest": p["package_digest"]},
    )
    _add_version_lineage(fact, store, p["package"], version)


def _version_corrected(fact: Fact, store: Store) -> None:
    """A corrected package replaces the version's upstream edges (applied before the
    registry's applier, so the registry row still holds the package being replaced)."""
    version = store.get("version", {"subject": fact.subject})
    node = store.get("node", {"subject": fact.subject})
    if version is None or node is None:
        raise ProjectionError(fact.seq, f"correction of an unknown version {fact.subject}")
    for source, relation in version_edges(version["package"]):
        key = {"target": fact.subject, "source": source, "relation": relation.value}
        if store.get("edge", key) is not None:
            store.delete("edge", key)
    package = fact.payload["package"]
    changes = {
        "digest": package["artifact"]["digest"],
        "facts": {**node["facts"], "package_digest": fact.payload["package_digest"]},
        "updated_seq": fact.seq,
    }
    store.update("node", {"subject": fact.subject}, changes)
    _add_version_lineage(fact, store, package)


def _openlineage_event(fact: Fact, store: Store) -> None:
    p = fact.payload
    mapped = openlineage.map_event(p["event"])
    store.insert(
        "event",
        {
            "digest": p["digest"],
            "event_type": mapped.event_type,
            "event_time": mapped.event_time,
            "run": mapped.run["id"] if mapped.run else "",
            "job": mapped.job.subject if mapped.job else "",
            "seq": fact.seq,
        },
    )
    if mapped.job:
        upsert_node(
            store,
            fact,
            subject=mapped.job.subject,
            kind=NodeKind.JOB,
            name=mapped.job.name,
            facts={"namespace": mapped.job.namespace, "name": mapped.job.name},
        )
    for dataset in mapped.datasets:
        upsert_node(
            store,
            fact,
            subject=dataset.subject,
            kind=NodeKind.DATASET,
            name=dataset.name,
            facts={"uri": dataset.uri, "description": "", "namespace": dataset.namespace},
        )
        if dataset.snapshot:
            upsert_node(
                store,
                fact,
                subject=dataset.snapshot,
                kind=NodeKind.SNAPSHOT,
                name=f"{dataset.name} @ {dataset.version}",
                facts={"uri": dataset.uri, "rows": None, "schema": dataset.schema},
            )
            add_edge(store, fact, dataset.subject, dataset.snapshot, Relation.SNAPSHOT_OF)
    if mapped.run:
        record_run(store, fact, mapped.run, strict=False)
        if mapped.job:
            add_edge(store, fact, mapped.job.subject, mapped.run["id"], Relation.JOB)


APPLY: dict[str, Applier] = {
    "dataset.recorded": _dataset_recorded,
    "snapshot.recorded": _snapshot_recorded,
    "run.recorded": _run_recorded,
    "version.registered": _version_registered,
    "version.corrected": _version_corrected,
    "openlineage.event": _openlineage_event,
}


PROJECTION = Projection(
    name="lineage",
    keys=KEYS,
    tables="lineage.models.TABLES",
    apply=dispatch(APPLY),
    kinds=frozenset(APPLY),
)
