"""`POST models/{slug}/corrections` supersedes some of a model's inventory facts with a reason:
one `model.corrected` entry, refused (and nothing recorded) as the service refuses."""

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from auditreg.ledger.models import Entry
from tests.factories import make_model

PATH = "/api/v1/models/credit-pd/corrections"
RE_TIERING = {"changes": {"risk_tier": "medium"}, "reason": "MRC-2026-11 re-tiering"}


@pytest.fixture
def model(people):
    return make_model(people)  # high tier, registered by dana


def signed_in(principal) -> APIClient:
    client = APIClient()
    client.force_login(get_user_model().objects.get(username=principal.username))
    return client


def token(scopes: str) -> APIClient:
    """A client with a new token of the trainer service (a developer), as an operator issues it."""
    printed = io.StringIO()
    call_command(
        "create_service_token",
        "--name=trainer",
        f"--scopes={scopes}",
        stdout=printed,
        stderr=io.StringIO(),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {printed.getvalue().strip()}")
    return client


def correct(client: APIClient, body: dict[str, Any], **headers: Any):
    return client.post(PATH, body, format="json", **headers)


def refusal(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return str(response.json()["detail"])


def corrections() -> list[Entry]:
    return list(Entry.objects.filter(kind="model.corrected"))


def test_the_committee_re_tiers_a_model_with_a_reason(people, model):
    answer = correct(signed_in(people.marc), RE_TIERING)
    assert answer.status_code == 201, answer.content
    assert answer.json()["risk_tier"] == "medium"
    [entry] = corrections()
    assert (entry.subject, entry.actor) == ("model:credit-pd", "user:marc")
    assert entry.payload["changes"] == {"risk_tier": "medium"}
    assert entry.payload["reason"] == "MRC-2026-11 re-tiering"


def test_a_developer_corrects_facts_but_not_the_risk_tier(people, model):
    dana = signed_in(people.dana)
    changes = {"owner": "Retail Credit Risk Modelling", "description": ""}
    answer = correct(dana, {"changes": changes, "reason": "the team was renamed"})
    assert answer.status_code == 201, answer.content
    assert answer.json()["owner"] == "Retail Credit Risk Modelling"
    assert "cannot change a model's risk tier" in refusal(correct(dana, RE_TIERING), 422)
    assert len(corrections()) == 1
    assert dana.get("/api/v1/models/credit-pd").json()["risk_tier"] == "high"


@pytest.mark.parametrize("username", ["alice", "vic", "olga", "mallory"])
def test_people_without_a_correcting_role_are_refused(people, model, username):
    client = signed_in(getattr(people, username))
    body = {"changes": {"limitations": "Not for anyone"}, "reason": "x"}
    assert "cannot correct a model" in refusal(correct(client, body), 422)
    assert corrections() == []


def test_a_token_needs_the_ingest_scope_and_acts_with_its_services_role(people, model):
    body = {"changes": {"limitations": "Not for small business or sole traders"}, "reason": "R-7"}
    assert refusal(correct(token("read"), body), 403)
    assert refusal(correct(APIClient(), body), 401)
    ingest = token("ingest")
    assert correct(ingest, body).status_code == 201
    assert "cannot change a model's risk tier" in refusal(correct(ingest, RE_TIERING), 422)
    assert [entry.actor for entry in corrections()] == ["service:trainer"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"changes": {"owner": "Retail Credit Risk"}, "reason": "x"}, 422, "already has these"),
        ({"changes": {}, "reason": "x"}, 422, "a correction changes some of"),
        ({"changes": {"slug": "other"}, "reason": "x"}, 400, "not part of the request"),
        ({"changes": {"risk_tier": "extreme"}, "reason": "x"}, 400, "not a valid choice"),
        ({"changes": {"owner": "Someone"}}, 400, "required"),
        ({"changes": {"owner": "Someone"}, "reason": "x", "by": "marc"}, 400, "not part of"),
    ],
)
def test_a_malformed_or_empty_correction_is_refused_and_records_nothing(
    people, model, body, status, reason
):
    assert reason in refusal(correct(signed_in(people.marc), body), status)
    assert corrections() == []


def test_an_unknown_model_is_404(people):
    answer = correct(signed_in(people.marc), RE_TIERING)
    assert answer.status_code == 404
    assert corrections() == []


def test_a_repeat_with_the_same_idempotency_key_records_once(people, model):
    marc = signed_in(people.marc)
    first = correct(marc, RE_TIERING, HTTP_IDEMPOTENCY_KEY="mrc-2026-11")
    again = correct(marc, RE_TIERING, HTTP_IDEMPOTENCY_KEY="mrc-2026-11")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(corrections()) == 1
