"""The ledger export an auditor verifies offline (`python -m auditreg.proofs.export FILE`,
`auditreg verify FILE`): a header with the public keys, the signed checkpoints, then every
entry, as JSON Lines. Written to a file by `manage.py export_ledger` and streamed by the
portal's download, in constant memory however long the ledger."""

import json
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.utils import timezone

from auditreg.ledger.integrity import entry_rows
from auditreg.ledger.keys import load_keyring
from auditreg.ledger.models import Checkpoint
from auditreg.proofs.entry import format_time
from auditreg.proofs.export import EXPORT_FORMAT, EXPORT_VERSION

EXPORT_CHUNK = 64 * 1024


def export_ledger(out: IO[bytes]) -> int:
    """Write entries, checkpoints and public keys as JSON Lines (see
    `auditreg.proofs.export.read_export`); the number of entries written."""
    count = 0
    for record in _export_records():
        out.write(_line(record))
        count += "seq" in record
    return count


def export_lines() -> Iterator[bytes]:
    """The same export, line by line."""
    return map(_line, _export_records())


def export_chunks() -> Iterator[bytes]:
    """The same export in pieces of about 64 KiB, for a streamed download: entries are read
    through a streaming cursor, so memory stays flat however long the ledger."""
    pending: list[bytes] = []
    size = 0
    for line in export_lines():
        pending.append(line)
        size += len(line)
        if size >= EXPORT_CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def _export_records() -> Iterator[dict[str, Any]]:
    yield {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "origin": settings.AUDITREG_LEDGER_ORIGIN,
        "exported_at": format_time(timezone.now()),
        "keys": [key.encode() for key in load_keyring()],
    }
    for note in Checkpoint.objects.order_by("tree_size").values_list("note", flat=True):
        yield {"checkpoint": note}
    for seq, stored_hash, body in entry_rows("seq, hash, body"):
        yield {
            "seq": seq,
            "hash": bytes(stored_hash).hex(),
            "entry": bytes(body).decode(errors="replace"),
        }


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
