"""Requesting a report and producing it.

`request_report` records who asked for which report at which checkpoint (a `report.requested`
entry) and queues the work. `produce` does it: gather the facts, render HTML → PDF/A-3b with
the evidence bundle attached, sign it (PAdES), store it, and record `report.issued` with the
PDF's SHA-256. Rendering and signing happen outside any database transaction; the issue is
decided under a row lock, so a task run twice, or run again after a worker died in the
middle, still gives exactly one issued report and one ledger entry.
"""

import hashlib
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from auditreg.accounts.models import Principal
from auditreg.accounts.services import READERS, SYSTEM, require_role
from auditreg.errors import DomainError
from auditreg.facts.record import write_fact
from auditreg.ledger import services as ledger
from auditreg.proofs.entry import format_time
from auditreg.proofs.evidence import ATTACHMENT_NAME, encode
from reports import content, evidence, render, signing
from reports.models import ReportRequest, ReportStatus

logger = logging.getLogger(__name__)


def storage() -> Any:
    """Where issued PDFs are kept: local files by default, S3-compatible storage when
    configured (see settings.STORAGES["reports"])."""
    return storages["reports"]


def request_report(
    *,
    kind: str,
    subject: str,
    by: Principal,
    use_case: str | None = None,
    period: tuple[datetime, datetime] | None = None,
    queue: bool = True,
) -> ReportRequest:
    """Record the request and queue its production for a worker (after the transaction
    commits), unless `queue` is False and the caller runs `produce` itself."""
    from reports.tasks import issue_report

    require_role(by, READERS, "request reports")
    content.check_request(kind, subject=subject, use_case=use_case, period=period)
    checkpoint, _ = ledger.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
    with transaction.atomic(durable=True):
        request = ReportRequest(
            kind=kind,
            subject=subject,
            use_case=use_case or "",
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            requested_by=by.actor_id,
            requested_at=timezone.now(),
            requested_checkpoint=checkpoint.tree_size,
        )
        payload: dict[str, Any] = {
            "kind": kind,
            "subject": subject,
            "use_case": use_case,
            "period": [format_time(moment) for moment in period] if period else None,
            "checkpoint": {"tree_size": checkpoint.tree_size, "root": checkpoint.root_hex},
        }
        entry = write_fact(
            kind="report.requested", subject=request.ledger_subject, payload=payload, by=by
        )
        request.requested_seq = entry.seq
        request.save()
        if queue:
            transaction.on_commit(lambda: issue_report.delay(str(request.id)))
    return request


def produce(request_id: str) -> ReportRequest:
    """Produce the report; safe to run any number of times, concurrently or after a crash."""
    request = _claim(request_id)
    if request.status in (ReportStatus.DONE, ReportStatus.FAILED):
        return request
    try:
        pdf, checkpoint_size = _render_and_sign(request)
    except DomainError as exc:  # the facts cannot make this report: no retry helps
        mark_failed(str(request.id), str(exc))
        raise
    digest = "sha256:" + hashlib.sha256(pdf).hexdigest()
    name = storage().save(f"{request.id}-{digest[7:23]}.pdf", ContentFile(pdf))
    return _issue(request, name, digest, checkpoint_size)


def _claim(request_id: str) -> ReportRequest:
    """Count this attempt, or give up on a request that has had its share: a report whose
    production kills or stalls its worker every time would otherwise be delivered again
    forever (a poison message), blocking the queue behind it."""
    with transaction.atomic():
        request = ReportRequest.objects.select_for_update().get(id=request_id)
        if request.status == ReportStatus.DONE:
            return request
        if request.attempts >= settings.AUDITREG_REPORT_MAX_ATTEMPTS:
            request.status = ReportStatus.FAILED
            request.reason = (
                f"gave up after {request.attempts} attempts that did not finish "
                "(the worker was lost or ran out of time each time)"
            )
            request.save(update_fields=["status", "reason", "updated_at"])
            logger.error("report %s: %s", request.id, request.reason)
            return request
        request.status = ReportStatus.RENDERING
        request.attempts += 1
        request.reason = ""
        request.save(update_fields=["status", "attempts", "reason", "updated_at"])
    return request


def _render_and_sign(request: ReportRequest) -> tuple[bytes, int]:
    period = (
        (request.period_start, request.period_end)
        if request.period_start and request.period_end
        else None
    )
    facts = content.gather(
        request.kind, subject=request.subject, use_case=request.use_case or None, period=period
    )
    cited = [seq for seqs in facts.sections.values() for seq in seqs]
    checkpoint = evidence.checkpoint_covering([*cited, request.requested_seq])
    meta = {
        "id": str(request.id),
        "kind": request.kind,
        "subject": request.subject,
        "use_case": request.use_case or None,
        "requested_by": request.requested_by,
        "requested_at": format_time(request.requested_at),
    }
    bundle = evidence.build_bundle(report=meta, sections=facts.sections, checkpoint=checkpoint)
    hashes = {item["seq"]: item["hash"] for item in bundle["entries"]}
    html = render.render_html(
        facts,
        checkpoint={
            "tree_size": checkpoint.tree_size,
            "root": checkpoint.root_hex,
            "key_name": checkpoint.key_name,
            "note": checkpoint.note,
        },
        evidence={
            section: [{"seq": seq, "hash": hashes[seq]} for seq in sorted(set(seqs))]
            for section, seqs in facts.sections.items()
        },
        report_id=str(request.id),
        requested_by=request.requested_by,
        requested_at=request.requested_at,
    )
    pdf = render.html_to_pdf(html, attachment=encode(bundle), attachment_name=ATTACHMENT_NAME)
    _set_status(request, ReportStatus.SIGNING)
    signed = signing.sign_pdf(pdf, reason=f"auditreg {request.kind} report {request.id}")
    return signed, checkpoint.tree_size


def _issue(request: ReportRequest, name: str, digest: str, checkpoint_size: int) -> ReportRequest:
    with transaction.atomic(durable=True):
        locked = ReportRequest.objects.select_for_update().get(id=request.id)
        if locked.status == ReportStatus.DONE:  # another run issued it first
            transaction.on_commit(lambda: storage().delete(name))
            return locked
        entry = write_fact(
            kind="report.issued",
            subject=locked.ledger_subject,
            payload={
                "kind": locked.kind,
                "subject": locked.subject,
                "use_case": locked.use_case or None,
                "pdf_sha256": digest,
                "file": name,
                "checkpoint_tree_size": checkpoint_size,
                "requested_seq": locked.requested_seq,
            },
            by=SYSTEM,
        )
        locked.status = ReportStatus.DONE
        locked.file_name, locked.pdf_sha256 = name, digest
        locked.checkpoint_size, locked.issued_seq = checkpoint_size, entry.seq
        locked.save()
    logger.info("issued %s as %s (%s)", locked, name, digest)
    return locked


def _set_status(request: ReportRequest, status: ReportStatus) -> None:
    ReportRequest.objects.filter(id=request.id).exclude(status=ReportStatus.DONE).update(
        status=status, updated_at=timezone.now()
    )


def mark_failed(request_id: str, reason: str) -> None:
    """Record why a request could not be produced (unless another run issued it)."""
    ReportRequest.objects.filter(id=request_id).exclude(status=ReportStatus.DONE).update(
        status=ReportStatus.FAILED, reason=reason, updated_at=timezone.now()
    )
