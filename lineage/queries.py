"""Lineage questions, answered by recursive SQL (one CTE walks the graph in the database):

- `upstream(subject)`: where did this come from? Every node a version (or run, or
  snapshot) was built from, down to the raw datasets, with its distance.
- `downstream(subject)`: what else used this? Every node built from a snapshot, and the
  model versions among them with their stage and the use cases they are authorized for.
- `diff(a, b)`: what changed between two versions, in data, code, environment,
  parameters and metrics.
"""

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import connection

from auditreg.errors import DomainError
from lineage.models import Edge, Node

# A bound on the walk: the graph has no cycles, but a bad one must not run forever.
MAX_DEPTH = 200


@dataclass
class Reached:
    subject: str
    depth: int
    kind: str  # "" for a node named by an edge but never recorded
    name: str
    digest: str
    facts: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "depth": self.depth,
            "kind": self.kind or None,
            "recorded": bool(self.kind),
            "name": self.name,
            "digest": self.digest,
            "facts": self.facts,
        }


@dataclass
class Graph:
    subject: str
    direction: Literal["upstream", "downstream"]
    nodes: list[Reached]
    edges: list[tuple[str, str, str]]
    versions: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "subject": self.subject,
            "direction": self.direction,
            "nodes": [node.as_json() for node in self.nodes],
            "edges": [
                {"source": source, "target": target, "relation": relation}
                for source, target, relation in self.edges
            ],
        }
        if self.direction == "downstream":
            answer["versions"] = self.versions
        return answer


def _walk_sql(direction: str) -> tuple[str, str]:
    """The recursive walk and the column that leads from a reached node to the next."""
    node_table, edge_table = Node._meta.db_table, Edge._meta.db_table
    near, far = ("target", "source") if direction == "upstream" else ("source", "target")
    walk = f"""
        WITH RECURSIVE walk(subject, depth) AS (
            SELECT CAST(%s AS VARCHAR(500)), 0
            UNION
            SELECT e.{far}, w.depth + 1
            FROM {edge_table} e JOIN walk w ON e.{near} = w.subject
            WHERE w.depth < %s
        ),
        reached AS (SELECT subject, MIN(depth) AS depth FROM walk GROUP BY subject)
    """  # noqa: S608 - our own table and column names
    nodes = f"""{walk}
        SELECT r.subject, r.depth, n.kind, n.name, n.digest, n.facts
        FROM reached r LEFT JOIN {node_table} n ON n.subject = r.subject
        ORDER BY r.depth, r.subject
    """  # noqa: S608
    edges = f"""{walk}
        SELECT e.source, e.target, e.relation
        FROM {edge_table} e JOIN reached r ON e.{near} = r.subject
        ORDER BY e.source, e.target, e.relation
    """  # noqa: S608
    return nodes, edges


UPSTREAM = _walk_sql("upstream")
DOWNSTREAM = _walk_sql("downstream")


def _graph(subject: str, direction: Literal["upstream", "downstream"]) -> Graph:
    if not Node.objects.filter(subject=subject).exists():
        raise DomainError(f"{subject} is not recorded in the lineage")
    nodes_sql, edges_sql = UPSTREAM if direction == "upstream" else DOWNSTREAM
    with connection.cursor() as cursor:
        cursor.execute(nodes_sql, [subject, MAX_DEPTH])
        nodes = [
            Reached(subject=s, depth=d, kind=k or "", name=n or "", digest=g or "", facts=_j(f))
            for s, d, k, n, g, f in cursor.fetchall()
        ]
        cursor.execute(edges_sql, [subject, MAX_DEPTH])
        edges = [(source, target, relation) for source, target, relation in cursor.fetchall()]
    return Graph(subject=subject, direction=direction, nodes=nodes, edges=edges)


def _j(value: Any) -> dict[str, Any]:
    """JSON columns come back parsed on PostgreSQL and as text on SQLite."""
    if value is None:
        return {}
    parsed = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(parsed)


def upstream(subject: str) -> Graph:
    return _graph(subject, "upstream")


def downstream(subject: str) -> Graph:
    """The nodes built from `subject` (the registry's `impact.downstream` adds what the
    model versions among them are authorized for)."""
    return _graph(subject, "downstream")


def versions_downstream(subjects: Collection[str]) -> list[str]:
    """The model versions built from any of `subjects` (through runs and derived data)."""
    if not subjects:
        return []
    node_table, edge_table = Node._meta.db_table, Edge._meta.db_table
    marks = ", ".join(["%s"] * len(subjects))
    # UNION (not UNION ALL) drops rows already reached, so the walk ends even on a cycle.
    walk = f"""
        WITH RECURSIVE walk(subject) AS (
            SELECT target FROM {edge_table} WHERE source IN ({marks})
            UNION
            SELECT e.target FROM {edge_table} e JOIN walk w ON e.source = w.subject
        )
        SELECT n.subject FROM walk w JOIN {node_table} n ON n.subject = w.subject
        WHERE n.kind = %s
    """  # noqa: S608 - our own table names, and one placeholder per subject
    with connection.cursor() as cursor:
        cursor.execute(walk, [*subjects, "version"])
        return sorted({subject for (subject,) in cursor.fetchall()})


def snapshots_upstream(subject: str) -> dict[str, str]:
    """Every dataset snapshot upstream of a version (through runs and derived data)."""
    nodes_sql, _ = UPSTREAM
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT q.subject, q.digest FROM ({nodes_sql}) q WHERE q.kind = %s",  # noqa: S608
            [subject, MAX_DEPTH, "snapshot"],
        )
        return dict(cursor.fetchall())
