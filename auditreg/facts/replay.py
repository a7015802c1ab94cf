"""Replaying the ledger: every projection rebuilt from the entries alone, checked against
the live tables (`replay_ledger`, the default) or written over them (`--rebuild --yes`)."""

import json
import multiprocessing
import multiprocessing.queues
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import import_string

from auditreg.facts.kernel import Fact, MemoryStore, ProjectionError, Row, Store, getter
from auditreg.facts.projections import keys, projections, tables
from auditreg.ledger.services import lock_ledger

MAX_REPORTED = 50
BATCH = 5_000  # entries, or live rows, per message to the replaying process

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
    for bodies in _entry_batches():
        projector.add(bodies)
    return projector.store, projector.finish()


def check(*, pipelined: bool = True) -> Replay:
    """Rebuild every projection from the ledger and compare it, row by row and column by
    column, with the live tables. Reads one snapshot: entries and tables are from the same
    moment.

    With `pipelined` (and where a child process can be forked), the entries are parsed and
    projected in a child process while this one reads them, then the live tables, so
    reading and replaying run on two cores; the differences reported are the same either way.
    """
    with _snapshot():
        projector = _ForkedProjector() if pipelined and _can_fork() else Projector()
        with closing(projector):
            for bodies in _entry_batches():
                projector.add(bodies)
            for table in keys():
                projector.live(table, _live_rows(table))
            differences = [
                difference
                for projection in projections()
                if projection.extra_check
                for difference in import_string(projection.extra_check)()
            ]
            result = projector.finish()
    result.differences += differences
    return result


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
    fact handed only to the projections that apply its kind; then, if given the live
    tables' rows, the differences between the two."""

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

    def live(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        self.result.differences += _compare(table, self.store.tables[table], rows)

    def finish(self) -> Replay:
        self.result.rows = sum(len(rows) for rows in self.store.tables.values())
        return self.result

    def close(self) -> None:
        pass


class _ForkedProjector:
    """A Projector in a forked child process, fed through a queue, so that this process
    reads on while the child parses and projects.

    The queue's feeder thread writes to the child as fast as it takes messages, so reading
    the live tables here overlaps with replaying there. The child never touches the
    database connection it inherits and leaves with os._exit (multiprocessing does that),
    so the connection is not closed under this process.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.queue: multiprocessing.queues.Queue[Any] = context.Queue()
        self.outcome, outcome = context.Pipe(duplex=False)
        self.child = context.Process(
            target=_project_in_child, args=(self.queue, outcome), daemon=True
        )
        self.child.start()
        outcome.close()
        self.finished = False

    def add(self, bodies: list[bytes]) -> None:
        self.queue.put(("entries", bodies))

    def live(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), BATCH):
            self.queue.put(("live", table, rows[start : start + BATCH]))
        self.queue.put(("compare", table))

    def finish(self) -> Replay:
        self.queue.put(None)
        self.finished = True
        try:
            outcome = self.outcome.recv()
        except EOFError:
            raise RuntimeError("the replaying process died without a result") from None
        if outcome[0] == "projection error":
            raise ProjectionError(*outcome[1:])
        if outcome[0] == "crashed":
            raise RuntimeError(f"the replaying process failed:\n{outcome[1]}")
        result: Replay = outcome[1]
        return result

    def close(self) -> None:
        if not self.finished:  # stopped by an error here: let the child drain and answer
            self.queue.put(None)
            with suppress(EOFError):
                self.outcome.recv()
        # The queue's feeder thread ends here; a later check() may fork again.
        self.queue.close()
        self.queue.join_thread()
        self.child.join()
        self.outcome.close()


def _project_in_child(queue: "multiprocessing.queues.Queue[Any]", outcome: Connection) -> None:
    projector, live = Projector(), []
    failure: tuple[Any, ...] | None = None
    while (message := queue.get()) is not None:
        if failure is not None:
            continue  # drain, so the feeding process never blocks on a full pipe
        try:
            if message[0] == "entries":
                projector.add(message[1])
            elif message[0] == "live":
                live += message[2]
            else:
                projector.live(message[1], live)
                live = []
        except ProjectionError as exc:
            failure = ("projection error", exc.seq, exc.reason)
        except Exception:  # reported to the parent, which raises it
            failure = ("crashed", traceback.format_exc())
    outcome.send(failure or ("result", projector.finish()))


def _can_fork() -> bool:
    # Celery's pool processes are daemons (which may not have children); forking a process
    # with other threads running is unsafe. Both replay in-process instead.
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
        and threading.active_count() == 1
    )


_DECODER = json.JSONDecoder()


@contextmanager
def _snapshot() -> Iterator[None]:
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _entry_batches() -> Iterator[list[bytes]]:
    """Entry bodies in seq order, in batches (a server-side cursor on PostgreSQL)."""
    cursor = connection.chunked_cursor()
    try:
        cursor.execute("SELECT body FROM ledger_entry ORDER BY seq")
        while rows := cursor.fetchmany(BATCH):
            yield [bytes(body) for (body,) in rows]
    finally:
        cursor.close()


def _selected(table: str) -> list[str]:
    """The columns compared: the natural key's first, then every other."""
    key = keys()[table]
    return [*key, *(name for name in columns(table) if name not in key)]


def _live_rows(table: str) -> list[tuple[Any, ...]]:
    """The table's rows as tuples of the projection's values, in `_selected` order.

    On PostgreSQL, read with psycopg's own C loaders for timestamptz and jsonb: Django's
    converters (a pure-Python timestamp loader, JSON parsed in `from_db_value`) cost more
    than the reading itself. The values are the same types.
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
    missing, rows extra (or repeated), and each column that differs."""
    names = _selected(table)
    width = len(keys()[table])
    row_of = getter(names)
    rebuilt = {key: row_of(row) for key, row in expected.items()}
    found = {row[:width]: row for row in live}
    differences = [
        f"{table} {_show(key)}: in the table {count} times"
        for key, count in _repeated(found, live, width)
    ]
    for key in sorted(found.keys() - rebuilt.keys(), key=repr):
        differences.append(f"{table} {_show(key)}: in the table but not in the ledger")
    for key, row in rebuilt.items():
        stored = found.get(key)
        if stored is None:
            differences.append(f"{table} {_show(key)}: in the ledger but missing from the table")
        elif stored != row:
            differences += [
                f"{table} {_show(key)}: {name} is {value!r} in the table, "
                f"{wanted!r} from the ledger"
                for name, value, wanted in zip(names, stored, row, strict=True)
                if value != wanted
            ]
    return differences


def _repeated(
    found: dict[tuple[Any, ...], Any], live: list[tuple[Any, ...]], width: int
) -> Iterable[tuple[tuple[Any, ...], int]]:
    """Keys that more than one live row holds (only if a unique constraint was dropped)."""
    if len(found) == len(live):
        return []
    counts: dict[tuple[Any, ...], int] = {}
    for row in live:
        counts[row[:width]] = counts.get(row[:width], 0) + 1
    return sorted(((key, n) for key, n in counts.items() if n > 1), key=repr)


def _show(key: tuple[Any, ...]) -> str:
    return "/".join(str(part) for part in key)
