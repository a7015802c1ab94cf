"""The ledger's write path and its proofs.

`append` is the one way anything is written to the ledger. Call it inside the transaction
that writes the change it records, as late as possible: on PostgreSQL it takes the ledger's
advisory lock, which is held until that transaction ends.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from auditreg.errors import DomainError
from auditreg.ledger.keys import load_signer
from auditreg.ledger.models import Checkpoint, Entry
from auditreg.proofs import merkle, subtrees
from auditreg.proofs.entry import Actor, as_utc, draft
from auditreg.proofs.export import GENESIS_PREV
from auditreg.proofs.note import Checkpoint as CheckpointNote
from auditreg.proofs.note import sign_checkpoint

# pg_advisory_xact_lock key shared by every writer of the chain ("audi" in ASCII).
APPEND_LOCK_KEY = 0x61756469
HASH_SIZE = 32
ENTRY_FIELDS = ["seq", "recorded_at", "kind", "subject", "actor", "hash", "subtrees", "body"]
INSERT_ENTRY = (
    "INSERT INTO ledger_entry (seq, recorded_at, kind, subject, actor, hash, subtrees, body) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
READ_TAIL = "SELECT seq, hash, recorded_at FROM ledger_entry ORDER BY seq DESC LIMIT 1"


def append(*, kind: str, subject: str, payload: dict[str, Any], actor: Actor) -> Entry:
    """Append one entry to the ledger, inside the caller's transaction.

    Concurrent writers in any number of processes produce one gapless chain: PostgreSQL
    serializes them with an advisory transaction lock, SQLite with immediate transactions.
    The unique seq and hash columns are the second line of defence. If the caller's
    transaction rolls back, the entry was never there and its seq is reused.

    Under the lock there are two statements (read the tail, insert) and a few hashes: the
    payload is validated and canonicalized before the lock is taken.
    """
    fields = draft(kind=kind, subject=subject, actor=actor, payload=payload)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        last = _lock_and_read_tail(cursor)
        if last is None:
            seq, prev, recorded_at = 0, GENESIS_PREV, timezone.now()
            left_siblings: list[bytes] = []
        else:
            last_seq, last_hash, last_time = last
            seq, prev = last_seq + 1, bytes(last_hash).hex()
            # The recorded time never goes backwards, even if this host's clock does.
            recorded_at = max(timezone.now(), as_utc(last_time))
            left_siblings = _left_siblings(cursor, seq, bytes(last_hash))
        body = fields.seal(seq=seq, time=recorded_at, prev=prev)
        leaf = merkle.leaf_hash(body)
        values: list[Any] = [
            seq,
            recorded_at,
            kind,
            subject,
            actor.id,
            leaf,
            _completed(leaf, left_siblings),
            body,
        ]
        cursor.execute(INSERT_ENTRY, values)
    return Entry.from_db(connection.alias, ENTRY_FIELDS, values)


def lock_subject(subject: str) -> None:
    """Hold a lock on one subject until the current transaction ends, so that a write can
    lock, re-read, check and then append: two concurrent writers of the same subject take
    turns, and the second sees the first's fact. PostgreSQL: an advisory transaction lock
    keyed by a hash of the subject (a collision only makes two subjects take turns); SQLite:
    the transaction's BEGIN IMMEDIATE already holds the database's write lock."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(subject.encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def lock_ledger() -> None:
    """Hold the append lock until the current transaction ends (PostgreSQL; on SQLite the
    transaction's BEGIN IMMEDIATE already holds the database's write lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_KEY])


def _lock_and_read_tail(cursor: CursorWrapper) -> tuple[int, bytes, datetime | str] | None:
    if connection.vendor == "postgresql":
        # One round trip: the tail is read by a second statement, with a snapshot taken
        # after the lock is granted, so it always sees the latest committed entry. (Two
        # statements in one execute need client-side binding, Django's default for psycopg.)
        cursor.execute(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY}); {READ_TAIL}")
        cursor.nextset()
    else:
        # SQLite: settings open every transaction with BEGIN IMMEDIATE, which already holds
        # the database's single write lock.
        cursor.execute(READ_TAIL)
    row = cursor.fetchone()
    return None if row is None else (row[0], row[1], row[2])


def _left_siblings(cursor: CursorWrapper, seq: int, previous_leaf: bytes) -> list[bytes]:
    """The left halves of the subtrees that the leaf at `seq` completes, lowest level first.

    The level-L left sibling (L >= 1) is a complete subtree ending at leaf seq - 2^L, stored
    in that row at offset (L-1)*32.
    """
    levels = subtrees.completed_levels(seq)
    siblings = [previous_leaf]
    if levels > 1:
        rows_needed = [seq - 2**level for level in range(1, levels)]
        placeholders = ", ".join(["%s"] * len(rows_needed))
        cursor.execute(
            f"SELECT seq, subtrees FROM ledger_entry WHERE seq IN ({placeholders})",  # noqa: S608
            rows_needed,
        )
        rows = {row_seq: bytes(stored) for row_seq, stored in cursor.fetchall()}
        for level in range(1, levels):
            stored = rows[seq - 2**level]
            siblings.append(stored[(level - 1) * HASH_SIZE : level * HASH_SIZE])
    return siblings[:levels]


def _completed(leaf: bytes, left_siblings: list[bytes]) -> bytes:
    completed = []
    node = leaf
    for left in left_siblings:
        node = merkle.node_hash(left, node)
        completed.append(node)
    return b"".join(completed)


# --- Reading the tree ------------------------------------------------------------------------


def tree_size() -> int:
    last = Entry.objects.order_by("-seq").values_list("seq", flat=True).first()
    return 0 if last is None else last + 1


def root_at(size: int) -> bytes:
    """The Merkle tree head for the first `size` entries, from O(log n) stored subtrees."""
    if size == 0:
        return merkle.root_hash([])
    _check_size(size)
    return _range_hashes([(0, size)])[0]


def inclusion_proof(index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of entry `index` in the tree of `size` entries."""
    _check_size(size)
    try:
        ranges = subtrees.inclusion_ranges(index, size)
    except ValueError as exc:
        raise DomainError(
            f"no inclusion proof for entry {index} in a tree of {size}: {exc}"
        ) from None
    return _range_hashes(ranges)


def inclusion_proofs(indices: Iterable[int], size: int) -> dict[int, list[bytes]]:
    """Inclusion proofs of many entries in the tree of `size` entries, in one query."""
    _check_size(size)
    wanted = sorted(set(indices))
    try:
        ranges = {index: subtrees.inclusion_ranges(index, size) for index in wanted}
    except ValueError as exc:
        raise DomainError(f"no inclusion proof in a tree of {size}: {exc}") from None
    hashes = iter(_range_hashes([piece for index in wanted for piece in ranges[index]]))
    return {index: [next(hashes) for _ in ranges[index]] for index in wanted}


def consistency_proof(size1: int, size2: int) -> list[bytes]:
    """RFC 9162 consistency proof between the trees of `size1` and `size2` entries."""
    _check_size(size2)
    try:
        ranges = subtrees.consistency_ranges(size1, size2)
    except ValueError as exc:
        raise DomainError(f"no consistency proof from size {size1} to {size2}: {exc}") from None
    return _range_hashes(ranges)


def _check_size(size: int) -> None:
    current = tree_size()
    if not 0 < size <= current:
        raise DomainError(f"tree size {size} is not between 1 and the ledger's size {current}")


def _range_hashes(ranges: list[tuple[int, int]]) -> list[bytes]:
    """MTH of each leaf range, from the stored complete subtrees, in one query."""
    pieces = [subtrees.aligned_subtrees(start, end) for start, end in ranges]
    rows_needed = {
        subtrees.completing_leaf(level, index) for piece in pieces for level, index in piece
    }
    rows = {
        seq: (bytes(leaf), bytes(stored))
        for seq, leaf, stored in Entry.objects.filter(seq__in=rows_needed).values_list(
            "seq", "hash", "subtrees"
        )
    }

    def subtree(level: int, index: int) -> bytes:
        leaf, stored = rows[subtrees.completing_leaf(level, index)]
        return leaf if level == 0 else stored[(level - 1) * HASH_SIZE : level * HASH_SIZE]

    return [subtrees.fold_right([subtree(*node) for node in piece]) for piece in pieces]


# --- Checkpoints -------------------------------------------------------------------------------


def checkpoint(*, origin: str) -> tuple[Checkpoint, bool]:
    """Sign and store a checkpoint of the current tree. Returns (checkpoint, created).

    Idempotent: when the tree has not grown since the latest checkpoint, that one is
    returned. Signing is fast (Ed25519) and needs no lock: entries below the size are final.
    """
    signer = load_signer()
    size = tree_size()
    latest = Checkpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size == size:
        return latest, False
    root = root_at(size)
    note = sign_checkpoint(CheckpointNote(origin=origin, size=size, root_hash=root), signer)
    try:
        with transaction.atomic():
            created = Checkpoint.objects.create(
                tree_size=size,
                root_hash=root,
                note=note,
                key_name=signer.name,
                created_at=timezone.now(),
            )
    except IntegrityError:
        # Another process checkpointed the same size first; both signed the same root.
        return Checkpoint.objects.get(tree_size=size), False
    return created, True


def latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size").first()
