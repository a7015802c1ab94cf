"""`POST models/{slug}/versions/{n}/corrections` supersedes a version's package (same
artifact) with a reason, as a training job answers a request for changes: one
`version.corrected` entry, refused (and nothing recorded) as the service refuses."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from auditreg.accounts.domain import Role
from auditreg.ledger.models import Entry
from auditreg.registry import selectors
from auditreg.registry.services import signatures
from tests.factories import make_model, make_package, make_version, reload, submit
from tests.test_api_model_correction import refusal, signed_in, token

PATH = "/api/v1/models/credit-pd/versions/1/corrections"


@pytest.fixture
def in_validation(people):
    return submit(people, make_version(people, make_model(people)))


def corrected(metrics: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {"package": make_package(1, metrics=metrics, **overrides), "reason": "schema fixed"}


def corrections() -> list[Entry]:
    return list(Entry.objects.filter(kind="version.corrected"))


def test_the_training_job_answers_a_request_for_changes(people, in_validation):
    signatures.request_changes(
        version=in_validation, role=Role.APPROVER, comment="Fix the schema", by=people.alice
    )
    answer = token("ingest").post(PATH, corrected({"auc": "0.85"}), format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["package"]["metrics"] == {"auc": "0.85"}
    [entry] = corrections()
    assert entry.actor == "service:trainer"
    assert entry.payload["supersedes"] == in_validation.package_digest
    assert entry.payload["reason"] == "schema fixed"
    [request] = selectors.change_requests([reload(in_validation)])[in_validation.subject]
    assert not request.open


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (corrected({"auc": "0.84"}), 422, "already has exactly this package"),
        (
            corrected(
                {"auc": "0.85"}, artifact={"uri": "s3://m/other", "digest": "sha256:" + "e" * 64}
            ),
            422,
            "a different artifact is a different version",
        ),
        ({"package": make_package(1, metrics={"auc": "0.85"})}, 400, "required"),
        ({**corrected({"auc": "0.85"}), "by": "dana"}, 400, "not part of"),
    ],
)
def test_a_bad_correction_is_refused_and_records_nothing(
    people, in_validation, body, status, reason
):
    assert reason in refusal(signed_in(people.dana).post(PATH, body, format="json"), status)
    assert corrections() == []


def test_only_a_developer_with_the_ingest_scope_corrects(people, in_validation):
    body = corrected({"auc": "0.85"})
    assert "cannot correct model versions" in refusal(
        signed_in(people.vic).post(PATH, body, format="json"), 422
    )
    assert refusal(token("read").post(PATH, body, format="json"), 403)
    assert refusal(APIClient().post(PATH, body, format="json"), 401)
    assert corrections() == []


def test_an_unknown_version_is_404(people, in_validation):
    answer = token("ingest").post(PATH.replace("/1/", "/9/"), corrected({}), format="json")
    assert answer.status_code == 404
    assert corrections() == []
