"""Report requests and their progress.

Who asked for which report, and the report issued, are ledger facts (`report.requested`,
`report.issued`); this table follows the work in between (queued, rendering, signing, done,
failed with the reason) so that people can watch it.
"""

import uuid

from django.db import models


class ReportKind(models.TextChoices):
    MODEL_RISK = "model-risk", "Model risk report (SR 11-7 / SR 26-2)"
    CLINICAL = "clinical", "Clinical validation report"
    AUDIT_EXTRACT = "audit-extract", "Ledger audit extract"


class ReportStatus(models.TextChoices):
    QUEUED = "queued"
    RENDERING = "rendering"
    SIGNING = "signing"
    DONE = "done"
    FAILED = "failed"


class ReportRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    subject = models.CharField(max_length=500)
    use_case = models.CharField(max_length=63, blank=True)
    period_start = models.DateTimeField(null=True)
    period_end = models.DateTimeField(null=True)
    requested_by = models.CharField(max_length=200)
    requested_at = models.DateTimeField()
    requested_seq = models.BigIntegerField(help_text="the report.requested entry")
    requested_checkpoint = models.BigIntegerField(help_text="tree size signed at the request")
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    reason = models.TextField(blank=True, help_text="why it failed")
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    file_name = models.CharField(max_length=300, blank=True, help_text="in report storage")
    pdf_sha256 = models.CharField(max_length=71, blank=True)
    checkpoint_size = models.BigIntegerField(null=True, help_text="the checkpoint it rests on")
    issued_seq = models.BigIntegerField(null=True, help_text="the report.issued entry")

    class Meta:
        db_table = "reports_request"
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.kind} report on {self.subject} ({self.status})"

    @property
    def ledger_subject(self) -> str:
        return f"report:{self.id}"
