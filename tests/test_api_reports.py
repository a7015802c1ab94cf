"""Reports through the API: request, watch the status, download the signed PDF."""

import hashlib

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.ledger.models import Entry
from reports import services
from reports.models import ReportRequest
from tests.factories import approve, make_model, make_version


@pytest.fixture
def version(people, signing_dir):
    return approve(people, make_version(people, make_model(people)))


def client_for(people, *scopes: Scope) -> APIClient:
    _, token = accounts.issue_token(
        principal=people.trainer, name="reports", scopes=list(scopes), by=people.ada
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_request_watch_and_download_a_report(people, version):
    client = client_for(people, Scope.READ, Scope.INGEST)
    asked = client.post(
        "/api/v1/reports", {"kind": "model-risk", "subject": version.subject}, format="json"
    )
    assert asked.status_code == 201, asked.content
    report_id = asked.json()["id"]
    assert asked.json()["status"] == "queued"
    assert client.get(f"/api/v1/reports/{report_id}/pdf").status_code == 404

    services.produce(report_id)  # what the worker does with the queued task

    status = client.get(f"/api/v1/reports/{report_id}").json()
    assert status["status"] == "done" and status["issued_seq"] is not None
    download = client.get(f"/api/v1/reports/{report_id}/pdf")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert status["pdf_sha256"] == "sha256:" + hashlib.sha256(pdf).hexdigest()


def test_refused_requests_store_nothing(people, version):
    both = client_for(people, Scope.READ, Scope.INGEST)
    ingest_only = client_for(people, Scope.INGEST)
    before = Entry.objects.count()
    unknown = both.post(
        "/api/v1/reports", {"kind": "model-risk", "subject": "model:ghost/1"}, format="json"
    )
    assert unknown.status_code == 422
    assert "not a registered model version" in unknown.json()["detail"]
    body = {"kind": "model-risk", "subject": version.subject}
    assert ingest_only.post("/api/v1/reports", body, format="json").status_code == 403
    nobody = APIClient()
    nobody.force_login(get_user_model().objects.get(username="mallory"))
    assert nobody.post("/api/v1/reports", body, format="json").status_code == 403
    assert Entry.objects.count() == before
    assert not ReportRequest.objects.exists()


def test_a_read_only_token_cannot_request_a_report(people, version):
    """A request is a ledger entry, a checkpoint and a costly render: a write. A token that
    may only read watches and downloads reports; asking for one needs `ingest` too."""
    reader = client_for(people, Scope.READ)
    before = Entry.objects.count()
    body = {"kind": "model-risk", "subject": version.subject}
    refused = reader.post("/api/v1/reports", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this API token lacks the 'ingest' scope"
    assert Entry.objects.count() == before
    assert not ReportRequest.objects.exists()


def test_people_request_reports_by_role_as_before(people, version):
    olga = APIClient()
    olga.force_login(get_user_model().objects.get(username="olga"))
    body = {"kind": "model-risk", "subject": version.subject}
    assert olga.post("/api/v1/reports", body, format="json").status_code == 201
