"""The reports pages: request a signed report, watch a worker produce it, download it, and
verify a signed PDF someone hands over.

Who may request a report is the service's rule (`reports.services.request_report`): any
registry role, an auditor included, since the request only records who asked for what.
"""

import hashlib
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.ledger.keys import load_keyring
from auditreg.proofs.pdf import Verdict, quiet_pyhanko, verify_pdf
from auditreg.registry.models import ModelVersion, UseCase
from portal.access import reader_required
from portal.middleware import leaves_session_idle
from portal.pages import render_page
from reports import services
from reports.certs import trust_roots
from reports.management.commands.verify_report import DatabaseLedger
from reports.models import ReportKind, ReportRequest, ReportStatus

PAGE_SIZE = 25
# A signed report is a few hundred kilobytes; anything this large is not one of ours.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# The whole request: the one file, its multipart headers and the form's CSRF token.
MAX_VERIFY_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024
# Verifications running at once in this process; more are told to come back (503). Each
# holds its upload and what pyHanko decodes of it (auditreg.proofs.pdf.DECODE_LIMITS).
CONCURRENT_VERIFICATIONS = 2
VERIFYING = threading.BoundedSemaphore(CONCURRENT_VERIFICATIONS)
RETRY_AFTER_SECONDS = 10
BUSY = "Other reports are being verified right now. Try again in a few seconds."

STATUS_WORDS = {
    ReportStatus.QUEUED: "Queued: waiting for a worker to start on it.",
    ReportStatus.RENDERING: "Rendering: gathering the facts and laying out the PDF.",
    ReportStatus.SIGNING: "Signing: applying the organisation's signature to the PDF.",
    ReportStatus.DONE: "Done: signed, stored and recorded in the ledger.",
    ReportStatus.FAILED: "Failed: the report could not be produced.",
}
FINISHED = {ReportStatus.DONE, ReportStatus.FAILED}


# --- The list ----------------------------------------------------------------------------------


@reader_required
@require_GET
def report_list(request: HttpRequest, me: Principal) -> HttpResponse:
    status = _choice(request.GET.get("status", ""), ReportStatus.values)
    kind = _choice(request.GET.get("kind", ""), ReportKind.values)
    found: QuerySet[ReportRequest] = ReportRequest.objects.order_by("-requested_at", "-id")
    if status:
        found = found.filter(status=status)
    if kind:
        found = found.filter(kind=kind)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    names = _printed_names(report.requested_by for report in page.object_list)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "rows": [_row(report, names) for report in page.object_list],
        "status": status,
        "kind": kind,
        "statuses": ReportStatus.values,
        "kinds": ReportKind.choices,
        "page_params": params.urlencode(),
    }
    return render_page(request, me, "portal/reports.html", "reports", context)


def _choice(value: str, allowed: list[str]) -> str:
    """A filter value, or none when it names no choice (a hand-edited address)."""
    return value if value in allowed else ""


def _printed_names(actor_ids: Any) -> dict[str, str]:
    ids = set(actor_ids)
    return dict(Principal.objects.filter(actor_id__in=ids).values_list("actor_id", "printed_name"))


def _row(report: ReportRequest, names: dict[str, str]) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "kind": report.get_kind_display(),
        "subject": report.subject,
        "use_case": report.use_case,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "requested_by": names.get(report.requested_by, report.requested_by),
        "requested_by_id": report.requested_by,
        "requested_at": report.requested_at,
        "status": report.status,
        "reason": report.reason,
        "done": report.status == ReportStatus.DONE,
    }


# --- Requesting one ----------------------------------------------------------------------------


# The browser's own date and time picker; it sends and expects "2026-03-31T17:00".
LOCAL_MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class RequestForm(forms.Form):
    """The shape of a request; whether the facts can make the report is the service's call."""

    kind = forms.ChoiceField(label="Kind of report", choices=ReportKind.choices)
    subject = forms.CharField(
        label="Subject",
        max_length=500,
        help_text="A model version, such as model:credit-pd/3. For a ledger audit extract, "
        "any ledger subject.",
        widget=forms.TextInput(attrs={"list": "report-subjects", "autocomplete": "off"}),
    )
    use_case = forms.CharField(
        label="Use case (clinical validation reports)",
        max_length=63,
        required=False,
        help_text="The slug of the use case the version is validated for.",
        widget=forms.TextInput(attrs={"list": "report-use-cases", "autocomplete": "off"}),
    )
    period_start = forms.DateTimeField(
        label="Period from (ledger audit extracts)",
        required=False,
        help_text="In your time zone.",
        widget=LOCAL_MOMENT,
    )
    period_end = forms.DateTimeField(
        label="Period until (ledger audit extracts)",
        required=False,
        help_text="In your time zone; the entries recorded before this moment.",
        widget=LOCAL_MOMENT,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("period_start")) != bool(cleaned.get("period_end")):
            raise forms.ValidationError("Give both ends of the period, or neither.")
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        """What the chosen kind uses: a use case only for a clinical report, a period only
        for an audit extract, so the ledger entry records nothing the report ignores."""
        data = self.cleaned_data
        kind, start, end = data["kind"], data.get("period_start"), data.get("period_end")
        use_case = (data.get("use_case") or "").strip()
        return {
            "kind": kind,
            "subject": data["subject"].strip(),
            "use_case": (use_case or None) if kind == ReportKind.CLINICAL else None,
            "period": (start, end) if start and end and kind == ReportKind.AUDIT_EXTRACT else None,
        }


@reader_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest, me: Principal) -> HttpResponse:
    refusal = ""
    if request.method == "POST":
        form = RequestForm(request.POST)
        if form.is_valid():
            try:
                report = services.request_report(**form.service_arguments(), by=me)
            except DomainError as error:
                refusal = str(error)
            else:
                return redirect("portal:report", report_id=report.id)
    else:
        initial = {name: request.GET.get(name, "") for name in ("kind", "subject", "use_case")}
        form = RequestForm(initial={key: value for key, value in initial.items() if value})
    context = {
        "form": form,
        "refusal": refusal,
        "subjects": list(
            ModelVersion.objects.order_by("-registered_at").values_list("subject", flat=True)[:200]
        ),
        "use_cases": list(UseCase.objects.order_by("slug").values_list("slug", flat=True)[:200]),
    }
    status = 200 if request.method == "GET" or not (refusal or form.errors) else 422
    response = render_page(request, me, "portal/report_new.html", "reports", context)
    response.status_code = status
    return response


# --- Watching and downloading one --------------------------------------------------------------


def _report(report_id: uuid.UUID) -> ReportRequest:
    return get_object_or_404(ReportRequest, id=report_id)


@reader_required
@require_GET
def report_detail(request: HttpRequest, me: Principal, report_id: uuid.UUID) -> HttpResponse:
    report = _report(report_id)
    names = _printed_names([report.requested_by])
    context = {
        "report": _row(report, names),
        "state": status_of(report),
        "requested_seq": report.requested_seq,
        "requested_checkpoint": report.requested_checkpoint,
        "issued_seq": report.issued_seq,
        "checkpoint_size": report.checkpoint_size,
        "attempts": report.attempts,
    }
    return render_page(request, me, "portal/report.html", "reports", context)


def status_of(report: ReportRequest) -> dict[str, Any]:
    """What the report page shows of its progress, and what its poller reads."""
    done = report.status == ReportStatus.DONE
    return {
        "status": report.status,
        "words": STATUS_WORDS[ReportStatus(report.status)],
        "reason": report.reason if report.status == ReportStatus.FAILED else "",
        "finished": report.status in FINISHED,
        "pdf_sha256": report.pdf_sha256 if done else "",
        "download": reverse("portal:report-pdf", args=[report.id]) if done else "",
    }


@leaves_session_idle
@reader_required
@require_GET
def report_status(request: HttpRequest, me: Principal, report_id: uuid.UUID) -> HttpResponse:
    response = JsonResponse(status_of(_report(report_id)))
    response["Cache-Control"] = "no-store"
    return response


@reader_required
@require_GET
def report_pdf(request: HttpRequest, me: Principal, report_id: uuid.UUID) -> HttpResponse:
    report = _report(report_id)
    if report.status != ReportStatus.DONE:
        raise Http404(f"report {report.id} is {report.status}, not issued yet")
    # A report is a few hundred kilobytes: read whole, the answer is a plain HttpResponse.
    with services.storage().open(report.file_name, "rb") as stored:
        response = HttpResponse(stored.read(), content_type="application/pdf")
    filename = f"auditreg-{report.kind}-{report.id}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Verifying an uploaded PDF -----------------------------------------------------------------


class SizeLimit(FileUploadHandler):
    """Drops the upload once the files in it grow past MAX_UPLOAD_BYTES together, while they
    stream in, so an oversized upload never fills memory or a temporary file; and stops at
    a second file, since a request verifies exactly one."""

    too_large = False
    files = 0
    received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.files += 1
        if self.files > 1:
            raise StopUpload(connection_reset=False)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > MAX_UPLOAD_BYTES:
            self.too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class VerifyForm(forms.Form):
    pdf = forms.FileField(label="Signed report (PDF)", allow_empty_file=False)


@dataclass(frozen=True)
class Outcome:
    """The verification result in plain words."""

    authentic: bool
    signer: str = ""
    signed_at: datetime | None = None
    timestamped: bool = False
    entries: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    tree_size: int = 0
    root: str = ""
    ledger_size: int | None = None
    about: dict[str, Any] | None = None
    issued_here: str = ""
    unreadable: str = ""  # why the file could not be read as a PDF, if it could not
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


# The upload must meet its size limits before anything reads the body, and the CSRF check
# reads it; so this view is exempt and the inner one is protected by hand, as Django's
# upload-handler documentation shows.
@csrf_exempt
@reader_required
@require_http_methods(["GET", "POST"])
def report_verify(request: HttpRequest, me: Principal) -> HttpResponse:
    if request.method == "POST" and _content_length(request) > MAX_VERIFY_BODY_BYTES:
        # Refused unread: nothing is done, so the CSRF check is not needed either.
        return _verify_page(request, me, VerifyForm(), refusal=_too_large(), status=413)
    limit = SizeLimit(request)
    # Raises if the body was already read: then no limit could hold.
    request.upload_handlers = [limit, *request.upload_handlers]
    return _verify(request, me, limit)


def _content_length(request: HttpRequest) -> int:
    """The body's declared size; Django reads no more than that (none when it is unusable)."""
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _too_large() -> str:
    return (
        f"The upload is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB. A signed report "
        "is far smaller: this is not one."
    )


@csrf_protect
def _verify(request: HttpRequest, me: Principal, limit: SizeLimit) -> HttpResponse:
    if request.method != "POST":
        return _verify_page(request, me, VerifyForm())
    # Reading the files parses the body through the size limit, if the CSRF check has not.
    files = request.FILES
    if limit.too_large:
        return _verify_page(request, me, VerifyForm(), refusal=_too_large(), status=413)
    if limit.files > 1:
        refusal = "Upload one report at a time: this request holds more than one file."
        return _verify_page(request, me, VerifyForm(), refusal=refusal, status=422)
    form = VerifyForm(request.POST, files)
    if not form.is_valid():
        return _verify_page(request, me, form, status=422)
    data = form.cleaned_data["pdf"].read()
    if b"%PDF-" not in data[:1024]:
        refusal = "This file is not a PDF (it has no PDF header). A signed report is a PDF."
        return _verify_page(request, me, form, refusal=refusal, status=422)
    # The upload is read whole (at most MAX_UPLOAD_BYTES); only decoding it is rationed.
    if not VERIFYING.acquire(blocking=False):
        response = _verify_page(request, me, form, refusal=BUSY, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    try:
        outcome = verify_upload(data)
    except DomainError as error:
        refusal = f"Reports cannot be verified here: {error}"
        return _verify_page(request, me, form, refusal=refusal, status=422)
    finally:
        VERIFYING.release()
    status = 422 if outcome.unreadable else 200
    return _verify_page(request, me, form, outcome=outcome, status=status)


def _verify_page(
    request: HttpRequest,
    me: Principal,
    form: VerifyForm,
    *,
    outcome: Outcome | None = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "outcome": outcome,
        "refusal": refusal,
        "limit_mib": MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    response = render_page(request, me, "portal/report_verify.html", "reports", context)
    response.status_code = status
    return response


def verify_upload(data: bytes) -> Outcome:
    """`manage.py verify_report` on uploaded bytes: the configured CA and keyring, and this
    ledger's latest checkpoint. Nothing of the upload is stored."""
    quiet_pyhanko()
    verdict = verify_pdf(
        data, trust_roots=trust_roots(), keys=load_keyring(), ledger=DatabaseLedger()
    )
    if not verdict.ok:
        return Outcome(
            authentic=False,
            unreadable=verdict.unreadable,
            problems=tuple(verdict.problems),
            warnings=tuple(verdict.warnings),
        )
    return _authentic(data, verdict)


def _authentic(data: bytes, verdict: Verdict) -> Outcome:
    bundle = verdict.evidence  # as signed, and verified
    seqs = [item["seq"] for item in bundle.get("entries", []) if isinstance(item, dict)]
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    issued = ReportRequest.objects.filter(pdf_sha256=digest).first()
    signed_at = verdict.signed_at
    if signed_at is not None and timezone.is_naive(signed_at):
        signed_at = signed_at.replace(tzinfo=UTC)
    about = bundle.get("report")
    return Outcome(
        authentic=True,
        signer=verdict.signer,
        signed_at=signed_at,
        timestamped=verdict.timestamped,
        entries=verdict.entries,
        first_seq=min(seqs) if seqs else None,
        last_seq=max(seqs) if seqs else None,
        tree_size=verdict.tree_size,
        root=verdict.root.hex(),
        ledger_size=verdict.ledger_size,
        about=about if isinstance(about, dict) else None,
        issued_here=reverse("portal:report", args=[issued.id]) if issued else "",
        warnings=tuple(verdict.warnings),
    )
