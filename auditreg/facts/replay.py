"""Replaying the ledger: every projection rebuilt from the entries alone, checked against
the live tables (`replay_ledger`, the default) or written over them (`--rebuild --yes`)."""

import gc
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import import_string

from auditreg.facts.kernel import Fact, MemoryStore, Row, Store, getter
from auditreg.facts.projections import keys, projections, tables
from auditreg.ledger.integrity import entry_cursor
from auditreg.ledger.services import lock_ledger

MAX_REPORTED = 50
BATCH = 10_000  # entries read at a time

Apply = Callable[[Fact, Store], list[str]]


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
    """Apply every ledger entry, from seq 0, to an empty in-memory store."""
    projector = Projector()
    with _collector_paused():
        for bodies in entry_bodies():
            projector.add(bodies)
    return projector.store, projector.finish()


def check() -> Replay:
    """Rebuild every projection from the ledger and compare it, row by row and column by
    column, with the live tables. Reads one snapshot: entries and tables are from the same
    moment."""
    with _snapshot(), _collector_paused():
        projector = Projector()
        for bodies in entry_bodies():
            projector.add(bodies)
        for table in keys():
            projector.compare(table, _live_rows(table))
        for projection in projections():
            if projection.extra_check:
                projector.result.differences += import_string(projection.extra_check)()
    return projector.finish()


def rebuild() -> Replay:
    """Replace every projected table with the state rebuilt from the ledger."""
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


class Projector:
    """Entries applied in seq order to an empty MemoryStore, each body parsed once and each
    fact handed only to the projections that apply its kind; then the differences between
    the tables it rebuilt and the live ones."""

    def __init__(self) -> None:
        self.store = MemoryStore(keys())
        self.result = Replay()
        self.applies: dict[str, tuple[Apply, ...]] = {}
        for projection in projections():
            for kind in projection.kinds:
                self.applies[kind] = (*self.applies.get(kind, ()), projection.apply)

    def add(self, bodies: list[bytes]) -> None:
        decode, applies, store = _DECODER.decode, self.applies, self.store
        anomalies = self.result.anomalies
        for body in bodies:
            document = decode(body.decode())
            applying = applies.get(document["kind"])
            if applying:
                fact = Fact.from_document(document)
                for apply in applying:
                    anomalies += apply(fact, store)
        self.result.entries += len(bodies)

    def compare(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Add the differences between a projected table and its live rows (`_live_rows`)."""
        self.result.differences += _compare(table, self.store.tables[table], rows)

    def finish(self) -> Replay:
        self.result.rows = sum(len(rows) for rows in self.store.tables.values())
        return self.result


_DECODER = json.JSONDecoder()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Replay makes millions of objects that live until it ends and form no cycles; the
    cyclic garbage collector would scan them over and over (a quarter of a check's time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _snapshot() -> Iterator[None]:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def entry_bodies() -> Iterator[list[bytes]]:
    """Entry bodies in seq order, a batch at a time (in binary form on PostgreSQL: bytea as
    its bytes rather than as hex text)."""
    with entry_cursor("body", binary=True) as cursor:
        while rows := cursor.fetchmany(BATCH):
            yield [bytes(body) for (body,) in rows]


def _selected(table: str) -> list[str]:
    """The columns compared: the natural key's first, then every other."""
    key = keys()[table]
    return [*key, *(name for name in columns(table) if name not in key)]


def _live_rows(table: str) -> list[tuple[Any, ...]]:
    """The table's rows as tuples of the projection's values, in `_selected` order: one
    query.

    On PostgreSQL, read with psycopg's own loaders for timestamptz (in C) and jsonb:
    Django's converters (a pure-Python timestamp loader, JSON parsed in `from_db_value`)
    cost more than the reading itself. The values are the same types.
    """
    model, names = tables()[table], _selected(table)
    if connection.vendor != "postgresql":
        return list(model._default_manager.values_list(*names))
    from psycopg.types.datetime import TimestamptzLoader
    from psycopg.types.json import JsonbLoader

    quote = connection.ops.quote_name
    column = {field.attname: field.column for field in model._meta.concrete_fields}
    selected = ", ".join(quote(column[name]) for name in names)
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.adapters.register_loader("jsonb", JsonbLoader)
        cursor.execute(f"SELECT {selected} FROM {quote(model._meta.db_table)}")  # noqa: S608
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _compare(
    table: str, expected: dict[tuple[Any, ...], Row], live: list[tuple[Any, ...]]
) -> list[str]:
    """Every difference between the rows rebuilt from the ledger and the table's: rows
    extra (or repeated), rows missing, and each column that differs."""
    names = _selected(table)
    width = len(keys()[table])
    as_stored = getter(names)
    found = {row[:width]: row for row in live}
    repeated = _repeated(table, found, live, width)
    changed = []
    for key, row in expected.items():
        stored = found.pop(key, None)
        if stored is None:
            changed.append(f"{table} {_show(key)}: in the ledger but missing from the table")
            continue
        wanted = as_stored(row)
        if stored != wanted:
            changed += [
                f"{table} {_show(key)}: {name} is {value!r} in the table, "
                f"{rebuilt!r} from the ledger"
                for name, value, rebuilt in zip(names, stored, wanted, strict=True)
                if value != rebuilt
            ]
    extra = [
        f"{table} {_show(key)}: in the table but not in the ledger"
        for key in sorted(found, key=repr)
    ]
    return repeated + extra + changed


def _repeated(
    table: str, found: dict[tuple[Any, ...], Any], live: list[tuple[Any, ...]], width: int
) -> list[str]:
    """Keys that more than one live row holds (only if a unique constraint was dropped)."""
    if len(found) == len(live):
        return []
    counts: dict[tuple[Any, ...], int] = {}
    for row in live:
        counts[row[:width]] = counts.get(row[:width], 0) + 1
    return [
        f"{table} {_show(key)}: in the table {n} times"
        for key, n in sorted(counts.items(), key=repr)
        if n > 1
    ]


def _show(key: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in key)
