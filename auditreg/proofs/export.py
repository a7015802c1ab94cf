"""Verify a ledger: every entry's hash, every link, seq and time order, every checkpoint.

Pure code that needs only the Python standard library and `cryptography`, so a third
party can check an export without Django, a database, or trust in our server:

    python -m auditreg.proofs.export ledger-export.jsonl [--key VKEY]

`manage.py verify_ledger` runs the same `ChainVerifier` over the database, adding the
checks that the database's query columns still agree with the hashed bytes.
"""

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from auditreg.proofs import merkle
from auditreg.proofs.note import Checkpoint, NoteError, VerifierKey, open_note
from auditreg.proofs.subtrees import Frontier

EXPORT_FORMAT = "auditreg-ledger-export"
EXPORT_VERSION = 1
GENESIS_PREV = "0" * 64
ENTRY_FIELDS = frozenset({"actor", "kind", "payload", "prev", "seq", "subject", "time"})
_ACTOR_FIELDS = frozenset({"id", "name"})


class LedgerBroken(Exception):
    """The ledger is not intact. `seq` is the first entry position where that shows."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason

    def __reduce__(self) -> tuple[type["LedgerBroken"], tuple[int, str]]:
        # Rebuilt from (seq, reason) when it crosses a process boundary.
        return (LedgerBroken, (self.seq, self.reason))


@dataclass
class Verdict:
    entries: int
    root: bytes
    checkpoints: list[Checkpoint]
    keys: list[VerifierKey] = field(default_factory=list)

    def summary(self) -> str:
        text = f"ledger intact: {self.entries} entries, root {self.root.hex()}"
        if self.checkpoints:
            latest = self.checkpoints[-1]
            signers = ", ".join(f"{key.name}+{key.key_hash:08x}" for key in self.keys)
            text += (
                f"; {len(self.checkpoints)} signed checkpoints verified, latest at tree size "
                f"{latest.size} ({latest.origin}), signed by {signers}"
            )
        else:
            text += "; no signed checkpoint yet"
        return text


@dataclass
class _PendingCheckpoint:
    size: int
    signed: str


class ChainVerifier:
    """Feed entries in seq order with `add`, then call `finish`.

    Memory stays O(log n) however long the ledger: the Merkle tree is kept as its frontier.
    Checkpoints are given up front and checked when the stream reaches their tree size.
    """

    def __init__(
        self, keyring: Iterable[VerifierKey], signed_checkpoints: Iterable[str], origin: str | None
    ) -> None:
        self.keyring = list(keyring)
        self.origin = origin
        self.frontier = Frontier()
        self.prev_hash = GENESIS_PREV
        self.prev_time = ""
        self.verified: list[Checkpoint] = []
        self.signers: dict[tuple[str, int], VerifierKey] = {}
        self.pending = sorted(
            (
                _PendingCheckpoint(claimed_checkpoint(signed).size, signed)
                for signed in signed_checkpoints
            ),
            key=lambda pending: pending.size,
            reverse=True,  # popped from the end, smallest size first
        )
        self._check_due_checkpoints()

    @property
    def size(self) -> int:
        """Entries verified so far."""
        return self.frontier.size

    def add(
        self, seq: int, stored_hash: bytes, body: bytes, stored_subtrees: bytes | None = None
    ) -> dict[str, Any]:
        """Check one stored entry; return its parsed fields. Raises LedgerBroken.

        `stored_subtrees`, when given, is the database's copy of the complete subtree hashes
        this leaf completes (what proofs are served from); it must match the recomputation.
        """
        position = self.size
        if seq != position:
            if seq > position:
                raise LedgerBroken(
                    position, f"entry is missing (the next stored entry is seq {seq})"
                )
            raise LedgerBroken(_seq_in(body, seq), f"entry is stored out of place, as seq {seq}")
        document = _parse(position, body)
        if document["seq"] != position:
            raise LedgerBroken(
                position, f"entry bytes say seq {document['seq']} (entries reordered or replaced)"
            )
        leaf = merkle.leaf_hash(body)
        if stored_hash != leaf:
            raise LedgerBroken(
                position, f"hash mismatch: stored {stored_hash.hex()}, computed {leaf.hex()}"
            )
        if document["prev"] != self.prev_hash:
            raise LedgerBroken(
                position,
                f"broken link: prev is {document['prev']} but seq {position - 1} hashes to "
                f"{self.prev_hash}",
            )
        if document["time"] < self.prev_time:
            raise LedgerBroken(
                position,
                f"time goes backwards: {document['time']} is before {self.prev_time} "
                f"of seq {position - 1}",
            )
        completed = b"".join(self.frontier.append(leaf))
        if stored_subtrees is not None and stored_subtrees != completed:
            raise LedgerBroken(
                position, "stored subtree hashes (used to serve proofs) do not match the entries"
            )
        self.prev_hash = leaf.hex()
        self.prev_time = document["time"]
        if self.pending and self.pending[-1].size <= position + 1:
            self._check_due_checkpoints()
        return document

    def finish(self) -> Verdict:
        if self.pending:
            missing = self.pending[-1]
            raise LedgerBroken(
                self.size,
                f"entries missing after a checkpoint: checkpoint at tree size {missing.size} "
                f"but the ledger ends at {self.size} entries",
            )
        keys = sorted(self.signers.values(), key=lambda key: (key.name, key.key_hash))
        return Verdict(
            entries=self.size, root=self.frontier.root(), checkpoints=self.verified, keys=keys
        )

    def _check_due_checkpoints(self) -> None:
        while self.pending and self.pending[-1].size <= self.size:
            pending = self.pending.pop()
            self._check_checkpoint(pending)

    def _check_checkpoint(self, pending: _PendingCheckpoint) -> None:
        where = f"checkpoint at tree size {pending.size}"
        after = max(pending.size - 1, 0)
        try:
            text, keys = open_note(pending.signed, self.keyring)
            checkpoint = Checkpoint.parse(text)
        except NoteError as exc:
            raise LedgerBroken(
                after, f"{where}: signature or format does not verify: {exc}"
            ) from None
        if self.origin is not None and checkpoint.origin != self.origin:
            raise LedgerBroken(
                after, f"{where}: origin {checkpoint.origin!r} is not this log's {self.origin!r}"
            )
        root = self.frontier.root()
        if checkpoint.root_hash != root:
            raise LedgerBroken(
                after,
                f"{where}: root mismatch: signed {checkpoint.root_hash.hex()}, entries give "
                f"{root.hex()} (an entry at or before seq {after} was rewritten)",
            )
        self.verified.append(checkpoint)
        for key in keys:
            self.signers[(key.name, key.key_hash)] = key


def claimed_checkpoint(signed: str) -> Checkpoint:
    """What a signed checkpoint claims, read without checking its signature (for ordering,
    and for comparing with copies kept elsewhere). Raises LedgerBroken if malformed."""
    text = signed.rsplit("\n\n", 1)[0] + "\n"
    try:
        return Checkpoint.parse(text)
    except NoteError as exc:
        raise LedgerBroken(0, f"a stored checkpoint is malformed: {exc}") from None


def _seq_in(body: bytes, fallback: int) -> int:
    try:
        seq = json.loads(body)["seq"]
    except (ValueError, KeyError, TypeError):
        return fallback
    return seq if isinstance(seq, int) else fallback


_decode = json.JSONDecoder().raw_decode
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


def _parse(seq: int, body: bytes) -> dict[str, Any]:
    """An entry's fields from its bytes: one JSON object with exactly the entry's members.

    Only the types later checks rely on are checked here (seq, time, payload, actor); prev,
    kind and subject are compared with strings, which nothing else equals.
    """
    try:
        text = body.decode()
        document, end = _decode(text)
        if end != len(text) or type(document) is not dict or document.keys() != ENTRY_FIELDS:
            raise ValueError("not one object with the entry's members")
        actor = document["actor"]
        if (
            type(document["seq"]) is int
            and type(document["payload"]) is dict
            and type(actor) is dict
            and actor.keys() == _ACTOR_FIELDS
            and _TIME.fullmatch(document["time"])
        ):
            return document
    except (ValueError, TypeError):
        pass
    raise LedgerBroken(seq, "entry bytes are not a well-formed ledger entry")


# --- Export files -------------------------------------------------------------------------


def read_export(
    stream: IO[bytes],
) -> tuple[dict[str, Any], list[str], Iterator[tuple[int, bytes, bytes]]]:
    """Split an export (JSON Lines) into its header, signed checkpoints and an entry iterator.

    Line 1 is the header; then one {"checkpoint": note} line per checkpoint; then one
    {"seq", "hash", "entry"} line per entry, where "entry" is the canonical JSON text whose
    UTF-8 bytes were hashed.
    """
    header = _json_line(stream.readline(), "header")
    if header.get("format") != EXPORT_FORMAT or header.get("version") != EXPORT_VERSION:
        raise ValueError(f"not an {EXPORT_FORMAT} version {EXPORT_VERSION} file")
    checkpoints: list[str] = []
    first_entry: dict[str, Any] | None = None
    for line in stream:
        record = _json_line(line, "record")
        if "checkpoint" not in record:
            first_entry = record
            break
        checkpoints.append(str(record["checkpoint"]))

    def entries() -> Iterator[tuple[int, bytes, bytes]]:
        if first_entry is None:
            return
        yield _entry_record(first_entry)
        for line in stream:
            yield _entry_record(_json_line(line, "entry"))

    return header, checkpoints, entries()


def _json_line(line: bytes, what: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError:
        raise ValueError(f"export {what} line is not valid JSON") from None
    if not isinstance(record, dict):
        raise ValueError(f"export {what} line is not a JSON object")
    return record


def _entry_record(record: dict[str, Any]) -> tuple[int, bytes, bytes]:
    try:
        seq, stored_hash, text = record["seq"], bytes.fromhex(record["hash"]), record["entry"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("export entry line lacks seq, hash or entry") from None
    if not isinstance(seq, int) or not isinstance(text, str):
        raise ValueError("export entry line has a field of the wrong type")
    return seq, stored_hash, text.encode("utf-8")


def verify_export(stream: IO[bytes], trusted_keys: list[VerifierKey] | None = None) -> Verdict:
    """Verify an export file. With no trusted keys given, the file's own keys are used."""
    header, checkpoints, entries = read_export(stream)
    keyring = trusted_keys or [VerifierKey.parse(text) for text in header.get("keys", [])]
    verifier = ChainVerifier(keyring, checkpoints, origin=header.get("origin"))
    for seq, stored_hash, body in entries:
        verifier.add(seq, stored_hash, body)
    return verifier.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m auditreg.proofs.export",
        description="Verify an auditreg ledger export offline (entries, hash chain, Merkle "
        "tree and signed checkpoints).",
    )
    parser.add_argument("file", help="export written by `manage.py export_ledger`")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="VKEY",
        help="trusted verifier key (name+hash+base64); repeat for retired keys. "
        "Without it the keys inside the file are used: compare them with the published key.",
    )
    args = parser.parse_args(argv)
    try:
        trusted = [VerifierKey.parse(text) for text in args.key]
        with open(args.file, "rb") as stream:
            verdict = verify_export(stream, trusted or None)
    except LedgerBroken as exc:
        print(f"ledger NOT intact: {exc}")
        return 1
    except (OSError, ValueError) as exc:
        print(f"cannot verify {args.file}: {exc}")
        return 2
    print(verdict.summary())
    if not args.key:
        for key in verdict.keys:
            print(f"trusted the file's own key {key.encode()}: compare it with the published key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
