"""The lineage graph: nodes (datasets, snapshots, runs, jobs, code, environments,
artifacts, model versions) and the edges between them, keyed by ledger subjects.

Every row is a projection of ledger entries (`lineage.projection`); nothing here is
written except through the services, in the transaction that appends the entry.
"""

from django.db import models

from lineage.domain import NodeKind, Relation


class Node(models.Model):
    subject = models.CharField(max_length=500, unique=True)
    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in NodeKind])
    name = models.CharField(max_length=500)
    digest = models.CharField(max_length=71, blank=True)
    facts = models.JSONField()
    recorded_seq = models.BigIntegerField(help_text="the entry that first recorded the node")
    updated_seq = models.BigIntegerField(help_text="the latest entry that changed it")
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "lineage_node"
        indexes = [models.Index(fields=["kind", "subject"], name="lineage_node_kind")]

    def __str__(self) -> str:
        return self.subject


class Edge(models.Model):
    """`source` is upstream of `target`. Subjects, not foreign keys: a version may name a
    training run that is reported after it, and the edge is there as soon as it is named."""

    target = models.CharField(max_length=500)
    source = models.CharField(max_length=500, db_index=True)
    relation = models.CharField(max_length=20, choices=[(r.value, r.value) for r in Relation])
    seq = models.BigIntegerField(help_text="the entry that recorded the edge")

    class Meta:
        db_table = "lineage_edge"
        constraints = [
            models.UniqueConstraint(
                fields=["target", "source", "relation"], name="lineage_edge_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} -{self.relation}-> {self.target}"


class Event(models.Model):
    """An OpenLineage event as received: its digest identifies it, so a retried POST is
    recognised and recorded once."""

    digest = models.CharField(max_length=71, unique=True)
    event_type = models.CharField(max_length=20, blank=True)
    event_time = models.CharField(max_length=40)
    run = models.CharField(max_length=500, blank=True)
    job = models.CharField(max_length=500, blank=True)
    seq = models.BigIntegerField()

    class Meta:
        db_table = "lineage_event"

    def __str__(self) -> str:
        return f"{self.event_type or 'event'} {self.digest}"


# The projection's table names (lineage.projection.KEYS) and their models.
TABLES: dict[str, type[models.Model]] = {"node": Node, "edge": Edge, "event": Event}
