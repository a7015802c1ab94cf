"""The write and read endpoints, per scope and role; Idempotency-Key, including concurrent
identical requests on PostgreSQL; bad input answers 4xx problem+json and changes nothing."""

import hashlib
import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role, Scope
from auditreg.api.models import IdempotencyRecord
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import sha256_of
from auditreg.registry.domain import Meaning
from auditreg.registry.models import ModelVersion
from auditreg.registry.services import signatures, versions
from tests.conftest import postgres_only
from tests.factories import approve, authorize, deploy, make_model, make_package, make_use_case
from tests.factories import password as password_of

API = "/api/v1/"


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def token_client(people, *scopes: Scope, days: int = 30) -> APIClient:
    _, token = accounts.issue_token(
        principal=people.trainer, name="job", scopes=list(scopes), days=days, by=people.ada
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def session_client(principal) -> APIClient:
    from django.contrib.auth import get_user_model

    client = APIClient()
    client.force_login(get_user_model().objects.get(username=principal.username))
    return client


@pytest.fixture
def ingest(people):
    return token_client(people, Scope.INGEST)


@pytest.fixture
def reader(people):
    return token_client(people, Scope.READ)


@pytest.fixture
def model(people):
    return make_model(people)


MODEL = {
    "slug": "fraud-score",
    "name": "Card fraud score",
    "owner": "Fraud Analytics",
    "domain": "fraud",
    "risk_tier": "medium",
    "intended_purpose": "Score card transactions for fraud review",
    "limitations": "Not for ACH",
}


def post(client: APIClient, path: str, body: object, **headers: Any):
    return client.post(API + path, body, format="json", **headers)


def problem(response, status: int) -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    return str(body["detail"])


# --- Scopes and roles --------------------------------------------------------------------------


def test_an_ingest_token_records_a_whole_training_job(ingest, reader, model):
    assert post(ingest, "datasets", {"name": "apps", "uri": "s3://d/apps/"}).status_code == 201
    snapshot = {"dataset": "apps", "label": "2026-06", "digest": digest("apps"), "rows": 10}
    assert post(ingest, "snapshots", snapshot).status_code == 201
    run = {"id": "train-1", "status": "completed", "inputs": ["dataset:apps@2026-06"]}
    assert post(ingest, "runs", run).status_code == 201
    package = make_package(
        1,
        training_run={"id": "run:train-1", "authors": []},
        data=[{"snapshot": "dataset:apps@2026-06", "digest": digest("apps")}],
    )
    answer = post(ingest, "models/credit-pd/versions", {"package": package})
    assert answer.status_code == 201, answer.content
    assert answer.json()["subject"] == "model:credit-pd/1"
    again = post(ingest, "models/credit-pd/versions", {"package": package})
    assert again.status_code == 200 and again.json()["subject"] == "model:credit-pd/1"

    upstream = reader.get(API + "lineage/upstream", {"subject": "model:credit-pd/1"}).json()
    assert {"run:train-1", "dataset:apps@2026-06", "dataset:apps"} <= {
        node["subject"] for node in upstream["nodes"]
    }
    version = reader.get(API + "models/credit-pd/versions/1").json()
    assert version["package"]["data"][0]["snapshot"] == "dataset:apps@2026-06"
    nodes = reader.get(API + "lineage/nodes", {"kind": "snapshot"}).json()["results"]
    assert [node["subject"] for node in nodes] == ["dataset:apps@2026-06"]
    detail = reader.get(API + "lineage/nodes/dataset:apps@2026-06").json()
    assert detail["digest"] == digest("apps")


def test_a_read_token_cannot_write_and_an_ingest_token_cannot_read(ingest, reader, model):
    before = Entry.objects.count()
    assert "lacks the 'ingest' scope" in problem(post(reader, "models", MODEL), 403)
    assert "lacks the 'read' scope" in problem(ingest.get(API + "models"), 403)
    assert Entry.objects.count() == before


def test_tokens_cannot_sign_and_people_sign_with_their_password(people, model):
    version, _ = versions.register_version(model=model, package=make_package(1), by=people.trainer)
    both = token_client(people, Scope.INGEST, Scope.READ)
    dana = session_client(people.dana)
    shown = dana.get(API + CONTENT, {"meaning": "authored", "role": "developer"}).json()
    body = {
        "meaning": "authored",
        "role": "developer",
        "password": "whatever",
        "content_sha256": shown["content_sha256"],
    }
    path = "models/credit-pd/versions/1/signatures"
    assert "API tokens cannot sign" in problem(post(both, path, body), 403)
    assert "password" in problem(post(dana, path, {**body, "password": "wrong"}), 422)
    signed = post(dana, path, {**body, "password": password_of("dana")})
    assert signed.status_code == 201, signed.content
    assert ModelVersion.objects.get(pk=version.pk).stage == "validation"
    assert Entry.objects.get(seq=signed.json()["seq"]).payload["content"] == shown["content"]
    # An approver's role is checked by the services: a developer cannot approve.
    approve_body = {
        **body,
        "meaning": "approved",
        "role": "approver",
        "password": password_of("dana"),
    }
    assert "role approver" in problem(post(dana, path, approve_body), 422)


CONTENT = "models/credit-pd/versions/1/content-to-sign"


@pytest.mark.parametrize(
    "content_sha256",
    [
        None,
        "",
        "sha256:" + "0" * 63,
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 900_000,
        "md5:" + "0" * 32,
    ],
    ids=["missing", "empty", "short", "upper-case", "huge", "other-hash"],
)
def test_an_api_signature_needs_the_hash_of_what_the_signer_was_shown(
    people, model, content_sha256
):
    """As on the portal's sign page: a signature names the content its signer read. One that
    names none, or something that is no SHA-256, is malformed: refused, nothing recorded."""
    versions.register_version(model=model, package=make_package(1), by=people.trainer)
    body = {"meaning": "authored", "role": "developer", "password": password_of("dana")}
    if content_sha256 is not None:
        body["content_sha256"] = content_sha256
    before = Entry.objects.count()
    answer = post(session_client(people.dana), "models/credit-pd/versions/1/signatures", body)
    assert answer.status_code == 400, answer.content
    assert "content_sha256" in answer.json()["errors"]
    assert Entry.objects.count() == before


def test_a_signature_on_content_other_than_shown_is_refused_and_recorded(people, model):
    versions.register_version(model=model, package=make_package(1), by=people.trainer)
    body = {
        "meaning": "authored",
        "role": "developer",
        "password": password_of("dana"),
        "content_sha256": "sha256:" + "0" * 64,
    }
    answer = post(session_client(people.dana), "models/credit-pd/versions/1/signatures", body)
    assert "is not model:credit-pd/1 as it stands" in problem(answer, 422)
    assert not Entry.objects.filter(kind="signature.signed").exists()
    assert Entry.objects.filter(kind="signature.failed").count() == 1


def test_content_to_sign_is_what_the_portal_shows_with_its_hash(people, model):
    versions.register_version(model=model, package=make_package(1), by=people.trainer)
    version = ModelVersion.objects.get()
    shown = session_client(people.vic).get(
        API + CONTENT, {"meaning": "authored", "role": "developer"}
    )
    assert shown.status_code == 200, shown.content
    content = signatures.content_to_sign(
        record=version, meaning=Meaning.AUTHORED, role=Role.DEVELOPER
    )
    assert shown.json() == {
        "meaning": "authored",
        "role": "developer",
        "content": content,
        "content_sha256": sha256_of(content),
    }
    unknown = session_client(people.vic).get(API + CONTENT, {"meaning": "liked", "role": "x"})
    assert problem(unknown, 400)


def test_expired_and_revoked_tokens_get_401(people, clock):
    expired = token_client(people, Scope.READ, days=1)
    clock.advance(days=2)
    assert problem(expired.get(API + "models"), 401)
    row, token = accounts.issue_token(
        principal=people.trainer, name="x", scopes=[Scope.READ], days=5, by=people.ada
    )
    accounts.revoke_token(token=row, reason="leaked", by=people.ada)
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert problem(revoked.get(API + "models"), 401)
    assert problem(APIClient().get(API + "models"), 401)


def test_people_read_by_role(people, model):
    assert session_client(people.olga).get(API + "models").status_code == 200
    assert "has no role" in problem(session_client(people.mallory).get(API + "models"), 403)


def test_read_endpoints_answer(people, reader, model):
    version = approve(
        people,
        versions.register_version(model=model, package=make_package(1), by=people.trainer)[0],
    )
    use_case = make_use_case(people, model)
    authorize(people, version, use_case)
    deploy(people, version)
    assert reader.get(API + "models", {"risk_tier": "high"}).json()["results"][0]["slug"] == (
        "credit-pd"
    )
    assert reader.get(API + "models", {"risk_tier": "low"}).json()["results"] == []
    assert reader.get(API + "models/credit-pd").json()["risk_tier"] == "high"
    assert problem(reader.get(API + "models/nothing"), 404)
    listed = reader.get(API + "models/credit-pd/versions", {"stage": "production"}).json()
    assert [v["subject"] for v in listed["results"]] == [version.subject]
    assert reader.get(API + "use-cases").json()["results"][0]["slug"] == use_case.slug
    auths = reader.get(API + "authorizations", {"use_case": use_case.slug, "status": "active"})
    assert [a["version"] for a in auths.json()["results"]] == [version.subject]
    now = reader.get(API + "as-of", {"use_case": use_case.slug}).json()
    assert now["use_cases"][0]["in_use"] == version.subject
    before = (timezone.now() - timedelta(days=1)).isoformat()
    assert reader.get(API + "as-of", {"at": before}).json()["models"] == []
    assert "UTC offset" in problem(reader.get(API + "as-of", {"at": "2026-01-01T00:00"}), 400)
    assert problem(reader.get(API + "lineage/upstream"), 400)
    diff = reader.get(API + "lineage/diff", {"from": version.subject, "to": version.subject})
    assert diff.json()["artifact"]["changed"] is False


def test_monitoring_figures_are_recorded_for_versions_in_use(people, ingest, model):
    version = approve(
        people,
        versions.register_version(model=model, package=make_package(1), by=people.trainer)[0],
    )
    authorize(people, version, make_use_case(people, model))
    deploy(people, version)
    today = timezone.localdate().isoformat()
    body = {"metric": "auc", "value": "0.79", "window_start": today, "window_end": today}
    answer = post(ingest, "models/credit-pd/versions/1/monitoring", body)
    assert answer.status_code == 201, answer.content
    assert answer.json()["value"] == "0.79"
    assert "already recorded" in problem(
        post(ingest, "models/credit-pd/versions/1/monitoring", body), 422
    )


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "status", "match"),
    [
        ("models", {**MODEL, "risk_tier": "extreme"}, 400, "risk_tier"),
        ("models", {**MODEL, "colour": "red"}, 400, "colour"),
        ("models", {**MODEL, "slug": "Not A Slug"}, 422, "slug"),
        ("models/credit-pd/versions", {"package": "zip"}, 400, "package"),
        ("models/credit-pd/versions", {"package": {"flavor": "x"}}, 422, "artifact"),
        ("models/nothing/versions", {"package": make_package(1)}, 404, "No RegisteredModel"),
        (
            "models/credit-pd/versions",
            {"package": make_package(1, artifact={"uri": "s3://m", "digest": "sha256:abc"})},
            422,
            "64 lower-case hex",
        ),
        ("snapshots", {"dataset": "none", "label": "1", "digest": digest("x")}, 422, "not recor"),
        (
            "snapshots",
            {"dataset": "none", "label": "1", "digest": digest("x"), "rows": "many"},
            400,
            "rows",
        ),
        ("runs", {"id": "r", "status": "completed", "metrics": {"auc": 0.8}}, 422, "decimal"),
        ("runs", {"id": "r", "status": "completed", "inputs": "dataset:x@1"}, 400, "inputs"),
        ("runs", ["not", "an", "object"], 400, "Expected a dictionary"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(ingest, model, path, body, status, match):
    before = Entry.objects.count()
    assert match in problem(post(ingest, path, body), status)
    assert Entry.objects.count() == before


def test_malformed_json_is_a_400(ingest, model):
    before = Entry.objects.count()
    answer = ingest.post(API + "models", b'{"slug": ', content_type="application/json")
    assert "JSON parse error" in problem(answer, 400)
    assert Entry.objects.count() == before


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_a_repeat_with_the_same_key_returns_the_first_answer(ingest, model):
    first = post(ingest, "models", MODEL, HTTP_IDEMPOTENCY_KEY="job-42/model")
    assert first.status_code == 201
    before = Entry.objects.count()
    again = post(ingest, "models", MODEL, HTTP_IDEMPOTENCY_KEY="job-42/model")
    assert (again.status_code, again.json()) == (201, first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert Entry.objects.count() == before


def test_the_same_key_with_another_body_is_a_409(ingest, model):
    post(ingest, "models", MODEL, HTTP_IDEMPOTENCY_KEY="k")
    before = Entry.objects.count()
    other = {**MODEL, "slug": "other-model"}
    assert "was used for another request" in problem(
        post(ingest, "models", other, HTTP_IDEMPOTENCY_KEY="k"), 409
    )
    assert "was used for another request" in problem(
        post(ingest, "datasets", {"name": "d"}, HTTP_IDEMPOTENCY_KEY="k"), 409
    )
    assert Entry.objects.count() == before


def test_refused_requests_are_not_remembered(ingest, model):
    snapshot = {"dataset": "late", "label": "1", "digest": digest("late")}
    assert problem(post(ingest, "snapshots", snapshot, HTTP_IDEMPOTENCY_KEY="s"), 422)
    assert post(ingest, "datasets", {"name": "late"}).status_code == 201
    # The dataset now exists: the same request with the same key is checked again.
    assert post(ingest, "snapshots", snapshot, HTTP_IDEMPOTENCY_KEY="s").status_code == 201


def test_keys_are_per_principal(people, ingest, model):
    post(ingest, "datasets", {"name": "d1"}, HTTP_IDEMPOTENCY_KEY="shared")
    accounts.enroll_service(
        name="other", printed_name="Other job", roles=[Role.DEVELOPER], by=people.ada
    )
    from auditreg.accounts.models import Principal

    _, token = accounts.issue_token(
        principal=Principal.objects.get(actor_id="service:other"),
        name="t",
        scopes=[Scope.INGEST],
        days=5,
        by=people.ada,
    )
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert post(other, "datasets", {"name": "d2"}, HTTP_IDEMPOTENCY_KEY="shared").status_code == 201


def test_a_malformed_key_is_refused(ingest, model):
    assert "Idempotency-Key" in problem(
        post(ingest, "datasets", {"name": "d"}, HTTP_IDEMPOTENCY_KEY="has space"), 400
    )


@postgres_only
def test_concurrent_identical_requests_record_one_version(
    transactional_db, live_server, people, model
):
    _, token = accounts.issue_token(
        principal=people.trainer, name="race", scopes=[Scope.INGEST], days=5, by=people.ada
    )
    body = json.dumps({"package": make_package(7)}).encode()
    barrier = threading.Barrier(8)
    answers: list[tuple[int, dict[str, Any]]] = []

    def send() -> None:
        request = urllib.request.Request(
            f"{live_server.url}{API}models/credit-pd/versions",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "nightly-2026-11-27",
            },
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, json.load(response)))
        except urllib.error.HTTPError as error:
            answers.append((error.code, json.load(error)))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [201] * 8
    assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
    assert ModelVersion.objects.filter(model=model).count() == 1
    assert Entry.objects.filter(kind="version.registered").count() == 1
    assert IdempotencyRecord.objects.count() == 1
