"""Request a report and wait for it: through the Celery worker, or in this process (--now)."""

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from auditreg.accounts.models import Principal
from auditreg.accounts.services import SYSTEM
from auditreg.errors import DomainError
from reports import services
from reports.models import ReportKind, ReportRequest, ReportStatus


class Command(BaseCommand):
    help = "Issue a signed PDF report: model-risk, clinical or audit-extract."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=ReportKind.values)
        parser.add_argument(
            "--subject",
            required=True,
            help="a version (model:<slug>/<n>); for an audit extract, any ledger subject",
        )
        parser.add_argument("--use-case", help="the use case a clinical report validates")
        parser.add_argument("--from", dest="start", help="audit extract: ISO 8601 start")
        parser.add_argument("--to", dest="end", help="audit extract: ISO 8601 end (now)")
        parser.add_argument("--out", required=True, type=Path, help="where to write the PDF")
        parser.add_argument(
            "--now", action="store_true", help="produce it in this process, not in a worker"
        )
        parser.add_argument(
            "--as", dest="actor", help="request as this principal (user:NAME); default the system"
        )
        parser.add_argument("--wait", type=float, default=300, help="seconds to wait for it")

    def handle(self, *args: Any, **options: Any) -> None:
        by = self.principal(options["actor"])
        options["out"].parent.mkdir(parents=True, exist_ok=True)
        period = None
        if options["kind"] == ReportKind.AUDIT_EXTRACT:
            end = _moment(options["end"]) if options["end"] else timezone.now()
            start = (
                _moment(options["start"])
                if options["start"]
                else datetime.min.replace(tzinfo=end.tzinfo)
            )
            period = (start, end)
        try:
            request = services.request_report(
                kind=options["kind"],
                subject=options["subject"],
                use_case=options["use_case"],
                period=period,
                by=by,
                queue=not options["now"],
            )
            if options["now"]:
                request = services.produce(str(request.id))
            else:
                request = self.wait(request, options["wait"])
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        with (
            services.storage().open(request.file_name, "rb") as stored,
            options["out"].open("wb") as out,
        ):
            shutil.copyfileobj(stored, out)
        self.stdout.write(
            f"issued {request.kind} report {request.id} on {request.subject}: {options['out']}\n"
            f"  SHA-256 {request.pdf_sha256}, ledger entry {request.issued_seq}, "
            f"checkpoint at tree size {request.checkpoint_size}"
        )

    def principal(self, actor: str | None) -> Principal:
        if actor is None:
            return SYSTEM
        found = Principal.objects.filter(actor_id=actor).first()
        if found is None:
            raise CommandError(f"{actor} is not enrolled")
        return found

    def wait(self, request: ReportRequest, seconds: float) -> ReportRequest:
        deadline = time.monotonic() + seconds
        last = ""
        while time.monotonic() < deadline:
            request.refresh_from_db()
            if request.status != last:
                self.stderr.write(f"  {request.status}")
                last = request.status
            if request.status == ReportStatus.DONE:
                return request
            if request.status == ReportStatus.FAILED:
                raise CommandError(f"the report failed: {request.reason}")
            time.sleep(0.5)
        raise CommandError(
            f"no worker finished report {request.id} within {seconds:.0f} s (is a Celery "
            "worker running? `celery -A auditreg.celery worker`, or use --now)"
        )


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else timezone.make_aware(moment)
