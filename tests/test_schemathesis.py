"""The API against its own OpenAPI schema: schemathesis sends generated requests (valid and
invalid) to every operation with a token holding both scopes. No answer may be a server
error, every answer must be one the schema declares, in the declared shape, and a request
without the token must be refused.

Then each generated request is sent again with every parameter and every body field, in
turn, set to each value that has broken the API before (NUL, a lone surrogate, Unicode
digits, 1e400, integers beyond 2^53 or of 5,000 digits, 100 KB of text, a forged cursor):
still no server error, and a refused request appends nothing to the ledger.

Schema-valid requests the services refuse (422, 409) are the API's contract, so
schemathesis's positive and negative data checks are left out."""

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.ledger.models import Entry
from auditreg.wsgi import application
from lineage import services as lineage
from reports import services as reports
from tests.conftest import append_many
from tests.factories import make_model, make_package, make_version

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
schema.config.generation.update(max_examples=25, deterministic=True)
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
    missing_required_header,
]


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """The WSGI app closes "old" connections around each request, which would close the test's
    transaction on PostgreSQL; Django's own test client unhooks this the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(people, settings, in_test_transaction) -> str:
    settings.AUDITREG_API_RATE = ""  # thousands of requests from one token
    cache.clear()
    append_many(5)
    call_command("checkpoint", stdout=io.StringIO())
    _, secret = accounts.issue_token(
        principal=people.trainer,
        name="schemathesis",
        scopes=[Scope.INGEST, Scope.READ],
        by=people.ada,
    )
    return secret


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_api_answers_as_its_schema_says(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


# --- Hostile values in every parameter and body field -------------------------------------------

hostile_schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
# One generated request per operation is the base; the test sends its hostile variants.
hostile_schema.config.generation.update(
    max_examples=1, deterministic=True, modes=[GenerationMode.POSITIVE]
)
hostile_schema.config.phases.update(phases=["fuzzing"])

# Each value as JSON text (a body is sent as these bytes: Python's json module cannot write
# 1e400 or a 5,000-digit integer) and, for URL parts and headers, as text.
HOSTILE: dict[str, tuple[str, str | None]] = {
    "nul": ('"\\u0000"', "\x00"),
    "nul-inside": ('"credit\\u0000pd"', "credit\x00pd"),
    # A URL or header cannot carry a lone surrogate (the portal's walk sends its bytes).
    "lone-surrogate": ('"\\udc00"', None),
    "unicode-digit": ('"\u00b2"', "\u00b2"),
    "arabic-indic-digit": ('"\u0663"', "\u0663"),
    "infinite": ("1e400", "1e400"),
    "2^53+1": (str(2**53 + 1), str(2**53 + 1)),
    "-(2^53+1)": (str(-(2**53) - 1), str(-(2**53) - 1)),
    "5000-digits": ("9" * 5000, "9" * 5000),
    "100-kb": (json.dumps("x" * 100_000), "x" * 100_000),
    "forged-cursor": ('"cD1hYmM="', "cD1hYmM="),
}
MARK = "\ue000hostile\ue000"
# Path parameters of requests that are not about them: records `seeded` made, so a hostile
# body reaches the services rather than a 404.
SEEDED = {"slug": "credit-pd", "number": 1, "seq": 0, "subject": "dataset:applications"}
DIGEST = "sha256:" + "0" * 64
# A valid body per write, so that a hostile value in one field is judged with the others
# right; a write not listed starts from its generated body, cut to the declared fields.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/models": {
        "slug": "scorecard",
        "name": "Scorecard",
        "owner": "Retail",
        "domain": "credit risk",
        "risk_tier": "low",
        "intended_purpose": "Scores applicants",
        "limitations": "None known",
    },
    "POST /api/v1/models/{slug}/versions": {"package": make_package(2)},
    "POST /api/v1/models/{slug}/versions/{number}/monitoring": {
        "metric": "auc",
        "value": "0.81",
        "window_start": "2026-03-01",
        "window_end": "2026-03-31",
    },
    "POST /api/v1/datasets": {"name": "bureau", "description": "Bureau scores"},
    "POST /api/v1/snapshots": {
        "dataset": "applications",
        "label": "2026-03",
        "digest": DIGEST,
        "rows": 10,
        "schema": {"fields": [{"name": "income", "type": "int"}]},
    },
    "POST /api/v1/runs": {
        "id": "train-7",
        "status": "running",
        "parameters": {"num_leaves": 63},
        "inputs": ["dataset:applications"],
    },
    "POST /api/v1/lineage": {
        "eventType": "START",
        "eventTime": "2026-03-31T12:00:00Z",
        "run": {"runId": "0195e3a4-7c21-7d3e-9b8a-2f64c1d0e5a7", "facets": {"x": {"n": 1}}},
        "job": {"namespace": "bank", "name": "train"},
        "inputs": [{"namespace": "s3://lake", "name": "loans", "facets": {}}],
        "producer": "https://bank.example",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    },
    "POST /api/v1/reports": {"kind": "model-risk", "subject": "model:credit-pd/1"},
}


@pytest.fixture
def seeded(people, token) -> dict[str, Any]:
    make_version(people, make_model(people))
    lineage.record_dataset(name="applications", by=people.trainer)
    report = reports.request_report(
        kind="model-risk", subject="model:credit-pd/1", by=people.olga, queue=False
    )
    return {**SEEDED, "report_id": str(report.id)}


def declared_fields(case) -> list[str]:
    definition = case.operation.definition.raw.get("requestBody", {})
    names: list[str] = []
    for content in definition.get("content", {}).values():
        reference = content.get("schema", {}).get("$ref", "")
        declared = hostile_schema.raw_schema["components"]["schemas"].get(
            reference.rsplit("/", 1)[-1], {}
        )
        names.extend(declared.get("properties", {}))
    return names


def base_body(case) -> Any:
    if case.operation.label in BODIES:
        return BODIES[case.operation.label]
    declared = declared_fields(case)
    if isinstance(case.body, dict) and declared:
        return {key: value for key, value in case.body.items() if key in declared}
    return case.body


def body_fields(case, body: Any) -> Iterator[tuple[str, ...]]:
    """Every field of the request body: those the schema declares, and those of the body
    sent, nested ones included."""
    for name in declared_fields(case):
        yield (name,)
    yield from _paths(body, ())


def _paths(value: Any, prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:1]):  # the first item stands for the others
            yield from _paths(item, (*prefix, str(index)))


def _with_mark(body: Any, path: tuple[str, ...]) -> Any:
    marked = json.loads(json.dumps(body if isinstance(body, dict) else {}))
    target = marked
    for key in path[:-1]:
        nxt = target[int(key)] if isinstance(target, list) else target.get(key)
        if not isinstance(nxt, dict | list):
            nxt = {}
            target[key] = nxt
        target = nxt
    if isinstance(target, list):
        target[int(path[-1])] = MARK
    else:
        target[path[-1]] = MARK
    return marked


def variants(case, paths: dict[str, Any], token: str) -> Iterator[tuple[str, Any, dict[str, str]]]:
    """The case with one parameter or one body field set to one hostile value, with the
    headers to send it with."""
    operation = case.operation
    auth = {"Authorization": f"Bearer {token}"}
    body = base_body(case)
    base: dict[str, Any] = {
        "path_parameters": {name: paths[name] for name in case.path_parameters if name in paths},
        "query": dict(case.query or {}),
        "headers": {},
        "body": NOT_SET if body is NOT_SET else json.dumps(body).encode(),
        "media_type": "application/json" if body is not NOT_SET else case.media_type,
    }
    for label, (as_json, as_text) in HOSTILE.items():
        for location in ("query", "path_parameters", "headers"):
            for parameter in getattr(operation, location):
                if as_text is None:
                    continue
                what = f"{location} {parameter.name}={label}"
                if parameter.name.lower() == "authorization":
                    yield what, operation.Case(**base), {"Authorization": f"Bearer {as_text}"}
                    continue
                changed = {**base[location], parameter.name: as_text}
                yield what, operation.Case(**{**base, location: changed}), auth
        if body is NOT_SET:
            continue
        for path in dict.fromkeys(body_fields(case, body)):
            marked = json.dumps(_with_mark(body, path))
            hostile = marked.replace(json.dumps(MARK), as_json).encode()
            yield (
                f"body {'.'.join(path)}={label}",
                operation.Case(**{**base, "body": hostile}),
                auth,
            )


HOSTILE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@hostile_schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_api_refuses_hostile_values_in_every_parameter_and_field(case, token, seeded):
    sent = 0
    for what, variant, headers in variants(case, seeded, token):
        before = Entry.objects.count()
        response = variant.call(headers=headers)
        assert response.status_code < 500, (what, response.content[:300])
        variant.validate_response(response, checks=HOSTILE_CHECKS, headers=headers)
        if response.status_code >= 400:
            assert Entry.objects.count() == before, what
        sent += 1
    assert sent >= len(HOSTILE) - 1  # the token at least, with every value a header carries
