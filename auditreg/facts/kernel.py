"""The projection kernel: a ledger entry as a fact, the tables it is applied to, and the
stores that hold them (in memory for replay, the database for the live write path).

Each app's projection (`lineage.projection`, `auditreg.registry.projection`) is a pure
function of a fact and a store over these types; `auditreg.facts.projections` applies them
in one declared order.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any, Protocol

Row = dict[str, Any]
Key = dict[str, Any]


class ProjectionError(Exception):
    """An entry that cannot apply to the state before it (the ledger holds a fact that the
    services would never have written)."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"entry {seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class Fact:
    """A ledger entry as the projection sees it."""

    seq: int
    time: datetime
    kind: str
    subject: str
    actor: str
    payload: dict[str, Any]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Fact":
        return cls(
            seq=document["seq"],
            time=datetime.fromisoformat(document["time"]),
            kind=document["kind"],
            subject=document["subject"],
            actor=document["actor"]["id"],
            payload=document["payload"],
        )


class Store(Protocol):
    def get(self, table: str, key: Key) -> Row | None: ...
    def insert(self, table: str, row: Row) -> None: ...
    def update(self, table: str, key: Key, changes: Row) -> None: ...
    def delete(self, table: str, key: Key) -> None: ...
    def add(self, table: str, rows: list[Row]) -> None:
        """Insert the rows whose keys are not in the table yet; leave the others."""


def getter(columns: Sequence[str]) -> Callable[[Row], tuple[Any, ...]]:
    """A function returning a row's values in `columns` order, as a tuple."""
    if len(columns) == 1:
        (column,) = columns
        return lambda row: (row[column],)
    return itemgetter(*columns)


class MemoryStore:
    """Projected tables as dicts, for replay. `keys`: each table's natural key."""

    def __init__(self, keys: dict[str, tuple[str, ...]]) -> None:
        self.keys = keys
        self.tables: dict[str, dict[tuple[Any, ...], Row]] = {table: {} for table in keys}
        # Replay calls key_of for nearly every fact: one C call, not a generator.
        self._key_of = {table: getter(key) for table, key in keys.items()}

    def key_of(self, table: str, row: Row) -> tuple[Any, ...]:
        return self._key_of[table](row)

    def get(self, table: str, key: Key) -> Row | None:
        return self.tables[table].get(self.key_of(table, key))

    def insert(self, table: str, row: Row) -> None:
        rows = self.tables[table]
        key = self.key_of(table, row)
        if key in rows:
            raise KeyError(f"{table} {key} already exists")
        rows[key] = dict(row)

    def update(self, table: str, key: Key, changes: Row) -> None:
        self.tables[table][self.key_of(table, key)].update(changes)

    def delete(self, table: str, key: Key) -> None:
        del self.tables[table][self.key_of(table, key)]

    def add(self, table: str, rows: list[Row]) -> None:
        for row in rows:
            self.tables[table].setdefault(self.key_of(table, row), dict(row))


@dataclass(frozen=True)
class Projection:
    """One app's tables as a function of the ledger, declared where its appliers live:
    each table's natural key in dependency order (a table refers only to those above it),
    where its models are (a dotted path, so the declaration imports no Django), how one fact
    applies (returning anomalies: facts recorded that carry no weight), and optionally a
    check of what the app keeps from the ledger without rebuilding it (a dotted path to a
    function returning differences)."""

    name: str
    keys: dict[str, tuple[str, ...]]
    tables: str
    apply: Callable[[Fact, Store], list[str]]
    kinds: frozenset[str]
    extra_check: str | None = None


Applier = Callable[[Fact, Store], list[str] | None]


def dispatch(appliers: dict[str, Applier]) -> Callable[[Fact, Store], list[str]]:
    """A projection's `apply` from its appliers by kind: other kinds leave its tables
    unchanged, and an entry that cannot apply raises ProjectionError naming it."""

    def apply(fact: Fact, store: Store) -> list[str]:
        applier = appliers.get(fact.kind)
        if applier is None:
            return []
        try:
            return applier(fact, store) or []
        except (KeyError, TypeError, ValueError) as exc:
            raise ProjectionError(fact.seq, f"{fact.kind} on {fact.subject}: {exc!r}") from None

    return apply


def require(store: Store, table: str, key: Key, fact: Fact) -> Row:
    """The row `fact` refers to; ProjectionError if the ledger never created it."""
    row = store.get(table, key)
    if row is None:
        raise ProjectionError(fact.seq, f"{fact.kind} refers to an unknown {table} {key}")
    return row
