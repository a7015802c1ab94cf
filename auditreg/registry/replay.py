"""Rebuilding the registry from the ledger alone, and checking the live tables against it."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from auditreg.ledger.integrity import entry_rows
from auditreg.ledger.services import lock_ledger
from auditreg.registry import projection as registry
from auditreg.registry.models import TABLES as REGISTRY_TABLES
from auditreg.registry.models import ApiToken
from auditreg.registry.projection import Fact, Key, MemoryStore, Row
from lineage import projection as lineage
from lineage.models import TABLES as LINEAGE_TABLES

# Every table that is a projection of the ledger, in dependency order, and its model.
KEYS = {**registry.KEYS, **lineage.KEYS}
TABLES = {**REGISTRY_TABLES, **LINEAGE_TABLES}
KINDS = frozenset(registry.APPLY) | frozenset(lineage.APPLY)


def project_all(fact: Fact, store: "DbStore | MemoryStore") -> list[str]:
    """Apply one entry to the lineage graph, then to the registry (a correction's lineage
    reads the package it replaces). Returns the registry's anomalies."""
    return lineage.project(fact, store) + registry.project(fact, store)


MAX_REPORTED = 50


class DbStore:
    """The projection's store on the registry's tables (the live write path)."""

    def get(self, table: str, key: Key) -> Row | None:
        row: Row | None = TABLES[table]._default_manager.filter(**key).values().first()
        return row

    def insert(self, table: str, row: Row) -> None:
        TABLES[table]._default_manager.create(**row)

    def update(self, table: str, key: Key, changes: Row) -> None:
        if TABLES[table]._default_manager.filter(**key).update(**changes) != 1:
            raise KeyError(f"{table} {key} does not exist")

    def delete(self, table: str, key: Key) -> None:
        deleted, _ = TABLES[table]._default_manager.filter(**key).delete()
        if deleted != 1:
            raise KeyError(f"{table} {key} does not exist")

    def add(self, table: str, rows: list[Row]) -> None:
        """One INSERT … ON CONFLICT DO NOTHING (the natural key is a unique constraint)."""
        model = TABLES[table]
        model._default_manager.bulk_create([model(**row) for row in rows], ignore_conflicts=True)


@dataclass
class Replay:
    entries: int = 0
    rows: int = 0
    anomalies: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    tokens: dict[str, Row] = field(default_factory=dict)  # API tokens' recorded columns

    @property
    def clean(self) -> bool:
        return not self.differences and not self.anomalies


def replay() -> tuple[MemoryStore, Replay]:
    """Apply every ledger entry, from seq 0, to an empty in-memory registry."""
    store, result = MemoryStore(KEYS), Replay()
    for (body,) in entry_rows("body"):
        result.entries += 1
        document = json.loads(bytes(body))
        if document["kind"] in KINDS:
            result.anomalies += project_all(Fact.from_document(document), store)
        elif document["kind"] in TOKEN_KINDS:
            _token_fact(Fact.from_document(document), result.tokens)
    result.rows = sum(len(rows) for rows in store.tables.values())
    return store, result


# API tokens are a credential store (their secrets' digests are never in the ledger), so
# replay does not rebuild them; but every column the ledger does record is compared, so a
# token revoked, extended or widened in the database alone is found.
TOKEN_KINDS = frozenset({"token.issued", "token.revoked"})
TOKEN_COLUMNS = ("principal_id", "name", "scopes", "created_at", "expires_at", "revoked_at")


def _token_fact(fact: Fact, tokens: dict[str, Row]) -> None:
    prefix = fact.payload["token"]
    if fact.kind == "token.issued":
        tokens[prefix] = {
            "principal_id": fact.subject,
            "name": fact.payload["name"],
            "scopes": fact.payload["scopes"],
            "created_at": fact.time,
            "expires_at": datetime.fromisoformat(fact.payload["expires_at"]),
            "revoked_at": None,
            "issued_seq": fact.seq,
        }
    elif prefix in tokens:
        tokens[prefix]["revoked_at"] = fact.time


def _compare_tokens(expected: dict[str, Row]) -> list[str]:
    differences = []
    live = {
        row["prefix"]: row
        for row in ApiToken.objects.values("prefix", "issued_seq", *TOKEN_COLUMNS)
    }
    for prefix in sorted(live.keys() - expected.keys()):
        differences.append(f"token {prefix}: in the table but not in the ledger")
    for prefix in sorted(expected.keys() - live.keys()):
        differences.append(f"token {prefix}: in the ledger but missing from the table")
    for prefix in sorted(live.keys() & expected.keys()):
        for name in (*TOKEN_COLUMNS, "issued_seq"):
            if live[prefix][name] != expected[prefix][name]:
                differences.append(
                    f"token {prefix}: {name} is {live[prefix][name]!r} in the table, "
                    f"{expected[prefix][name]!r} from the ledger"
                )
    return differences


def check() -> Replay:
    """Rebuild the registry from the ledger and compare it, row by row and column by column,
    with the live tables. Reads one snapshot: entries and tables are from the same moment."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        store, result = replay()
        for table in KEYS:
            result.differences += _compare(table, store.tables[table])
        result.differences += _compare_tokens(result.tokens)
    return result


def rebuild() -> Replay:
    """Replace every registry table with the state rebuilt from the ledger."""
    with transaction.atomic(durable=True):
        lock_ledger()  # no entry may be appended between reading the ledger and rewriting
        store, result = replay()
        with connection.cursor() as cursor:
            for table in reversed(KEYS):
                name = connection.ops.quote_name(TABLES[table]._meta.db_table)
                cursor.execute(f"DELETE FROM {name}")  # noqa: S608 - our own table names
        for table in KEYS:
            model = TABLES[table]
            model._default_manager.bulk_create(
                (model(**row) for row in store.tables[table].values()), batch_size=1000
            )
    return result


def columns(table: str) -> list[str]:
    return [f.attname for f in TABLES[table]._meta.concrete_fields if not f.primary_key]


def _compare(table: str, expected: dict[tuple[Any, ...], Row]) -> list[str]:
    names = columns(table)
    differences = []
    seen = set()
    for live in _live_rows(table, names):
        key = tuple(live[column] for column in KEYS[table])
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
    model = TABLES[table]
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
