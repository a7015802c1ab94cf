"""The portal's reports pages through the test client: request a report, watch its status,
download the signed PDF, and verify an uploaded one; refusals change nothing."""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from auditreg.ledger.models import Entry
from reports import services
from reports.models import ReportRequest
from tests.factories import approve, make_model, make_use_case, make_version
from tests.test_portal import sign_in

pytestmark = pytest.mark.django_db

NEW = "/reports/new"
VERIFY = "/reports/verify"


@pytest.fixture
def version(people, signing_dir):
    return approve(people, make_version(people, make_model(people)))


def counts() -> tuple[int, int]:
    return Entry.objects.count(), ReportRequest.objects.count()


def ask(people, version, who: str = "olga") -> ReportRequest:
    return services.request_report(
        kind="model-risk", subject=version.subject, by=getattr(people, who), queue=False
    )


def produced(people, version) -> ReportRequest:
    return services.produce(str(ask(people, version).id))


def stored_pdf(report: ReportRequest) -> bytes:
    with services.storage().open(report.file_name, "rb") as stored:
        data: bytes = stored.read()
    return data


def stored_files(signing_dir: Path) -> list[str]:
    folder = signing_dir.parent / "reports"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def upload(client, data: bytes, name: str = "report.pdf"):
    return client.post(VERIFY, {"pdf": SimpleUploadedFile(name, data, "application/pdf")})


# --- Who may see and ask -----------------------------------------------------------------------


def test_a_person_without_a_role_sees_nothing_and_asks_nothing(people, version, client):
    report = produced(people, version)
    before = counts()
    sign_in(client, "mallory")
    for path in (
        "/reports",
        NEW,
        VERIFY,
        f"/reports/{report.id}",
        f"/reports/{report.id}/status",
        f"/reports/{report.id}/pdf",
    ):
        assert client.get(path).status_code == 403, path
    body = {"kind": "model-risk", "subject": version.subject}
    assert client.post(NEW, body).status_code == 403
    assert upload(client, stored_pdf(report)).status_code == 403
    assert counts() == before


def test_an_anonymous_visitor_is_sent_to_sign_in(people, version, client):
    report = ask(people, version)
    for path in ("/reports", NEW, f"/reports/{report.id}/status", f"/reports/{report.id}/pdf"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login?next=")
    before = counts()
    assert client.post(NEW, {"kind": "model-risk", "subject": version.subject}).status_code == 302
    assert counts() == before


@pytest.mark.parametrize("who", ["olga", "vic", "alice", "dana", "marc", "ada"])
def test_every_registry_role_may_request_a_report_as_the_service_allows(people, version, who):
    client = Client()
    sign_in(client, who)
    assert 'name="csrfmiddlewaretoken"' in client.get(NEW).text
    response = client.post(NEW, {"kind": "model-risk", "subject": version.subject})
    report = ReportRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reports/{report.id}"
    assert report.requested_by == f"user:{who}"
    entry = Entry.objects.get(seq=report.requested_seq)
    assert (entry.kind, entry.actor) == ("report.requested", f"user:{who}")


def test_the_form_is_prefilled_from_the_address(people, version, client):
    sign_in(client, "vic")
    page = client.get(f"{NEW}?kind=clinical&subject={version.subject}")
    assert f'value="{version.subject}"' in page.text
    assert '<option value="clinical" selected>' in page.text
    assert f'<option value="{version.subject}">' in page.text  # the subjects' datalist


# --- Refusals change nothing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "model-risk", "subject": "model:ghost/1"}, "not a registered model version"),
        ({"kind": "clinical", "subject": "model:credit-pd/1"}, "needs the use case"),
        (
            {"kind": "clinical", "subject": "model:credit-pd/1", "use_case": "nope"},
            "needs the use case",
        ),
        ({"kind": "audit-extract", "subject": "model:credit-pd/1"}, "needs a period"),
        (
            {
                "kind": "audit-extract",
                "subject": "model:credit-pd/1",
                "period_start": "2026-04-01T00:00",
                "period_end": "2026-03-01T00:00",
            },
            "a start before its end",
        ),
        (
            {
                "kind": "audit-extract",
                "subject": "model:ghost/1",
                "period_start": "2026-03-01T00:00",
                "period_end": "2026-04-01T00:00",
            },
            "holds no entry about model:ghost/1",
        ),
        (
            {
                "kind": "audit-extract",
                "subject": "model:credit-pd/1",
                "period_start": "2026-03-01T00:00",
            },
            "Give both ends of the period",
        ),
        (
            {
                "kind": "audit-extract",
                "subject": "model:credit-pd/1",
                "period_start": "yesterday",
                "period_end": "2026-03-01T00:00",
            },
            "Enter a valid date/time",
        ),
        ({"kind": "summary", "subject": "model:credit-pd/1"}, "Select a valid choice"),
        ({"kind": "model-risk", "subject": ""}, "This field is required"),
    ],
)
def test_a_refused_request_is_explained_and_records_nothing(people, version, client, body, message):
    sign_in(client, "vic")
    before = counts()
    response = client.post(NEW, body)
    assert response.status_code == 422
    assert message in response.text
    assert 'role="alert"' in response.text
    assert counts() == before


def test_a_clinical_report_carries_its_use_case_and_a_period_in_the_persons_zone(
    people, version, client
):
    make_use_case(people, version.model)
    sign_in(client, "olga")
    client.post(NEW, {"kind": "clinical", "subject": version.subject, "use_case": "us-retail-pd"})
    client.post(
        NEW,
        {
            "kind": "audit-extract",
            "subject": version.subject,
            "use_case": "us-retail-pd",  # not part of an audit extract: not recorded
            "period_start": "2026-03-01T00:00",
            "period_end": "2026-04-01T00:00",
        },
    )
    clinical = ReportRequest.objects.get(kind="clinical")
    extract = ReportRequest.objects.get(kind="audit-extract")
    assert clinical.use_case == "us-retail-pd" and clinical.period_start is None
    # Olga works in New York: midnight there is 05:00 UTC in March (before summer time) and
    # 04:00 UTC in April.
    assert extract.period_start == datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    assert extract.period_end == datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
    assert extract.use_case == ""
    assert Entry.objects.get(seq=extract.requested_seq).payload["use_case"] is None


def signed_in_enforcing_csrf(username: str) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_a_forged_request_without_a_csrf_token_records_nothing(people, version):
    client = signed_in_enforcing_csrf("olga")
    token = client.get(NEW).cookies["csrftoken"].value
    before = counts()
    forged = client.post(NEW, {"kind": "model-risk", "subject": version.subject})
    assert forged.status_code == 403
    assert counts() == before
    body = {"kind": "model-risk", "subject": version.subject, "csrfmiddlewaretoken": token}
    assert client.post(NEW, body).status_code == 302
    assert ReportRequest.objects.count() == 1


def test_verifying_needs_the_csrf_token_too(people, version):
    report = produced(people, version)
    client = signed_in_enforcing_csrf("olga")
    response = upload(client, stored_pdf(report))
    assert response.status_code == 403
    assert "authentic" not in response.text


# --- The list ----------------------------------------------------------------------------------


def test_the_list_is_newest_first_with_status_reason_and_download(clock, people, version, client):
    first = produced(people, version)
    clock.advance(minutes=5)
    second = ask(people, version, "vic")
    services.mark_failed(str(second.id), "the signing service was unreachable")
    sign_in(client, "olga")
    page = client.get("/reports")
    assert page.status_code == 200
    text = page.text
    assert text.index(f"/reports/{second.id}") < text.index(f"/reports/{first.id}")
    assert "failed: the signing service was unreachable" in text
    assert f'href="/reports/{first.id}/pdf" download' in text
    assert "Victor Validator" in text and "Olga Auditor" in text
    assert "EDT" in text or "EST" in text  # times in Olga's zone, named
    assert '<a href="/reports" aria-current="page">Reports</a>' in text


def test_the_list_filters_by_status_and_kind(people, version, client):
    done = produced(people, version)
    queued = ask(people, version)
    sign_in(client, "olga")
    only_done = client.get("/reports?status=done").text
    assert f"/reports/{done.id}" in only_done and f"/reports/{queued.id}" not in only_done
    assert "No report request matches" in client.get("/reports?kind=clinical").text
    everything = client.get("/reports?status=bogus&kind=bogus").text  # ignored
    assert f"/reports/{done.id}" in everything and f"/reports/{queued.id}" in everything


def test_the_list_is_paginated(people, version, client):
    for _ in range(26):
        ask(people, version)
    sign_in(client, "olga")
    first = client.get("/reports?status=queued")
    assert "page 1 of 2" in first.text
    assert 'href="?status=queued&amp;page=2" rel="next"' in first.text
    second = client.get("/reports?status=queued&page=2")
    assert second.text.count("download>Download</a>") == 0
    assert second.text.count("not yet") == 1


# --- One report: its status without reloading, its download ------------------------------------


def test_the_status_endpoint_follows_the_work(people, version, client):
    report = ask(people, version)
    sign_in(client, "alice")
    queued = client.get(f"/reports/{report.id}/status")
    assert queued["Content-Type"] == "application/json"
    assert queued.json() == {
        "status": "queued",
        "words": "Queued: waiting for a worker to start on it.",
        "reason": "",
        "finished": False,
        "pdf_sha256": "",
        "download": "",
    }
    done = services.produce(str(report.id))
    state = client.get(f"/reports/{report.id}/status").json()
    assert state["status"] == "done" and state["finished"] is True
    assert state["pdf_sha256"] == done.pdf_sha256
    assert state["download"] == f"/reports/{report.id}/pdf"


def test_a_failed_report_says_why(people, version, client):
    report = ask(people, version)
    services.mark_failed(str(report.id), "the facts cannot make this report")
    sign_in(client, "olga")
    state = client.get(f"/reports/{report.id}/status").json()
    assert (state["status"], state["finished"]) == ("failed", True)
    assert state["reason"] == "the facts cannot make this report"
    assert state["download"] == ""
    page = client.get(f"/reports/{report.id}").text
    assert "the facts cannot make this report" in page


def test_the_report_page_polls_with_our_script_and_works_without_it(people, version, client):
    report = ask(people, version)
    sign_in(client, "olga")
    page = client.get(f"/reports/{report.id}")
    assert page.status_code == 200
    text = page.text
    assert 'aria-live="polite"' in text
    assert f'data-status-url="/reports/{report.id}/status"' in text
    assert '<script src="/static/portal/report-status.js" defer></script>' in text
    assert "<script>" not in text  # the content security policy refuses inline scripts
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "Queued: waiting for a worker" in text
    assert f'<a href="/reports/{report.id}">Refresh</a>' in text
    assert '<p data-part="download" hidden>' in text
    script = client.get("/static/portal/report-status.js")
    assert script.status_code == 200
    services.produce(str(report.id))
    done = client.get(f"/reports/{report.id}").text
    assert "Done: signed, stored and recorded in the ledger." in done
    assert f'<a href="/reports/{report.id}/pdf" download>' in done
    assert "Refresh" not in done


def test_the_download_is_the_stored_file_as_an_attachment(people, version, client):
    report = produced(people, version)
    sign_in(client, "olga")
    response = client.get(f"/reports/{report.id}/pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="auditreg-model-risk-{report.id}.pdf"'
    )
    body = response.content
    assert body == stored_pdf(report)
    assert report.pdf_sha256 == "sha256:" + hashlib.sha256(body).hexdigest()


def test_a_report_not_yet_issued_cannot_be_downloaded(people, version, client):
    report = ask(people, version)
    sign_in(client, "olga")
    assert client.get(f"/reports/{report.id}/pdf").status_code == 404
    assert client.get("/reports/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.post(f"/reports/{report.id}/status").status_code == 405


# --- Verifying an upload -----------------------------------------------------------------------


def test_a_produced_report_is_authentic_and_intact(people, version, client, signing_dir):
    report = produced(people, version)
    files, before = stored_files(signing_dir), counts()
    sign_in(client, "olga")
    response = upload(client, stored_pdf(report))
    assert response.status_code == 200
    text = response.text
    assert "This report is authentic and intact:" in text
    assert "signed by" in text and "auditreg" in text.lower()
    assert f"up to the signed checkpoint at tree size {report.checkpoint_size}" in text
    assert "This ledger&#x27;s latest checkpoint" in text or "This ledger's latest" in text
    assert f'href="/reports/{report.id}"' in text
    assert "EDT" in text or "EST" in text
    assert "did not verify" not in text
    assert (stored_files(signing_dir), counts()) == (files, before)  # nothing stored


def test_a_flipped_byte_is_named(people, version, client, signing_dir):
    report = produced(people, version)
    pdf = bytearray(stored_pdf(report))
    pdf[pdf.index(b"stream") + 100] ^= 0x01
    before = counts()
    sign_in(client, "olga")
    response = upload(client, bytes(pdf))
    assert response.status_code == 200
    assert "This report did not verify." in response.text
    assert "The signed bytes were changed: the document digest differs." in response.text
    assert "authentic and intact" not in response.text
    assert counts() == before


def test_a_file_that_is_not_a_pdf_is_refused_in_plain_words(people, version, client):
    sign_in(client, "olga")
    response = upload(client, b"Name,Score\nalice,0.9\n", "scores.csv")
    assert response.status_code == 422
    assert "This file is not a PDF" in response.text
    empty = upload(client, b"", "empty.pdf")
    assert empty.status_code == 422
    assert "The submitted file is empty." in empty.text
    missing = client.post(VERIFY, {})
    assert missing.status_code == 422 and "This field is required" in missing.text


def test_an_upload_over_the_limit_is_refused(people, version, client):
    sign_in(client, "olga")
    response = upload(client, b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than 20 MiB" in response.text
    assert "This field is required" not in response.text


def test_the_verify_page_has_a_labelled_upload_with_a_csrf_token(people, client):
    sign_in(client, "olga")
    page = client.get(VERIFY)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert 'name="csrfmiddlewaretoken"' in page.text
    assert '<label for="id_pdf">Signed report (PDF)</label>' in page.text


def test_with_its_csrf_token_the_upload_is_verified_and_still_size_limited(people, version):
    report = produced(people, version)
    client = signed_in_enforcing_csrf("olga")
    token = client.get(VERIFY).cookies["csrftoken"].value
    pdf = SimpleUploadedFile("report.pdf", stored_pdf(report), "application/pdf")
    checked = client.post(VERIFY, {"csrfmiddlewaretoken": token, "pdf": pdf})
    assert checked.status_code == 200
    assert "This report is authentic and intact:" in checked.text
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024))
    refused = client.post(VERIFY, {"csrfmiddlewaretoken": token, "pdf": big})
    assert refused.status_code == 413
