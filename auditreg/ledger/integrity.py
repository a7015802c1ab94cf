"""The whole-ledger check over the database, and the streamed reads of entry rows it and the
export make, in constant memory however long the ledger."""

import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from auditreg.ledger.keys import load_keyring
from auditreg.ledger.models import Checkpoint
from auditreg.proofs.entry import as_utc, format_time
from auditreg.proofs.export import (
    ChainVerifier,
    LedgerBroken,
    Verdict,
    claimed_checkpoint,
)

CHUNK = 10_000
PROGRESS_EVERY = 100_000
ENTRY_COLUMNS = "seq, hash, body, subtrees, kind, subject, actor, recorded_at"

Progress = Callable[[int, int], None]
Batch = list[tuple[Any, ...]]


def verify_database(progress: Progress | None = None, *, pipelined: bool = False) -> Verdict:
    """Recompute every hash, link and subtree, check seq and time order, every checkpoint's
    signature and root, and that the query columns agree with the hashed bytes.

    Raises LedgerBroken naming the first bad seq. The rows are read in one transaction, in
    binary form on PostgreSQL, and checked in this process while a helper thread fetches the
    next batch. With `pipelined`, where a child process can be forked (not in Celery's pool
    processes, which are daemons, nor beside other threads), rows are read here and checked
    in a forked child instead; that is no faster any more (docs/benchmarks.md), and is kept
    for comparison. The checks and verdicts are the same either way.
    """
    checkpoints = list(Checkpoint.objects.order_by("tree_size"))
    verifier = ChainVerifier(
        load_keyring(), [stored.note for stored in checkpoints], settings.AUDITREG_LEDGER_ORIGIN
    )
    check = _BatchCheck(verifier, _count_entries(), progress, sqlite=connection.vendor == "sqlite")
    # In a transaction PostgreSQL computes rows as they are fetched; a cursor that outlives its
    # transaction has the whole result computed and stored aside before the first row is sent.
    # The cursor is closed while the transaction is open, even when verification stops early.
    with transaction.atomic(), entry_cursor(ENTRY_COLUMNS, binary=True) as cursor:
        batches = iter(partial(cursor.fetchmany, CHUNK), [])
        if pipelined and _can_fork():
            verdict = _check_in_child_process(check, batches)
        else:
            with _read_ahead(batches) as ahead:
                for batch in ahead:
                    check(batch)
            verdict = verifier.finish()
    # After the stream, so an altered note is reported as such (its signature fails there).
    for stored in checkpoints:
        _check_checkpoint_columns(stored)
    return verdict


class _BatchCheck:
    """Feeds a batch of entry rows to the chain verifier and checks their query columns."""

    def __init__(
        self, verifier: ChainVerifier, total: int, progress: Progress | None, *, sqlite: bool
    ) -> None:
        self.verifier = verifier
        self.total = total
        self.progress = progress
        # SQLite hands back naive UTC datetimes; compare like with like.
        self.parse_time = _naive_time if sqlite else datetime.fromisoformat

    def __call__(self, batch: Batch) -> None:
        add, parse_time = self.verifier.add, self.parse_time
        for seq, stored_hash, body, stored_subtrees, kind, subject, actor, recorded_at in batch:
            document = add(seq, stored_hash, body, stored_subtrees)
            # The columns repeat fields of the body for queries; an edit to one shows here.
            if (
                document["kind"] != kind
                or document["subject"] != subject
                or document["actor"]["id"] != actor
                or parse_time(document["time"]) != recorded_at
            ):
                _explain_columns(seq, document, kind, subject, actor, recorded_at)
        done = self.verifier.size
        if (
            self.progress is not None
            and done // PROGRESS_EVERY > (done - len(batch)) // PROGRESS_EVERY
        ):
            self.progress(done, self.total)


def _can_fork() -> bool:
    # Celery's pool processes are daemons (which may not have children); forking a process
    # with other threads running is unsafe. Both verify in-process instead.
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and not multiprocessing.current_process().daemon
        and threading.active_count() == 1
    )


@contextmanager
def _read_ahead(batches: Iterator[Batch]) -> Iterator[Iterator[Batch]]:
    """The same batches, each one fetched by a helper thread while the caller checks the one
    before. A thread waiting for the database does not hold the GIL, so the server prepares
    the next rows on another core meanwhile. Leaving waits for a fetch still in flight, so the
    cursor may be closed afterwards."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-read-ahead") as reader:

        def ahead() -> Iterator[Batch]:
            pending = reader.submit(next, batches, None)
            while (batch := pending.result()) is not None:
                pending = reader.submit(next, batches, None)
                yield batch

        yield ahead()


def _check_in_child_process(check: _BatchCheck, batches: Iterable[Batch]) -> Verdict:
    """Read rows in this process and check them in a forked child, batch by batch.

    The pipe between them holds about one batch, so memory stays constant. The child never
    touches the database connection it inherits, and leaves with os._exit (multiprocessing
    does that), so the connection is not closed under this process.
    """
    context = multiprocessing.get_context("fork")
    rows_out, rows_in = context.Pipe(duplex=False)
    verdict_out, verdict_in = context.Pipe(duplex=False)
    child = context.Process(target=_checker, args=(check, rows_out, verdict_in), daemon=True)
    child.start()
    rows_out.close()
    verdict_in.close()
    try:
        for batch in batches:
            rows_in.send(batch)
        rows_in.send(None)
    except BrokenPipeError:
        pass  # the child stopped at a broken entry; its verdict says which
    finally:
        rows_in.close()
    try:
        outcome = verdict_out.recv()
    except EOFError:
        raise RuntimeError("the ledger verification process died without a verdict") from None
    finally:
        child.join()
    if isinstance(outcome, LedgerBroken):
        raise outcome
    verdict: Verdict = outcome
    return verdict


def _checker(check: _BatchCheck, rows: Connection, verdict: Connection) -> None:
    outcome: Verdict | LedgerBroken
    try:
        while (batch := rows.recv()) is not None:
            check(batch)
        outcome = check.verifier.finish()
    except LedgerBroken as exc:
        outcome = exc
    verdict.send(outcome)


def _check_checkpoint_columns(stored: Checkpoint) -> None:
    """The tree_size and root_hash columns repeat the signed note for queries."""
    claimed = claimed_checkpoint(stored.note)
    if claimed.size != stored.tree_size or claimed.root_hash != bytes(stored.root_hash):
        raise LedgerBroken(
            max(stored.tree_size - 1, 0),
            f"checkpoint row {stored.pk}: tree_size or root_hash column does not match its "
            "signed note",
        )


def _naive_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


def _explain_columns(
    seq: int, document: dict[str, Any], kind: str, subject: str, actor: str, recorded_at: Any
) -> None:
    hashed = (document["kind"], document["subject"], document["actor"]["id"])
    for name, column, value in zip(
        ("kind", "subject", "actor"), (kind, subject, actor), hashed, strict=True
    ):
        if column != value:
            raise LedgerBroken(
                seq, f"{name} column is {column!r} but the hashed entry says {value!r}"
            )
    recorded_at = as_utc(recorded_at)
    if datetime.fromisoformat(document["time"]) != recorded_at:
        raise LedgerBroken(
            seq,
            f"recorded_at column is {format_time(recorded_at)} but the hashed entry says "
            f"{document['time']}",
        )


def _count_entries() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entry")
        (count,) = cursor.fetchone()
    return int(count)


@contextmanager
def entry_cursor(columns: str, *, binary: bool = False) -> Iterator[CursorWrapper]:
    """A cursor over entry rows in seq order, for fetching in batches; closed on leaving.

    On PostgreSQL a server-side cursor. With `binary`, PostgreSQL sends values in binary form:
    bytea columns arrive as their bytes rather than as hex text, less work at both ends.
    """
    if binary and connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection.cursor(
            "ledger_entry_rows", binary=True, withhold=connection.get_autocommit()
        )
        cursor = connection.make_cursor(raw)  # Django's wrapper: its errors, as for any cursor
    else:
        cursor = connection.chunked_cursor()
    try:
        cursor.execute(f"SELECT {columns} FROM ledger_entry ORDER BY seq")  # noqa: S608
        yield cursor
    finally:
        cursor.close()


def entry_rows(columns: str) -> Iterator[tuple[Any, ...]]:
    """Entry rows in seq order, streamed (inside a transaction on PostgreSQL)."""
    with entry_cursor(columns) as cursor:
        while rows := cursor.fetchmany(CHUNK):
            yield from rows
