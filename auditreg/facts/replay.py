"""Replaying the ledger: every projection rebuilt from the entries alone, checked against
the live tables (`replay_ledger`, the default) or written over them (`--rebuild --yes`)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import import_string

from auditreg.facts.kernel import Fact, MemoryStore, Row
from auditreg.facts.projections import keys, kinds, project_all, projections, tables
from auditreg.ledger.integrity import entry_rows
from auditreg.ledger.services import lock_ledger

MAX_REPORTED = 50


@dataclass
class Replay:
    entries: int = 0
    rows: int = 0
    anomalies: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences and not self.anomalies


def replay() -> tuple[MemoryStore, Replay]:
    """Apply every ledger entry, from seq 0, to an empty in-memory registry."""
    store, result, applied = MemoryStore(keys()), Replay(), kinds()
    for (body,) in entry_rows("body"):
        result.entries += 1
        document = json.loads(bytes(body))
        if document["kind"] in applied:
            result.anomalies += project_all(Fact.from_document(document), store)
    result.rows = sum(len(rows) for rows in store.tables.values())
    return store, result


def check() -> Replay:
    """Rebuild the registry from the ledger and compare it, row by row and column by column,
    with the live tables. Reads one snapshot: entries and tables are from the same moment."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        store, result = replay()
        for table in keys():
            result.differences += _compare(table, store.tables[table])
        for projection in projections():
            if projection.extra_check:
                result.differences += import_string(projection.extra_check)()
    return result


def rebuild() -> Replay:
    """Replace every registry table with the state rebuilt from the ledger."""
    with transaction.atomic(durable=True):
        lock_ledger()  # no entry may be appended between reading the ledger and rewriting
        store, result = replay()
        with connection.cursor() as cursor:
            for table in reversed(keys()):
                name = connection.ops.quote_name(tables()[table]._meta.db_table)
                cursor.execute(f"DELETE FROM {name}")  # noqa: S608 - our own table names
        for table in keys():
            model = tables()[table]
            model._default_manager.bulk_create(
                (model(**row) for row in store.tables[table].values()), batch_size=1000
            )
    return result


def columns(table: str) -> list[str]:
    return [f.attname for f in tables()[table]._meta.concrete_fields if not f.primary_key]


def _compare(table: str, expected: dict[tuple[Any, ...], Row]) -> list[str]:
    names, key_columns = columns(table), keys()[table]
    differences = []
    seen = set()
    for live in _live_rows(table, names):
        key = tuple(live[column] for column in key_columns)
        seen.add(key)
        row = expected.get(key)
        if row is None:
            differences.append(f"{table} {_show(key)}: in the table but not in the ledger")
            continue
        for name in names:
            if live[name] != row[name]:
                differences.append(
                    f"{table} {_show(key)}: {name} is {live[name]!r} in the table, "
                    f"{row[name]!r} from the ledger"
                )
    for key in expected.keys() - seen:
        differences.append(f"{table} {_show(key)}: in the ledger but missing from the table")
    return differences


def _live_rows(table: str, names: list[str]) -> Iterator[Row]:
    """The table's rows as the projection writes them (column name → Python value).

    On PostgreSQL, read through a server-side cursor with psycopg's own C loaders for
    timestamptz and jsonb: Django's converters (a pure-Python timestamp loader, JSON parsed
    in `from_db_value`) cost more than the reading itself. The values are the same types.
    """
    model = tables()[table]
    if connection.vendor != "postgresql":
        yield from model._default_manager.values(*names).iterator(chunk_size=2000)
        return
    from psycopg.types.datetime import TimestamptzLoader
    from psycopg.types.json import JsonbLoader

    quote = connection.ops.quote_name
    column = {field.attname: field.column for field in model._meta.concrete_fields}
    selected = ", ".join(quote(column[name]) for name in names)
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with raw.cursor(name=f"replay_{table}") as cursor:
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.adapters.register_loader("jsonb", JsonbLoader)
        cursor.itersize = 5000
        cursor.execute(f"SELECT {selected} FROM {quote(model._meta.db_table)}")  # noqa: S608
        for row in cursor:
            yield dict(zip(names, row, strict=True))


def _show(key: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in key)
