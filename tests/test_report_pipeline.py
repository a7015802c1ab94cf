"""Requesting and producing reports: refusals store nothing; a report is issued exactly once
however many times, or however interrupted, its production runs."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from auditreg.errors import DomainError
from auditreg.ledger.keys import load_keyring
from auditreg.ledger.models import Entry
from auditreg.proofs.pdf import verify_pdf
from reports import services
from reports.models import ReportRequest, ReportStatus
from tests.factories import approve, authorize, deploy, make_model, make_use_case, make_version


@pytest.fixture
def version(people, signing_dir):
    model = make_model(people)
    version = approve(people, make_version(people, model))
    use_case = make_use_case(people, model)
    authorize(people, version, use_case)
    return deploy(people, version)


def issued_entries() -> int:
    return Entry.objects.filter(kind="report.issued").count()


def stored_files(tmp_path) -> list[str]:
    folder = tmp_path / "reports"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_report_is_produced_signed_stored_and_recorded(people, version, tmp_path):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    assert request.status == ReportStatus.QUEUED
    requested = Entry.objects.get(seq=request.requested_seq)
    assert (requested.kind, requested.actor) == ("report.requested", "user:olga")
    assert requested.payload["checkpoint"]["tree_size"] == request.requested_checkpoint

    done = services.produce(str(request.id))
    assert done.status == ReportStatus.DONE
    with services.storage().open(done.file_name, "rb") as stored:
        pdf = stored.read()
    assert done.pdf_sha256 == "sha256:" + hashlib.sha256(pdf).hexdigest()
    assert done.issued_seq is not None
    issued = Entry.objects.get(seq=done.issued_seq)
    assert issued.kind == "report.issued" and issued.subject == f"report:{request.id}"
    assert issued.payload["pdf_sha256"] == done.pdf_sha256
    verdict = verify_pdf(pdf, keys=load_keyring())
    assert verdict.ok, verdict.problems
    assert verdict.tree_size == done.checkpoint_size


def test_producing_twice_issues_once(people, version, tmp_path):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    first = services.produce(str(request.id))
    again = services.produce(str(request.id))
    assert (again.issued_seq, again.file_name) == (first.issued_seq, first.file_name)
    assert issued_entries() == 1
    assert stored_files(tmp_path) == [first.file_name]


def test_a_run_overtaken_by_another_issues_nothing_and_leaves_no_file(
    people, version, tmp_path, django_capture_on_commit_callbacks
):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    # A first run claims the request and renders; meanwhile a second run does it all.
    slow = services._claim(str(request.id))
    pdf, size = services._render_and_sign(slow)
    winner = services.produce(str(request.id))
    name = services.storage().save(f"{request.id}-late.pdf", ContentFile(pdf))
    with django_capture_on_commit_callbacks(execute=True):
        loser = services._issue(slow, name, "sha256:" + "0" * 64, size)
    assert loser.issued_seq == winner.issued_seq
    assert issued_entries() == 1
    assert stored_files(tmp_path) == [winner.file_name]


@pytest.mark.parametrize(
    ("kind", "subject", "extra", "match"),
    [
        ("summary", "model:credit-pd/1", {}, "report kind 'summary' is not one of"),
        ("model-risk", "model:ghost/1", {}, "not a registered model version"),
        ("clinical", "model:credit-pd/1", {}, "needs the use case"),
        ("clinical", "model:credit-pd/1", {"use_case": "nope"}, "needs the use case"),
        ("audit-extract", "model:credit-pd/1", {}, "needs a period"),
        ("audit-extract", "model:ghost/1", {"period": "day"}, "holds no entry about"),
    ],
)
def test_a_request_that_cannot_be_produced_is_refused_and_stores_nothing(
    people, version, kind, subject, extra, match
):
    if extra.get("period") == "day":
        extra = {"period": (timezone.now() - timedelta(days=1), timezone.now())}
    before = Entry.objects.count()
    with pytest.raises(DomainError, match=match):
        services.request_report(kind=kind, subject=subject, by=people.olga, **extra)
    assert Entry.objects.count() == before
    assert not ReportRequest.objects.exists()


def test_a_person_with_no_role_cannot_request_reports(people, version):
    with pytest.raises(DomainError, match="cannot request reports"):
        services.request_report(kind="model-risk", subject=version.subject, by=people.mallory)
    assert not ReportRequest.objects.exists()


def test_issue_report_command_writes_the_pdf(people, version, tmp_path):
    out = tmp_path / "report.pdf"
    stdout = io.StringIO()
    call_command(
        "issue_report",
        "--kind",
        "model-risk",
        "--subject",
        version.subject,
        "--out",
        str(out),
        "--now",
        stdout=stdout,
    )
    request = ReportRequest.objects.get()
    assert request.requested_by == "system:manage"
    assert out.read_bytes().startswith(b"%PDF-")
    assert request.pdf_sha256 == "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest()
    assert str(request.id) in stdout.getvalue()
    with pytest.raises(CommandError, match="not a registered model version"):
        call_command(
            "issue_report", "--kind", "model-risk", "--subject", "model:x/9", "--out", str(out)
        )
