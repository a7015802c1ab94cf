"""The projections, applied in one declared order (`settings.AUDITREG_PROJECTIONS`: lineage
before the registry, so a version's correction still sees the package it replaces), and the
database store the live write path applies them to."""

from functools import cache
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string

from auditreg.facts.kernel import Fact, Key, Projection, Row


@cache
def projections() -> tuple[Projection, ...]:
    return tuple(import_string(path) for path in settings.AUDITREG_PROJECTIONS)


@cache
def keys() -> dict[str, tuple[str, ...]]:
    """Every projected table's natural key, in the order tables are written."""
    return {table: key for p in projections() for table, key in p.keys.items()}


@cache
def tables() -> dict[str, type[models.Model]]:
    found: dict[str, type[models.Model]] = {}
    for projection in projections():
        found.update(import_string(projection.tables))
    return found


def kinds() -> frozenset[str]:
    return frozenset().union(*(p.kinds for p in projections()))


def project_all(fact: Fact, store: Any) -> list[str]:
    """Apply one entry to every projection, in order. Returns their anomalies."""
    anomalies: list[str] = []
    for projection in projections():
        anomalies += projection.apply(fact, store)
    return anomalies


class DbStore:
    """The projections' store on their database tables (the live write path)."""

    def get(self, table: str, key: Key) -> Row | None:
        row: Row | None = tables()[table]._default_manager.filter(**key).values().first()
        return row

    def insert(self, table: str, row: Row) -> None:
        tables()[table]._default_manager.create(**row)

    def update(self, table: str, key: Key, changes: Row) -> None:
        if tables()[table]._default_manager.filter(**key).update(**changes) != 1:
            raise KeyError(f"{table} {key} does not exist")

    def delete(self, table: str, key: Key) -> None:
        deleted, _ = tables()[table]._default_manager.filter(**key).delete()
        if deleted != 1:
            raise KeyError(f"{table} {key} does not exist")

    def add(self, table: str, rows: list[Row]) -> None:
        """One INSERT … ON CONFLICT DO NOTHING (the natural key is a unique constraint)."""
        model = tables()[table]
        model._default_manager.bulk_create([model(**row) for row in rows], ignore_conflicts=True)
