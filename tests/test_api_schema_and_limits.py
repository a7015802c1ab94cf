"""The OpenAPI schema and its docs page, and the API's limits: requests per token, body size,
malformed bodies. A refused request records nothing."""

import gzip
import io
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.api.limits import BodyTooLarge, BoundedJSONParser
from auditreg.ledger.models import Entry

PROBLEM = "application/problem+json"


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def issue(people, *scopes: Scope, name: str = "pipeline") -> str:
    _, token = accounts.issue_token(
        principal=people.trainer, name=name, scopes=list(scopes), by=people.ada
    )
    return token


@pytest.fixture
def ingest(people) -> APIClient:
    return client_with(issue(people, Scope.INGEST, Scope.READ))


@pytest.fixture
def counts_from_zero():
    cache.clear()
    yield
    cache.clear()


# --- The schema and its docs ---------------------------------------------------------------


def test_schema_is_served_without_credentials_and_is_valid_openapi_3(db):
    answer = APIClient().get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    schema = json.loads(answer.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "auditreg API"
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "ar_{prefix}_{secret}",
        "description": (
            "a service token with the scopes `read` (to read) and/or `ingest` (to write); "
            "a report request needs both"
        ),
    }


def test_schema_declares_every_error_as_problem_json(db):
    schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
    writes = schema["paths"]["/api/v1/datasets"]["post"]["responses"]
    for code in ("400", "401", "403", "404", "409", "413", "415", "422", "429"):
        assert list(writes[code]["content"]) == [PROBLEM], code
    assert "Retry-After" in writes["429"]["headers"]
    reads = schema["paths"]["/api/v1/models"]["get"]["responses"]
    assert {"400", "401", "403", "404", "422", "429"} <= set(reads)
    assert "413" not in reads


def test_schema_generation_has_no_warnings(db, tmp_path):
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
    )
    assert "bearerAuth" in (tmp_path / "schema.yaml").read_text()


def test_docs_page_loads_only_our_own_static_files(db):
    page = APIClient().get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not [
        host for host in re.findall(r"https?://[^\s\"'<>]+", html) if "testserver" not in host
    ]
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        url = urlsplit(asset)
        assert not url.netloc and url.path.startswith("/static/"), asset
        served = APIClient().get(url.path)
        assert served.status_code == 200, asset
        assert b"".join(served.streaming_content)  # type: ignore[attr-defined]


def test_api_url_that_names_nothing_is_a_problem_not_an_html_page(ingest):
    answer = ingest.get("/api/v1/no-such-thing")
    assert answer.status_code == 404
    assert answer["Content-Type"] == PROBLEM
    assert answer.json()["status"] == 404


# --- Requests per token ----------------------------------------------------------------------


def test_a_token_over_its_rate_gets_429_while_another_token_is_served(
    people, settings, counts_from_zero
):
    settings.AUDITREG_API_RATE = "3/minute"
    busy = client_with(issue(people, Scope.READ, name="busy"))
    other = client_with(issue(people, Scope.READ, name="other"))
    assert [busy.get("/api/v1/models").status_code for _ in range(3)] == [200, 200, 200]
    refused = busy.get("/api/v1/models")
    assert refused.status_code == 429
    assert refused["Content-Type"] == PROBLEM
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["status"] == 429
    assert other.get("/api/v1/models").status_code == 200


def test_a_person_is_counted_by_user_across_sessions(people, settings, counts_from_zero):
    settings.AUDITREG_API_RATE = "2/minute"
    olga = get_user_model().objects.get(username="olga")
    first, second = APIClient(), APIClient()
    first.force_login(olga)
    second.force_login(olga)
    assert first.get("/api/v1/models").status_code == 200
    assert second.get("/api/v1/models").status_code == 200
    assert first.get("/api/v1/models").status_code == 429


def test_no_rate_set_means_no_limit(people, settings, counts_from_zero):
    settings.AUDITREG_API_RATE = ""
    reader = client_with(issue(people, Scope.READ))
    assert {reader.get("/api/v1/models").status_code for _ in range(20)} == {200}


# --- Bodies ------------------------------------------------------------------------------------


def refused(client: APIClient, url: str, data: bytes, status: int, **headers: Any) -> str:
    """Post `data`; expect a problem with `status` and nothing recorded. Returns the detail."""
    before = Entry.objects.count()
    answer = client.post(url, data=data, content_type="application/json", **headers)
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == PROBLEM
    assert Entry.objects.count() == before
    detail: str = answer.json()["detail"]
    return detail


def test_a_body_over_the_limit_is_413_and_records_nothing(ingest, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"name": "census", "description": "x" * 1000}).encode()
    assert "larger than 1000 bytes" in refused(ingest, "/api/v1/datasets", big, 413)
    keyed = {"HTTP_IDEMPOTENCY_KEY": "big-1"}
    refused(ingest, "/api/v1/datasets", big, 413, **keyed)
    refused(ingest, "/api/v1/lineage", big, 413)
    small = json.dumps({"name": "census"}).encode()
    assert (
        ingest.post("/api/v1/datasets", small, content_type="application/json").status_code == 201
    )


def test_the_default_limit_is_one_mebibyte(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024


def test_a_gzip_bomb_is_refused_and_records_nothing(ingest, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    bomb = gzip.compress(b'{"eventType": "START", "pad": "' + b" " * 50_000_000 + b'"}')
    assert len(bomb) < settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    gz = {"HTTP_CONTENT_ENCODING": "gzip"}
    assert "decompressed body is larger" in refused(ingest, "/api/v1/lineage", bomb, 413, **gz)
    refused(ingest, "/api/v1/lineage", b"\x1f\x8b not gzip at all", 400, **gz)


@pytest.mark.parametrize(
    ("url", "data", "detail"),
    [
        ("/api/v1/datasets", b'{"name": "census"', "JSON parse error"),
        ("/api/v1/datasets", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("/api/v1/lineage", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("/api/v1/datasets", b'{"name": NaN}', "JSON parse error"),
        ("/api/v1/datasets", b'{"name": {"nested": 1}}', "name"),
        ("/api/v1/datasets", b'["census"]', "Expected a dictionary"),
        ("/api/v1/models", b'{"slug": 5, "risk_tier": "extreme"}', "risk_tier"),
        ("/api/v1/datasets", b'{"name": "cen\\u0000sus"}', "NUL character"),
        ("/api/v1/lineage", b'{"eventType": "START", "x\\u0000": 1}', "NUL character"),
    ],
    ids=[
        "truncated",
        "deep",
        "deep-lineage",
        "nan",
        "object-for-string",
        "array-for-object",
        "wrong-types",
        "nul",
        "nul-in-key",
    ],
)
def test_malformed_or_ill_typed_bodies_are_400_and_record_nothing(ingest, url, data, detail):
    assert detail in refused(ingest, url, data, 400)


def test_a_form_body_is_415(ingest):
    answer = ingest.post("/api/v1/datasets", {"name": "census"}, format="multipart")
    assert answer.status_code == 415
    assert answer["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/ledger/entries?subject=%00",
        "/api/v1/models?q=a%00",
        "/api/v1/lineage/nodes/dataset:a%00b",
        "/api/v1/lineage/upstream?subject=%00",
        "/api/v1/as-of?model=%00",
    ],
)
def test_a_nul_character_in_the_url_is_400_not_a_database_error(ingest, url):
    answer = ingest.get(url)
    assert answer.status_code == 400
    assert answer["Content-Type"] == PROBLEM
    assert "NUL" in answer.json()["detail"]


def test_the_parser_bounds_a_body_read_from_the_stream_too(settings):
    # DRF before 3.18 hands parsers the request stream, which Django does not check.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    with pytest.raises(BodyTooLarge, match="larger than 10 bytes"):
        BoundedJSONParser().parse(io.BytesIO(b'{"name": "census"}'))
    assert BoundedJSONParser().parse(io.BytesIO(b"[1, 2]")) == [1, 2]


def test_the_schema_and_its_docs_stay_public_and_hold_no_data(people):
    """Public on purpose: the schema is made from the code alone, the same for every
    deployment, so it names no principal, model, token or key; every operation it describes
    refuses a caller without credentials (the schemathesis test checks that)."""
    from tests.factories import make_model

    token = issue(people, Scope.READ)
    make_model(people)
    schema = APIClient().get("/api/schema/", {"format": "json"})
    assert APIClient().get("/api/docs/").status_code == 200
    assert schema.status_code == 200
    text = schema.content.decode()
    for recorded in (token, token.split("_")[1], "olga", "Olga Auditor", "credit-pd"):
        assert recorded not in text
