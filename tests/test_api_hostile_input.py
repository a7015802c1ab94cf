"""Hostile input to the API is a 4xx problem that records nothing, never a server error:
Unicode digits where a number is expected, numbers too large, cursors the API never gave,
and JSON values with no canonical form (RFC 8785), which the ledger cannot hold."""

import base64
import io
import json
from typing import Any

import pytest
import rfc8785
from django.core.management import call_command
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.api.errors import problem_handler
from auditreg.api.pagination import Pages
from auditreg.api.urls import urlpatterns
from auditreg.ledger.models import Entry
from tests.conftest import append_many
from tests.factories import make_model, make_package

PROBLEM = "application/problem+json"


@pytest.fixture
def client(people) -> APIClient:
    append_many(12)
    call_command("checkpoint", stdout=io.StringIO())
    make_model(people)
    _, token = accounts.issue_token(
        principal=people.trainer, name="job", scopes=[Scope.INGEST, Scope.READ], by=people.ada
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return api


def problem(answer: Any, status: int = 400) -> str:
    assert answer.status_code == status, answer.content[:500]
    assert answer["Content-Type"] == PROBLEM
    return str(answer.json()["detail"])


# --- Numbers in the query string -------------------------------------------------------------


@pytest.mark.parametrize("raw", ["²", "٣", "\uff11", "-1", "+1", " 1", "1.0", "9" * 19, "9" * 900])
@pytest.mark.parametrize(
    ("path", "name", "other"),
    [
        ("ledger/proofs/inclusion", "seq", {"tree_size": "3"}),
        ("ledger/proofs/inclusion", "tree_size", {"seq": "0"}),
        ("ledger/proofs/consistency", "first", {"second": "3"}),
        ("ledger/proofs/consistency", "second", {"first": "1"}),
    ],
)
def test_a_proof_parameter_that_is_no_ascii_whole_number_is_400(client, path, name, other, raw):
    # "²".isdigit() is True, and int("²") raises: it must not reach int().
    answer = client.get(f"/api/v1/{path}", {**other, name: raw})
    assert "must be a whole number" in problem(answer)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/lineage/nodes?q=" + "x" * 100_000,
        "/api/v1/models?q=" + "x" * 1001,
        "/api/v1/ledger/entries?subject=" + "x" * 5000,
        "/api/v1/ledger/proofs/inclusion?seq=" + "9" * 5000,
    ],
)
def test_a_query_value_longer_than_anything_stored_is_400(client, url):
    # SQLite refuses a LIKE pattern over 50,000 bytes: a 100 KB `q` was a server error.
    assert "longer than 1000 characters" in problem(client.get(url))


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "99999999999999999999", "²", "ten", ""])
def test_a_page_size_out_of_range_or_not_a_number_is_400(client, limit):
    answer = client.get("/api/v1/ledger/entries", {"limit": limit})
    assert "limit" in problem(answer)
    assert "limit" in answer.json()["errors"]


def test_a_page_size_in_range_is_served(client):
    answer = client.get("/api/v1/ledger/entries", {"limit": "1000"})
    assert answer.status_code == 200
    assert len(answer.json()["results"]) == Entry.objects.count()


# --- Cursors ---------------------------------------------------------------------------------


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


MALFORMED_CURSORS = [
    _cursor("p=abc"),  # what the review sent: a position no seq can be
    _cursor("p=²"),
    _cursor("p=" + "9" * 30),
    _cursor("o=-1"),
    _cursor("r=x"),
    "not base64 at all!",
    "²",
]
LISTS = [
    pattern.name
    for pattern in urlpatterns
    if getattr(pattern.callback.view_class, "pagination_class", None) is not None  # type: ignore[attr-defined]
]


def test_every_list_pages_with_the_one_strict_paginator():
    assert len(LISTS) >= 5
    for pattern in urlpatterns:
        if pattern.name in LISTS:
            view = pattern.callback.view_class  # type: ignore[attr-defined]
            assert issubclass(view.pagination_class, Pages), pattern.name


@pytest.mark.parametrize("cursor", MALFORMED_CURSORS)
@pytest.mark.parametrize("name", LISTS)
def test_a_cursor_the_api_never_gave_is_400_on_every_list(client, name, cursor):
    path = {"version-list": "/api/v1/models/credit-pd/versions"}.get(name)
    if path is None:
        path = next(f"/api/v1/{p.pattern}" for p in urlpatterns if p.name == name)
    answer = client.get(path, {"cursor": cursor})
    assert "cursor" in problem(answer)


def test_the_cursors_the_api_gives_still_work(client):
    first = client.get("/api/v1/ledger/entries", {"limit": 5}).json()
    second = client.get(first["next"]).json()
    assert [entry["seq"] for entry in second["results"]] == [5, 6, 7, 8, 9]
    back = client.get(second["previous"]).json()
    assert back["results"] == first["results"]


# --- JSON with no canonical form ---------------------------------------------------------------

HOSTILE_JSON = {
    "infinite": "1e400",
    "integer-over-2^53": str(2**53 + 1),
    "negative-integer-under-2^53": str(-(2**53) - 1),
    "4000-digit-integer": "9" * 4000,
    "5000-digit-integer": "9" * 5000,
    "lone-surrogate": '"\\udc00"',
    "lone-surrogate-key": '{"\\ud800": 1}',
}
OPENLINEAGE = (
    '{"eventType": "START", "eventTime": "2026-03-31T12:00:00Z", '
    '"run": {"runId": "0195e3a4-7c21-7d3e-9b8a-2f64c1d0e5a7", "facets": {"x": {"v": %s}}}, '
    '"job": {"namespace": "bank", "name": "train"}, "producer": "https://bank.example", '
    '"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}'
)


def _bodies(value: str) -> dict[str, str]:
    package = json.dumps(make_package(1)).replace('"num_leaves": 63', f'"num_leaves": {value}')
    return {
        "/api/v1/models/credit-pd/versions": f'{{"package": {package}}}',
        "/api/v1/lineage": OPENLINEAGE % value,
        "/api/v1/snapshots": (
            '{"dataset": "apps", "label": "v1", "digest": "sha256:' + "0" * 64 + '", '
            f'"schema": {{"fields": [{value}]}}}}'
        ),
        "/api/v1/runs": f'{{"id": "train-1", "status": "running", "parameters": {{"p": {value}}}}}',
        "/api/v1/datasets": f'{{"name": "apps", "description": {value}}}',
    }


@pytest.mark.parametrize("value", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
@pytest.mark.parametrize("path", _bodies("0").keys())
def test_json_with_no_canonical_form_is_400_and_records_nothing(client, path, value):
    body = _bodies(value)[path]
    before = Entry.objects.count()
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "hostile-1"}):
        answer = client.post(path, body, content_type="application/json", **headers)
        detail = problem(answer)
        assert len(detail) < 300, detail  # the value is not echoed back
    assert Entry.objects.count() == before


@pytest.mark.parametrize(
    "error",
    [
        rfc8785.IntegerDomainError(2**60),
        rfc8785.FloatDomainError(float("inf")),
        rfc8785.CanonicalizationError("input contains non-UTF-8 codepoints"),
    ],
    ids=["integer", "float", "surrogate"],
)
def test_a_canonicalization_error_from_anywhere_in_a_view_is_a_400_problem(error):
    answer = problem_handler(error, {})
    assert answer is not None and answer.status_code == 400
    assert answer.content_type == PROBLEM
    assert "no canonical JSON form" in answer.data["detail"]
    assert str(2**60) not in answer.data["detail"]
