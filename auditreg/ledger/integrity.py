"""Whole-ledger checks and exports over the database, streamed in constant memory."""

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from auditreg.ledger.entry import as_utc, format_time
from auditreg.ledger.keys import load_keyring
from auditreg.ledger.models import Checkpoint
from auditreg.ledger.verify import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    ChainVerifier,
    LedgerBroken,
    Verdict,
)

CHUNK = 10_000
ENTRY_COLUMNS = "seq, hash, body, subtrees, kind, subject, actor, recorded_at"

Progress = Callable[[int, int], None]


def verify_database(progress: Progress | None = None) -> Verdict:
    """Recompute every hash, link and subtree, check seq and time order, every checkpoint's
    signature and root, and that the query columns agree with the hashed bytes.

    Raises LedgerBroken naming the first bad seq.
    """
    checkpoints = list(Checkpoint.objects.order_by("tree_size"))
    for stored in checkpoints:
        _check_checkpoint_columns(stored)
    verifier = ChainVerifier(
        load_keyring(), [stored.note for stored in checkpoints], settings.AUDITREG_LEDGER_ORIGIN
    )
    total = _count_entries()
    # SQLite hands back naive UTC datetimes; compare like with like.
    parse_time = _naive_time if connection.vendor == "sqlite" else datetime.fromisoformat
    for seq, stored_hash, body, stored_subtrees, kind, subject, actor, recorded_at in _rows(
        ENTRY_COLUMNS
    ):
        document = verifier.add(seq, stored_hash, body, stored_subtrees)
        # The columns repeat fields of the body for queries; an edit to one shows here.
        if (
            document["kind"] != kind
            or document["subject"] != subject
            or document["actor"]["id"] != actor
            or parse_time(document["time"]) != recorded_at
        ):
            _explain_columns(seq, document, kind, subject, actor, recorded_at)
        if progress is not None and seq % 100_000 == 99_999:
            progress(seq + 1, total)
    return verifier.finish()


def _check_checkpoint_columns(stored: Checkpoint) -> None:
    claimed = stored.note.rsplit("\n\n", 1)[0].split("\n")
    if len(claimed) < 3 or claimed[1] != str(stored.tree_size):
        raise LedgerBroken(
            max(stored.tree_size - 1, 0),
            f"checkpoint row {stored.pk}: tree_size column does not match its signed note",
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


def _rows(columns: str) -> Iterator[tuple[Any, ...]]:
    """Entry rows in seq order, fetched in chunks (a server-side cursor on PostgreSQL)."""
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(f"SELECT {columns} FROM ledger_entry ORDER BY seq")  # noqa: S608
        while rows := cursor.fetchmany(CHUNK):
            yield from rows
    finally:
        cursor.close()


def export_ledger(out: IO[bytes]) -> int:
    """Write entries, checkpoints and public keys as JSON Lines (see verify.read_export)."""
    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "origin": settings.AUDITREG_LEDGER_ORIGIN,
        "exported_at": format_time(timezone.now()),
        "keys": [key.encode() for key in load_keyring()],
    }
    _write_line(out, header)
    for note in Checkpoint.objects.order_by("tree_size").values_list("note", flat=True):
        _write_line(out, {"checkpoint": note})
    count = 0
    for seq, stored_hash, body in _rows("seq, hash, body"):
        _write_line(
            out,
            {
                "seq": seq,
                "hash": bytes(stored_hash).hex(),
                "entry": bytes(body).decode(errors="replace"),
            },
        )
        count += 1
    return count


def _write_line(out: IO[bytes], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
