"""The ledger's tables. Rows of the chain (entries, checkpoints) are written only by
auditreg.ledger.services and are append-only: triggers created by the migrations reject
UPDATE, DELETE and TRUNCATE. Verification runs record checks of the chain; they are not part
of it."""

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


class VerificationRun(models.Model):
    """One check of the whole ledger (`verify_database`) and what it found.

    Not a ledger-backed fact: a run changes nothing in the history it checks, so any reader
    may start one. At most one queued run is `running` at a time (a partial unique index,
    so two clicks racing each other cannot both start one); a command run is an operator at
    the console waiting for the answer, and is not held to it.
    """

    RUNNING = "running"
    INTACT = "intact"
    BROKEN = "broken"
    ERROR = "error"
    STATUSES = [(s, s) for s in (RUNNING, INTACT, BROKEN, ERROR)]
    SCHEDULE = "schedule"
    COMMAND = "command"

    # A person's actor id ("user:olga"), or "schedule" or "command".
    started_by = models.CharField(max_length=200)
    started_by_name = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=RUNNING)
    entries_verified = models.BigIntegerField(null=True, blank=True)
    checkpoints_checked = models.IntegerField(null=True, blank=True)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    summary = models.TextField(blank=True)

    class Meta:
        # The table it had in the portal, where it was first created; only the app moved.
        db_table = "portal_verificationrun"
        indexes = [models.Index(fields=["-started_at"], name="verification_run_started")]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="running") & ~models.Q(started_by="command"),
                name="one_queued_verification_running",
            )
        ]

    def __str__(self) -> str:
        return f"verification {self.pk} started {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def starter(self) -> str:
        """Who or what started it, in words."""
        if self.started_by == self.SCHEDULE:
            return "the daily schedule"
        if self.started_by == self.COMMAND:
            return "the verify_ledger command"
        return self.started_by_name or self.started_by

    @property
    def in_words(self) -> str:
        """The result as a reader says it."""
        if self.status == self.RUNNING:
            return "Still running."
        if self.status == self.INTACT:
            return (
                f"Intact: all {self.entries_verified} entries and {self.checkpoints_checked} "
                "signed checkpoints verified; no entry was altered, removed or reordered."
            )
        if self.status == self.BROKEN:
            return (
                f"Broken: the ledger is not intact from entry {self.first_bad_seq} on. "
                f"{self.reason}"
            )
        return f"Could not be completed: {self.reason}"
