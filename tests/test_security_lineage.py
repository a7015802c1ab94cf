"""Attacks on the lineage through the REST API, each of which once succeeded: extending a
finished training run after its version was approved, a snapshot both read and written by
one run, OpenLineage placeholders squatting a pipeline's snapshot, concurrent identical
posts recording a fact twice, and JSON that has no canonical form answering 500."""

import hashlib
import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset
from openlineage.client.serde import Serde
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.errors import DomainError
from auditreg.facts import replay
from auditreg.facts.record import write_fact
from auditreg.ledger.models import Entry
from auditreg.registry.services import versions
from lineage import services as lineage
from lineage.domain import check_run
from lineage.models import Edge, Event, Node
from tests.conftest import postgres_only
from tests.factories import (
    People,
    approve,
    authorize,
    deploy,
    make_model,
    make_package,
    make_use_case,
)

API = "/api/v1/"
PRODUCER = "https://git.bank.example/risk/pipelines"
RUN_ID = "0195e3a4-7c21-7d3e-9b8a-2f64c1d0e5a7"


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def token_for(people: People, *scopes: Scope) -> str:
    _, token = accounts.issue_token(
        principal=people.trainer, name="pipeline", scopes=list(scopes), by=people.ada
    )
    return token


def client_for(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api(people: People) -> APIClient:
    """The pipeline's token: it may ingest and read."""
    return client_for(token_for(people, Scope.INGEST, Scope.READ))


def post(client: APIClient, path: str, body: object) -> Any:
    return client.post(API + path, body, format="json")


def post_raw(client: APIClient, path: str, text: str) -> Any:
    return client.post(API + path, text.encode(), content_type="application/json")


def refused(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    return str(answer.json()["detail"])


def entries(kind: str = "") -> int:
    rows = Entry.objects.filter(kind=kind) if kind else Entry.objects.all()
    return rows.count()


def upstream(client: APIClient, subject: str) -> set[str]:
    answer = client.get(API + "lineage/upstream", {"subject": subject})
    assert answer.status_code == 200, answer.content
    return {node["subject"] for node in answer.json()["nodes"]}


def record_snapshot(client: APIClient, dataset: str, label: str) -> str:
    assert post(client, "datasets", {"name": dataset}).status_code in (200, 201)
    body = {"dataset": dataset, "label": label, "digest": digest(f"{dataset}@{label}")}
    assert post(client, "snapshots", body).status_code == 201
    return f"dataset:{dataset}@{label}"


TRAINING_RUN = {
    "id": "run:credit-pd/2026-02-a91f",
    "job": "credit-pd-training",
    "status": "completed",
    "started_at": "2026-02-01T02:00:00Z",
    "ended_at": "2026-02-01T03:00:00Z",
    "inputs": ["dataset:applications@2026-01"],
    "artifacts": [{"uri": "s3://models/credit-pd/2/model.txt", "digest": digest("model")}],
    "authors": ["user:dana"],
}


@pytest.fixture
def in_production(people: People, api: APIClient) -> str:
    """credit-pd/1, trained by a completed run, approved, authorized and in production."""
    record_snapshot(api, "applications", "2026-01")
    assert post(api, "runs", TRAINING_RUN).status_code == 201
    package = make_package(
        1,
        training_run={"id": TRAINING_RUN["id"], "authors": ["user:dana"]},
        data=[
            {"snapshot": "dataset:applications@2026-01", "digest": digest("applications@2026-01")}
        ],
    )
    model = make_model(people)
    version, _ = versions.register_version(model=model, package=package, by=people.trainer)
    approve(people, version)
    authorize(people, version, make_use_case(people, model))
    deploy(people, version)
    return version.subject


# --- A finished run is closed ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("addition", "named"),
    [
        ({"inputs": ["dataset:applications@2026-01", "dataset:poisoned-data@2026-12"]}, "inputs"),
        ({"outputs": ["dataset:poisoned-data@2026-12"]}, "outputs"),
        (
            {"artifacts": [{"uri": "s3://evil/model.txt", "digest": digest("evil")}]},
            "artifacts",
        ),
        ({"authors": ["user:dana", "user:alice"]}, "authors"),
    ],
    ids=["inputs", "outputs", "artifacts", "authors"],
)
def test_a_completed_run_behind_a_production_version_refuses_additions(
    api: APIClient, in_production: str, addition: dict[str, Any], named: str
) -> None:
    before_upstream = upstream(api, in_production)
    record_snapshot(api, "poisoned-data", "2026-12")
    before = entries()

    detail = refused(post(api, "runs", {**TRAINING_RUN, **addition}), 409)

    assert "run:credit-pd/2026-02-a91f is already completed" in detail
    assert named in detail
    assert entries() == before
    assert upstream(api, in_production) == before_upstream
    assert not Edge.objects.filter(source="dataset:poisoned-data@2026-12").exists()
    assert replay.check().clean


def test_the_review_reproduction_of_extending_a_production_run_is_refused(
    api: APIClient, in_production: str
) -> None:
    before_upstream = upstream(api, in_production)
    assert post(api, "datasets", {"name": "poisoned-data"}).status_code == 201
    snapshot = {"dataset": "poisoned-data", "label": "2026-12", "digest": digest("poison")}
    assert post(api, "snapshots", snapshot).status_code == 201
    attack = {
        "id": "run:credit-pd/2026-02-a91f",
        "status": "completed",
        "inputs": ["dataset:poisoned-data@2026-12"],
        "outputs": ["dataset:poisoned-data@2026-12"],
        "authors": ["user:alice"],
    }
    before = entries()

    assert "already completed" in refused(post(api, "runs", attack), 409)

    assert entries() == before
    assert upstream(api, in_production) == before_upstream


def test_an_identical_report_of_a_finished_run_is_already_recorded(
    api: APIClient, in_production: str
) -> None:
    before = entries()
    again = post(api, "runs", TRAINING_RUN)
    assert again.status_code == 200, again.content
    assert again.json()["subject"] == TRAINING_RUN["id"]
    # A report that repeats part of what is recorded adds nothing either.
    partial = post(api, "runs", {"id": TRAINING_RUN["id"], "status": "completed"})
    assert partial.status_code == 200, partial.content
    assert entries() == before


def test_a_running_run_still_takes_new_inputs_until_it_finishes(api: APIClient, people) -> None:
    first = record_snapshot(api, "bureau", "2026-01")
    second = record_snapshot(api, "bureau", "2026-02")
    run = {"id": "job-7", "status": "running", "inputs": [first]}
    assert post(api, "runs", run).status_code == 201
    done = {"id": "job-7", "status": "completed", "inputs": [second]}
    assert post(api, "runs", done).status_code == 201
    assert Node.objects.get(subject="run:job-7").facts["inputs"] == [first, second]
    late = {"id": "job-7", "status": "completed", "outputs": [record_snapshot(api, "out", "1")]}
    assert "already completed" in refused(post(api, "runs", late), 409)


def test_a_snapshot_cannot_be_both_input_and_output_of_one_run(api: APIClient, people) -> None:
    snapshot = record_snapshot(api, "loop", "1")
    before = entries()
    one_report = {"id": "cycle", "status": "completed", "inputs": [snapshot], "outputs": [snapshot]}
    assert "both an input and an output" in refused(post(api, "runs", one_report), 422)
    assert entries() == before

    running = {"id": "cycle", "status": "running", "inputs": [snapshot]}
    assert post(api, "runs", running).status_code == 201
    before = entries()
    second = {"id": "cycle", "status": "running", "outputs": [snapshot]}
    assert "both an input and an output" in refused(post(api, "runs", second), 409)
    assert entries() == before
    assert not Edge.objects.filter(source="run:cycle", target=snapshot).exists()


def test_a_new_run_cannot_claim_to_have_made_a_signed_versions_training_data(
    api: APIClient, in_production: str
) -> None:
    """The same attack under a new run id: the data a signed version was trained on gets no
    new producer."""
    before_upstream = upstream(api, in_production)
    poison = record_snapshot(api, "poisoned-data", "2026-12")
    before = entries()
    attack = {
        "id": "run:backfill-2026-12",
        "status": "completed",
        "inputs": [poison],
        "outputs": ["dataset:applications@2026-01"],
    }
    detail = refused(post(api, "runs", attack), 409)
    assert f"would change the lineage of {in_production}, which has been signed" in detail
    assert entries() == before
    assert upstream(api, in_production) == before_upstream


def test_a_running_run_behind_a_signed_version_takes_no_new_inputs(
    api: APIClient, people: People
) -> None:
    first = record_snapshot(api, "bureau", "2026-01")
    late = record_snapshot(api, "bureau", "2026-02")
    running = {"id": "long", "status": "running", "inputs": [first]}
    assert post(api, "runs", running).status_code == 201
    package = make_package(1, training_run={"id": "run:long", "authors": ["user:dana"]})
    version, _ = versions.register_version(
        model=make_model(people), package=package, by=people.trainer
    )
    # Before anyone signs, the run's report may still grow.
    more = {"id": "long", "status": "running", "inputs": [first, late]}
    assert post(api, "runs", more).status_code == 201
    approve(people, version)
    before_upstream = upstream(api, version.subject)
    later = record_snapshot(api, "bureau", "2026-03")
    assert "has been signed" in refused(
        post(api, "runs", {"id": "long", "status": "running", "inputs": [later]}), 409
    )
    # Finishing it with what it already named is still recorded.
    done = {"id": "long", "status": "completed", "ended_at": "2026-03-01T00:00:00Z"}
    assert post(api, "runs", done).status_code == 201
    assert upstream(api, version.subject) == before_upstream
    assert replay.check().clean


def ol_dataset(kind: Any, name: str, version: str) -> Any:
    facets = {"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)}
    return kind(namespace="s3://lake", name=name, facets=facets)


def ol_event(state: RunState, time: str, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    event = RunEvent(
        eventType=state,
        eventTime=time,
        run=Run(runId=RUN_ID),
        job=Job(namespace="bank.risk", name="credit_pd.train"),
        inputs=[ol_dataset(InputDataset, name, "2026-03") for name in inputs],
        outputs=[ol_dataset(OutputDataset, name, "2026-03") for name in outputs],
        producer=PRODUCER,
    )
    document: dict[str, Any] = json.loads(Serde.to_json(event))
    return document


def test_openlineage_events_may_repeat_a_finished_run_but_not_extend_it(
    api: APIClient, people
) -> None:
    start = ol_event(RunState.START, "2026-03-31T12:00:00Z", ["loans"], [])
    complete = ol_event(RunState.COMPLETE, "2026-03-31T12:45:00Z", ["loans"], ["features"])
    assert post(api, "lineage", start).status_code == 201
    assert post(api, "lineage", complete).status_code == 201
    run = Node.objects.get(subject=f"run:{RUN_ID}")

    # A late event that adds nothing (the client's RUNNING heartbeat, sent out of order).
    late = ol_event(RunState.RUNNING, "2026-03-31T12:30:00Z", ["loans"], [])
    assert post(api, "lineage", late).status_code == 201
    assert Node.objects.get(subject=f"run:{RUN_ID}").facts == run.facts

    before = entries()
    for event in (
        ol_event(RunState.OTHER, "2026-03-31T13:00:00Z", ["loans", "poison"], []),
        ol_event(RunState.COMPLETE, "2026-03-31T12:45:00Z", ["loans"], ["features", "poison"]),
    ):
        detail = refused(post(api, "lineage", event), 409)
        assert f"run:{RUN_ID} is already completed" in detail
    assert entries() == before
    assert Node.objects.get(subject=f"run:{RUN_ID}").facts == run.facts
    assert not Node.objects.filter(subject="dataset:s3://lake/poison@2026-03").exists()
    assert replay.check().clean


def test_openlineage_events_cannot_add_to_the_run_of_a_signed_version(
    api: APIClient, people: People
) -> None:
    start = ol_event(RunState.START, "2026-03-31T12:00:00Z", ["loans"], [])
    assert post(api, "lineage", start).status_code == 201
    package = make_package(1, training_run={"id": f"run:{RUN_ID}", "authors": ["user:dana"]})
    version, _ = versions.register_version(
        model=make_model(people), package=package, by=people.trainer
    )
    approve(people, version)
    before = entries()
    running = ol_event(RunState.RUNNING, "2026-03-31T12:10:00Z", ["loans", "poison"], [])
    assert "has been signed" in refused(post(api, "lineage", running), 409)
    assert entries() == before
    complete = ol_event(RunState.COMPLETE, "2026-03-31T12:45:00Z", ["loans"], [])
    assert post(api, "lineage", complete).status_code == 201
    assert Node.objects.get(subject=f"run:{RUN_ID}").facts["inputs"] == [
        "dataset:s3://lake/loans@2026-03"
    ]


def test_a_ledger_that_already_extends_a_finished_run_replays_as_it_was_recorded(
    api: APIClient, people
) -> None:
    """An entry written before finished runs were closed is still projected: the ledger is
    what happened, and replay must rebuild what the live tables hold."""
    first = record_snapshot(api, "bureau", "2026-01")
    added = record_snapshot(api, "bureau", "2026-02")
    old = {"id": "old", "status": "completed", "inputs": [first]}
    assert post(api, "runs", old).status_code == 201
    old_entry = check_run({"id": "old", "status": "completed", "inputs": [added]})
    write_fact(kind="run.recorded", subject="run:old", payload=old_entry, by=people.trainer)

    assert Node.objects.get(subject="run:old").facts["inputs"] == [first, added]
    assert replay.check().clean
    # Nothing more is accepted now.
    late = {"id": "old", "status": "completed", "outputs": [record_snapshot(api, "x", "1")]}
    assert refused(post(api, "runs", late), 409)


# --- OpenLineage placeholders do not squat the pipeline's subjects ---------------------------


def squatting_event() -> dict[str, Any]:
    return {
        "eventTime": "2026-03-31T13:05:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {
            "namespace": "squat",
            "name": "data",
            "facets": {"version": {"datasetVersion": "v1"}},
        },
    }


def test_a_native_snapshot_with_a_digest_completes_an_openlineage_placeholder(
    api: APIClient, people
) -> None:
    assert post(api, "lineage", squatting_event()).status_code == 201
    assert Node.objects.get(subject="dataset:squat/data@v1").digest == ""

    dataset = post(api, "datasets", {"name": "squat/data", "uri": "s3://lake/squat/data"})
    assert dataset.status_code == 201, dataset.content
    snapshot = {"dataset": "squat/data", "label": "v1", "digest": digest("squat"), "rows": 3}
    answer = post(api, "snapshots", snapshot)
    assert answer.status_code == 201, answer.content

    node = Node.objects.get(subject="dataset:squat/data@v1")
    assert (node.kind, node.digest, node.facts["rows"]) == ("snapshot", digest("squat"), 3)
    assert node.name == "squat/data @ v1"
    assert Node.objects.get(subject="dataset:squat/data").facts == {
        "uri": "s3://lake/squat/data",
        "description": "",
    }
    kinds = list(Entry.objects.order_by("seq").values_list("kind", flat=True))[-3:]
    assert kinds == ["openlineage.event", "dataset.recorded", "snapshot.recorded"]
    # Recorded once: the same again is already recorded, another digest contradicts it.
    before = entries()
    same = {"name": "squat/data", "uri": "s3://lake/squat/data"}
    assert post(api, "datasets", same).status_code == 200
    assert post(api, "snapshots", snapshot).status_code == 200
    assert "other facts" in refused(
        post(api, "snapshots", {**snapshot, "digest": digest("x")}), 409
    )
    # The same event again, or another naming the snapshot, changes it no more.
    assert post(api, "lineage", squatting_event()).status_code == 200
    later = {**squatting_event(), "eventTime": "2026-04-01T00:00:00Z"}
    assert post(api, "lineage", later).status_code == 201
    assert entries() == before + 1
    assert Node.objects.get(subject="dataset:squat/data@v1").digest == digest("squat")
    assert replay.check().clean

    # A version can now cite the pinned snapshot.
    package = make_package(
        1, data=[{"snapshot": "dataset:squat/data@v1", "digest": digest("squat")}]
    )
    model = make_model(people)
    version, created = versions.register_version(model=model, package=package, by=people.trainer)
    assert created and "dataset:squat/data@v1" in upstream(api, version.subject)
    assert replay.check().clean


def test_a_placeholder_behind_a_signed_version_is_not_completed_afterwards(
    api: APIClient, people: People
) -> None:
    """Completing a placeholder changes what a reader sees of it: not once it is signed."""
    complete = ol_event(RunState.COMPLETE, "2026-03-31T12:45:00Z", ["loans"], [])
    assert post(api, "lineage", complete).status_code == 201
    package = make_package(1, training_run={"id": f"run:{RUN_ID}", "authors": ["user:dana"]})
    version, _ = versions.register_version(
        model=make_model(people), package=package, by=people.trainer
    )
    approve(people, version)
    before = entries()
    detail = refused(post(api, "datasets", {"name": "s3://lake/loans"}), 409)
    assert f"would change the lineage of {version.subject}" in detail
    pinned = {"dataset": "s3://lake/loans", "label": "2026-03", "digest": digest("loans")}
    assert "has been signed" in refused(post(api, "snapshots", pinned), 409)
    assert entries() == before
    assert Node.objects.get(subject="dataset:s3://lake/loans@2026-03").digest == ""


# --- JSON with no canonical form is a 400, and records nothing --------------------------------

# Values that JSON can carry and RFC 8785 (the ledger's canonical form) cannot: a number
# that is infinite as a double, an integer beyond 2^53 - 1, a lone UTF-16 surrogate.
NOT_CANONICAL = {"huge-float": "1e400", "big-integer": str(2**60), "lone-surrogate": '"\\udc00"'}
MARK = "not-canonical"


def with_value(body: dict[str, Any], value: str) -> str:
    """`body` as JSON text, with `value` written where MARK is."""
    return json.dumps(body).replace(json.dumps(MARK), value)


def bodies() -> list[tuple[str, dict[str, Any]]]:
    event = squatting_event()
    event["dataset"]["facets"]["custom"] = {"value": MARK}
    snapshot = {"dataset": "d", "label": "1", "digest": digest("d")}
    return [
        ("lineage", event),
        ("snapshots", {**snapshot, "schema": {"fields": [{"name": MARK}]}}),
        ("snapshots", {**snapshot, "schema": {"fields": [{"name": "n", "size": MARK}]}}),
        ("runs", {"id": "r", "status": "completed", "parameters": {"seed": MARK}}),
        ("datasets", {"name": "d2", "description": MARK}),
    ]


@pytest.mark.parametrize("value", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
@pytest.mark.parametrize(
    ("path", "body"),
    bodies(),
    ids=["openlineage-facet", "schema-field", "schema-extra", "run-parameter", "dataset"],
)
def test_json_with_no_canonical_form_is_a_400_and_records_nothing(
    api: APIClient, path: str, body: dict[str, Any], value: str
) -> None:
    """Refused as the body is parsed, before the lineage's own check (the next test) runs."""
    assert post(api, "datasets", {"name": "d"}).status_code == 201
    before = entries()
    detail = refused(post_raw(api, path, with_value(body, value)), 400)
    assert any(word in detail for word in ("canonical", "surrogate")), detail
    assert entries() == before
    assert not Event.objects.exists()


SURROGATE, BIG_INTEGER = "\udc00", 2**60


@pytest.mark.parametrize(
    ("write", "value"),
    [
        ("openlineage", float("inf")),
        ("openlineage", BIG_INTEGER),
        ("openlineage", SURROGATE),
        ("schema", SURROGATE),
        ("run", BIG_INTEGER),
        ("run", SURROGATE),
        ("dataset", SURROGATE),
    ],
)
def test_lineage_refuses_values_with_no_canonical_form_from_any_caller(
    people: People, write: str, value: object
) -> None:
    """Not only through the API: the import, commands and the portal call the same services."""
    by = people.trainer
    lineage.record_dataset(name="d", by=by)
    event = squatting_event()
    event["dataset"]["facets"]["custom"] = {"value": value}
    writes: dict[str, Callable[[], object]] = {
        "openlineage": lambda: lineage.record_openlineage_event(event=event, by=by),
        "schema": lambda: lineage.record_snapshot(
            dataset="d", label="1", digest=digest("d"), schema={"fields": [{"name": value}]}, by=by
        ),
        "run": lambda: lineage.record_run(
            facts={"id": "r", "status": "completed", "parameters": {"seed": value}}, by=by
        ),
        "dataset": lambda: lineage.record_dataset(name="d2", description=str(value), by=by),
    }
    before = entries()
    with pytest.raises(DomainError, match="has no canonical JSON form"):
        writes[write]()
    assert entries() == before


# --- Concurrent identical posts record one fact ----------------------------------------------


def race(url: str, token: str, body: object, writers: int = 8) -> list[int]:
    """`writers` threads POST the same body at once, with no Idempotency-Key."""
    data = json.dumps(body).encode()
    barrier = threading.Barrier(writers)
    statuses: list[int] = []

    def send() -> None:
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)

    threads = [threading.Thread(target=send) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@postgres_only
def test_concurrent_identical_lineage_posts_record_each_fact_once(
    transactional_db: None, live_server: Any, people: People
) -> None:
    token = token_for(people, Scope.INGEST)
    bodies = [
        ("datasets", {"name": "raced", "uri": "s3://lake/raced"}),
        ("snapshots", {"dataset": "raced", "label": "1", "digest": digest("raced")}),
        ("runs", {"id": "raced-run", "status": "completed", "inputs": ["dataset:raced@1"]}),
        ("lineage", ol_event(RunState.COMPLETE, "2026-03-31T12:45:00Z", ["loans"], ["out"])),
    ]
    answers = {
        path: Counter(race(f"{live_server.url}{API}{path}", token, body)) for path, body in bodies
    }
    recorded = {
        kind: Entry.objects.filter(kind=kind, subject=subject).count()
        for kind, subject in [
            ("dataset.recorded", "dataset:raced"),
            ("snapshot.recorded", "dataset:raced@1"),
            ("run.recorded", "run:raced-run"),
            ("openlineage.event", f"run:{RUN_ID}"),
        ]
    }
    assert answers == {path: Counter({201: 1, 200: 7}) for path, _ in bodies}
    assert recorded == dict.fromkeys(recorded, 1)
    assert Event.objects.count() == 1
    assert replay.check().clean
