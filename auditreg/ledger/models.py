"""The ledger's tables. Rows are written only by auditreg.ledger.services and are
append-only: triggers created by the migrations reject UPDATE, DELETE and TRUNCATE."""

import json
from typing import Any

from django.db import models


class Entry(models.Model):
    """One ledger entry. `body` holds its canonical bytes (what is hashed and signed); the
    other columns repeat fields of the body for queries, and verification checks that they
    still agree with it."""

    seq = models.BigIntegerField(primary_key=True)
    recorded_at = models.DateTimeField()
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    actor = models.CharField(max_length=200)
    hash = models.BinaryField(max_length=32, unique=True)
    # Hashes of the complete Merkle subtrees (levels 1..t) that end at this leaf, 32 bytes
    # each, lowest level first: proofs read O(log n) of these instead of rehashing the log.
    subtrees = models.BinaryField(max_length=32 * 64)
    body = models.BinaryField()

    class Meta:
        db_table = "ledger_entry"
        verbose_name_plural = "entries"
        # Every index is paid for on each append, under the chain's lock: the subject index
        # serves "the history of this model/version"; migration 0003 adds a time index (BRIN
        # on PostgreSQL). The kind and actor indexes serve the ledger explorer's filters,
        # newest first in keyset pages: without them PostgreSQL walks the primary key
        # backwards until it has found a page of a rare kind, or sorts every entry of an actor.
        indexes = [
            models.Index(fields=["subject", "seq"], name="ledger_entry_subject"),
            models.Index(fields=["kind", "seq"], name="ledger_entry_kind"),
            models.Index(fields=["actor", "seq"], name="ledger_entry_actor"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.subject}"

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(bytes(self.body))
        return parsed

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = self.document["payload"]
        return payload

    @property
    def actor_name(self) -> str:
        name: str = self.document["actor"]["name"]
        return name

    @property
    def hash_hex(self) -> str:
        return bytes(self.hash).hex()


class Checkpoint(models.Model):
    """A signed statement of the tree's size and root (C2SP tlog-checkpoint in a signed note)."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    note = models.TextField()
    key_name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "ledger_checkpoint"
        ordering = ["tree_size"]

    def __str__(self) -> str:
        return f"checkpoint at size {self.tree_size}"

    @property
    def root_hex(self) -> str:
        return bytes(self.root_hash).hex()
