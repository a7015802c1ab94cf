"""The API against its own OpenAPI schema: schemathesis sends generated requests (valid and
invalid) to every operation with a token holding both scopes. No answer may be a server
error, every answer must be one the schema declares, in the declared shape, and a request
without the token must be refused.

Schema-valid requests the services refuse (422, 409) and query parameters DRF ignores when
they are malformed (`limit`) are the API's contract, so schemathesis's positive and negative
data checks are left out."""

import io
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from auditreg.registry import services
from auditreg.registry.domain import Scope
from auditreg.wsgi import application
from tests.conftest import append_many

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
    _, secret = services.issue_token(
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
