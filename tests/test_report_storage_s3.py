"""Issued reports kept in S3-compatible object storage (django-storages' S3 backend, as
settings.STORAGES["reports"] configures it when AUDITREG_REPORTS_BUCKET is set), against a
local moto server: the stored object is the issued PDF byte for byte, one object however
many times production runs, the API serves it, and an outage of the store issues nothing."""

import hashlib
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile

pytest.importorskip("moto")
pytest.importorskip("storages.backends.s3")

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import EndpointConnectionError  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.ledger.models import Entry
from reports import services
from reports.models import ReportStatus
from reports.tasks import issue_report
from tests.factories import approve, make_model, make_version

CREDENTIALS = {
    "access_key": "testing",
    "secret_key": "testing",
    "region_name": "us-east-1",
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_storage(endpoint_url: str, bucket: str, **options: Any) -> dict[str, Any]:
    """settings.STORAGES["reports"] as production configures it, with test credentials."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "location": "reports",
            "file_overwrite": False,
            **CREDENTIALS,
            **options,
        },
    }


@pytest.fixture
def bucket(settings, signing_dir, endpoint) -> Any:
    """A fresh bucket for each test, set as the reports' storage."""
    s3 = boto3.resource(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
        region_name=CREDENTIALS["region_name"],
    )
    created = s3.create_bucket(Bucket=f"reports-{uuid.uuid4().hex[:12]}")
    settings.STORAGES = {**settings.STORAGES, "reports": s3_storage(endpoint, created.name)}
    return created


@pytest.fixture
def version(people, bucket):
    return approve(people, make_version(people, make_model(people)))


def objects(bucket) -> dict[str, bytes]:
    return {item.key: item.get()["Body"].read() for item in bucket.objects.all()}


def issued_entries() -> int:
    return Entry.objects.filter(kind="report.issued").count()


def unreachable(bucket) -> dict[str, Any]:
    """The same bucket behind an endpoint where nothing listens: the store is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # One attempt per call keeps the test short; botocore would otherwise retry a refused
    # connection with backoff, then raise the same error.
    once = Config(retries={"max_attempts": 1, "mode": "standard"})
    return s3_storage(f"http://127.0.0.1:{port}", bucket.name, client_config=once)


def test_an_issued_report_is_stored_in_the_bucket_byte_for_byte(people, version, bucket):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    done = services.produce(str(request.id))
    assert done.status == ReportStatus.DONE
    stored = objects(bucket)
    assert list(stored) == [f"reports/{done.file_name}"]
    pdf = stored[f"reports/{done.file_name}"]
    assert pdf.startswith(b"%PDF-")
    assert done.pdf_sha256 == "sha256:" + hashlib.sha256(pdf).hexdigest()
    assert done.issued_seq is not None
    assert Entry.objects.get(seq=done.issued_seq).payload["pdf_sha256"] == done.pdf_sha256


def test_producing_twice_leaves_one_object(people, version, bucket):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    done = services.produce(str(request.id))
    stored = objects(bucket)
    again = services.produce(str(request.id))
    assert (again.issued_seq, again.file_name) == (done.issued_seq, done.file_name)
    assert issued_entries() == 1
    assert list(stored) == [f"reports/{done.file_name}"]
    assert objects(bucket) == stored


def test_a_run_overtaken_by_another_leaves_one_object(
    people, version, bucket, django_capture_on_commit_callbacks
):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    # A first run claims the request and renders; meanwhile a second run does it all.
    slow = services._claim(str(request.id))
    pdf, size = services._render_and_sign(slow)
    winner = services.produce(str(request.id))
    name = services.storage().save(f"{request.id}-late.pdf", ContentFile(pdf))
    assert len(objects(bucket)) == 2
    with django_capture_on_commit_callbacks(execute=True):
        loser = services._issue(slow, name, "sha256:" + "0" * 64, size)
    assert loser.issued_seq == winner.issued_seq
    assert issued_entries() == 1
    assert list(objects(bucket)) == [f"reports/{winner.file_name}"]


def test_the_api_serves_the_stored_report(people, version, bucket):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    done = services.produce(str(request.id))
    _, token = accounts.issue_token(
        principal=people.trainer, name="reports", scopes=[Scope.READ], by=people.ada
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    download = client.get(f"/api/v1/reports/{request.id}/pdf")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    pdf = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert pdf == objects(bucket)[f"reports/{done.file_name}"]
    assert done.pdf_sha256 == "sha256:" + hashlib.sha256(pdf).hexdigest()


def test_a_storage_outage_during_production_issues_nothing(people, version, bucket, settings):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    settings.STORAGES = {**settings.STORAGES, "reports": unreachable(bucket)}
    with pytest.raises(EndpointConnectionError):
        services.produce(str(request.id))
    request.refresh_from_db()
    assert request.status != ReportStatus.DONE
    assert request.issued_seq is None and request.file_name == ""
    assert issued_entries() == 0
    assert objects(bucket) == {}


def test_the_worker_retries_a_storage_outage(people, version, bucket, settings):
    request = services.request_report(
        kind="model-risk", subject=version.subject, by=people.olga, queue=False
    )
    settings.STORAGES = {**settings.STORAGES, "reports": unreachable(bucket)}
    # Run as the last retry but one: a transient error is retried once, then given up.
    issue_report.apply(args=(str(request.id),), retries=(issue_report.max_retries or 0) - 1)
    request.refresh_from_db()
    assert issued_entries() == 0
    assert request.attempts == 2
    assert request.reason.startswith("gave up after")
