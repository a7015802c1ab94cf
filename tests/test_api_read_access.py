"""Who may read through the API: one rule for every read endpoint under /api/v1/. A token
needs the `read` scope; a person needs an active enrolment and a role. The endpoints are
taken from the URLconf, so a new one is checked the day it is added."""

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import URLPattern, reverse
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.api import urls as api_urls
from auditreg.ledger.models import Entry
from lineage import services as lineage
from reports import services as reports
from tests.factories import People, make_model, make_version

# Path parameters of the API's URLs, filled from the data `seeded` records.
PATH_VALUES: dict[str, Any] = {
    "slug": "credit-pd",
    "number": 1,
    "seq": 0,
    "subject": "dataset:applications",
}
# Query parameters an endpoint requires, so an allowed reader gets the resource itself.
QUERIES: dict[str, dict[str, Any]] = {
    "proof-inclusion": {"seq": 0},
    "proof-consistency": {"first": 1},
    "upstream": {"subject": "model:credit-pd/1"},
    "downstream": {"subject": "dataset:applications"},
    "diff": {"from": "model:credit-pd/1", "to": "model:credit-pd/2"},
    "content-to-sign": {"meaning": "authored", "role": "developer"},
}


def _reads() -> Iterator[URLPattern]:
    for pattern in api_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if hasattr(pattern.callback.view_class, "get"):  # type: ignore[attr-defined]
            yield pattern


READS = [pattern.name for pattern in _reads()]


def test_the_read_endpoints_are_found_in_the_urlconf():
    assert len(READS) >= 19
    assert {
        "checkpoint-latest",
        "entry-list",
        "entry-detail",
        "proof-inclusion",
        "proof-consistency",
    } <= set(READS)


def url_of(name: str, report_id: str) -> str:
    pattern = next(p for p in api_urls.urlpatterns if p.name == name)
    names = pattern.pattern.regex.groupindex
    values = {**PATH_VALUES, "report_id": report_id}
    return reverse(f"api:{name}", kwargs={key: values[key] for key in names})


@pytest.fixture
def seeded(people: People) -> str:
    """A model with two versions, a dataset, a signed checkpoint and a report request;
    returns the report's id."""
    model = make_model(people)
    make_version(people, model, 1)
    make_version(people, model, 2)
    lineage.record_dataset(name="applications", by=people.trainer)
    call_command("checkpoint", stdout=io.StringIO())
    report = reports.request_report(
        kind="model-risk", subject="model:credit-pd/1", by=people.olga, queue=False
    )
    return str(report.id)


def session(username: str) -> APIClient:
    client = APIClient()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def token(people: People, *scopes: Scope) -> APIClient:
    _, secret = accounts.issue_token(
        principal=people.trainer, name="reader", scopes=list(scopes), by=people.ada
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def no_role(people: People) -> APIClient:
    return session("mallory")


def not_enrolled(people: People) -> APIClient:
    """A Django account (made with createsuperuser, say) that was never enrolled."""
    get_user_model().objects.create_user("ghost", password="ghost-password-1234")
    return session("ghost")


def deactivated_auditor(people: People) -> APIClient:
    accounts.set_active(principal=people.olga, active=False, reason="left", by=people.ada)
    client = APIClient()
    # Deactivation blocks sign-in; a session opened before it must read nothing either.
    client.force_login(get_user_model().objects.get(username="olga"))
    return client


def ingest_token(people: People) -> APIClient:
    return token(people, Scope.INGEST)


def read_token(people: People) -> APIClient:
    return token(people, Scope.READ)


def auditor(people: People) -> APIClient:
    return session("olga")


@pytest.mark.parametrize("name", READS)
@pytest.mark.parametrize(
    "who", [no_role, not_enrolled, deactivated_auditor, ingest_token], ids=lambda f: f.__name__
)
def test_those_who_may_not_read_are_refused_by_every_read_endpoint(people, seeded, name, who):
    client = who(people)
    answer = client.get(url_of(name, seeded), QUERIES.get(name, {}))
    # A deactivated person's session no longer authenticates (401); the others are known
    # callers without the right to read (403).
    refused = 401 if who is deactivated_auditor else 403
    assert answer.status_code == refused, (name, answer.content[:300])
    assert answer["Content-Type"] == "application/problem+json"
    assert set(answer.json()) == {"type", "title", "status", "detail"}


@pytest.mark.parametrize("name", READS)
@pytest.mark.parametrize("who", [read_token, auditor], ids=lambda f: f.__name__)
def test_a_read_token_and_an_auditor_read_every_read_endpoint(people, seeded, name, who):
    answer = who(people).get(url_of(name, seeded), QUERIES.get(name, {}))
    if name == "report-file":  # requested, not produced yet: found, and not issued
        assert answer.status_code == 404 and "not issued yet" in answer.json()["detail"]
    else:
        assert answer.status_code == 200, (name, answer.content[:300])


def test_a_django_account_that_is_not_enrolled_writes_nothing(people, seeded):
    ghost = not_enrolled(people)
    before = Entry.objects.count()
    answer = ghost.post(
        "/api/v1/datasets", {"name": "shadow-data"}, format="json", HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 403
    assert "not enrolled" in answer.json()["detail"]
    assert Entry.objects.count() == before
