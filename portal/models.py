"""The portal's own table: runs of the ledger's verification."""

from django.db import models


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
