"""OpenLineage events sent by the real openlineage-python client to a live server: a run
(START, then COMPLETE), a JobEvent and a DatasetEvent become lineage; the ledger keeps each
event and its digest; a POST refused with 503 is retried by the client and recorded once."""

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    schema_dataset,
    source_code_location_job,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpTransport
from requests import HTTPError
from rest_framework.test import APIClient

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Scope
from auditreg.facts import replay
from auditreg.ledger.models import Entry
from lineage import openlineage
from lineage.models import Edge, Event, Node
from tests.proxy import FlakyProxy

URL = "/api/v1/lineage"
PRODUCER = "https://git.bank.example/risk/pipelines"
REPOSITORY = "https://git.bank.example/risk/credit-pd.git"
COMMIT = "3f786850e387550fdab836ed7e6dc881de23001b"
RUN_ID = "0195e3a4-7c21-7d3e-9b8a-2f64c1d0e5a7"
RUN = f"run:{RUN_ID}"
TRAIN = "job:bank.risk/credit_pd.train"
LOANS = "dataset:s3://lake/loans@2026-03"
BUREAU = "dataset:postgres://warehouse:5432/risk.bureau_scores@v41"
FEATURES = "dataset:s3://features/credit_pd/train@2026-03-31"


def issue(people, *scopes: Scope) -> str:
    _, token = accounts.issue_token(
        principal=people.trainer, name="openlineage", scopes=list(scopes), by=people.ada
    )
    return token


@pytest.fixture
def token(people) -> str:
    """The training pipeline (a service with the Developer role) may ingest."""
    return issue(people, Scope.INGEST)


# --- The client, as a pipeline configures it -----------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the server answered to one request, and the request's event and headers."""

    status: int
    content_type: str
    body: dict[str, Any]
    event: dict[str, Any]
    headers: dict[str, str]


class Sender:
    """An OpenLineageClient with its HTTP transport, remembering every final answer (the
    transport's retries happen below it) with the event exactly as it went over the wire."""

    def __init__(self, url: str, token: str, **transport: Any) -> None:
        config = {
            "type": "http",
            "url": url,
            "endpoint": "api/v1/lineage",
            "auth": {"type": "api_key", "apiKey": token},
            **transport,
        }
        self.client = OpenLineageClient(config={"transport": config})
        assert isinstance(self.client.transport, HttpTransport)
        self.answers: list[Answer] = []
        self.client.transport.session.hooks["response"].append(self._keep)

    def _keep(self, response: Any, **kwargs: Any) -> None:
        # Keep values, not the response: it would hold the connection open.
        body = response.request.body
        if response.request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.answers.append(
            Answer(
                status=response.status_code,
                content_type=response.headers["Content-Type"],
                body=response.json(),
                event=json.loads(body),
                headers=dict(response.request.headers),
            )
        )

    def emit(self, event: RunEvent | JobEvent | DatasetEvent) -> dict[str, Any]:
        """Send the event; return it as it went over the wire."""
        self.client.emit(event)
        return self.answers[-1].event

    @property
    def statuses(self) -> list[int]:
        return [answer.status for answer in self.answers]


@pytest.fixture
def connect() -> Iterator[Callable[..., Sender]]:
    """Senders whose connections are closed at the end of the test (the live server's
    request threads share the test's SQLite connection and must end before it)."""
    senders: list[Sender] = []

    def make(url: str, token: str, **transport: Any) -> Sender:
        senders.append(Sender(url, token, **transport))
        return senders[-1]

    yield make
    for sender in senders:
        sender.client.close()


def dataset(kind: Callable[..., Any], namespace: str, name: str, version: str, *fields: str) -> Any:
    facets: dict[str, Any] = {
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version)
    }
    if fields:
        columns = [
            schema_dataset.SchemaDatasetFacetFields(name=n, type=t)
            for n, t in (field.split(":") for field in fields)
        ]
        facets["schema"] = schema_dataset.SchemaDatasetFacet(fields=columns)
    return kind(namespace=namespace, name=name, facets=facets)


def training_job() -> Job:
    location = source_code_location_job.SourceCodeLocationJobFacet(
        type="git",
        url=f"https://git.bank.example/risk/credit-pd/blob/{COMMIT}/train.py",
        repoUrl=REPOSITORY,
        version=COMMIT,
        branch="main",
    )
    return Job(
        namespace="bank.risk", name="credit_pd.train", facets={"sourceCodeLocation": location}
    )


def training_run(state: RunState, time: str) -> RunEvent:
    inputs = [
        dataset(InputDataset, "s3://lake", "loans", "2026-03", "loan_id:STRING", "amount:DECIMAL"),
        dataset(
            InputDataset, "postgres://warehouse:5432", "risk.bureau_scores", "v41", "score:INT"
        ),
    ]
    outputs = [dataset(OutputDataset, "s3://features", "credit_pd/train", "2026-03-31")]
    return RunEvent(
        eventType=state,
        eventTime=time,
        run=Run(runId=RUN_ID),
        job=training_job(),
        inputs=inputs,
        outputs=outputs if state == RunState.COMPLETE else [],
        producer=PRODUCER,
    )


def scoring_job() -> JobEvent:
    return JobEvent(
        eventTime="2026-03-31T13:00:00Z",
        job=Job(namespace="bank.risk", name="credit_pd.score"),
        inputs=[dataset(InputDataset, "s3://features", "credit_pd/train", "2026-03-31")],
        outputs=[OutputDataset(namespace="s3://scores", name="credit_pd")],
        producer=PRODUCER,
    )


def customers() -> DatasetEvent:
    return DatasetEvent(
        eventTime="2026-03-31T13:05:00Z",
        dataset=dataset(StaticDataset, "s3://lake", "customers", "2026-03", "customer_id:STRING"),
        producer=PRODUCER,
    )


def recorded() -> list[Entry]:
    return list(Entry.objects.filter(kind="openlineage.event").order_by("seq"))


def edges_of(subject: str) -> set[tuple[str, str, str]]:
    rows = Edge.objects.filter(target=subject) | Edge.objects.filter(source=subject)
    return {(edge.source, edge.relation, edge.target) for edge in rows}


# --- The real client against a live server -------------------------------------------------


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_a_run_sent_by_the_client_becomes_lineage(live_server, connect, token, compression):
    options = {"compression": compression} if compression else {}
    sender = connect(live_server.url, token, **options)
    events = [
        sender.emit(training_run(RunState.START, "2026-03-31T12:00:00.000Z")),
        sender.emit(training_run(RunState.COMPLETE, "2026-03-31T12:45:00.000Z")),
        sender.emit(scoring_job()),
        sender.emit(customers()),
    ]

    assert sender.statuses == [201, 201, 201, 201]
    wire = {answer.headers.get("Content-Encoding") for answer in sender.answers}
    assert wire == {compression}
    assert {answer.headers["Authorization"] for answer in sender.answers} == {f"Bearer {token}"}
    run = Node.objects.get(subject=RUN)
    assert run.kind == "run"
    assert run.facts["status"] == "completed"
    assert run.facts["started_at"] == "2026-03-31T12:00:00+00:00"
    assert run.facts["ended_at"] == "2026-03-31T12:45:00+00:00"
    assert run.facts["job"] == TRAIN
    assert run.facts["code"] == {"repository": REPOSITORY, "commit": COMMIT, "dirty": False}
    assert run.facts["inputs"] == [BUREAU, LOANS]  # sorted
    assert run.facts["outputs"] == [FEATURES]
    code = f"code:{REPOSITORY}@{COMMIT}"
    assert edges_of(RUN) == {
        (LOANS, "input", RUN),
        (BUREAU, "input", RUN),
        (RUN, "output", FEATURES),
        (TRAIN, "job", RUN),
        (code, "code", RUN),
    }
    assert ("dataset:s3://lake/loans", "snapshot_of", LOANS) in edges_of(LOANS)
    loans = Node.objects.get(subject=LOANS)
    assert loans.kind == "snapshot"
    assert loans.digest == ""  # OpenLineage pins no content
    assert loans.facts["schema"]["fields"] == [
        {"name": "loan_id", "type": "STRING"},
        {"name": "amount", "type": "DECIMAL"},
    ]
    assert Node.objects.get(subject="dataset:s3://lake/loans").facts["uri"] == "s3://lake/loans"
    kinds = dict(Node.objects.values_list("subject", "kind"))
    assert kinds[TRAIN] == kinds["job:bank.risk/credit_pd.score"] == "job"
    assert kinds["dataset:s3://scores/credit_pd"] == "dataset"
    assert kinds["dataset:s3://lake/customers@2026-03"] == "snapshot"
    assert kinds[code] == "code"

    entries = recorded()
    assert [entry.subject for entry in entries] == [
        RUN,
        RUN,
        "job:bank.risk/credit_pd.score",
        "dataset:s3://lake/customers",
    ]
    for entry, event, answer in zip(entries, events, sender.answers, strict=True):
        assert entry.payload == {"event": event, "digest": openlineage.digest(event)}
        assert answer.body["digest"] == openlineage.digest(event)
        assert answer.body["seq"] == entry.seq
    assert list(Event.objects.order_by("seq").values_list("event_type", flat=True)) == [
        "START",
        "COMPLETE",
        "",
        "",
    ]
    assert replay.check().clean


def test_the_same_event_sent_twice_is_recorded_once(live_server, connect, token):
    sender = connect(live_server.url, token, compression="gzip")
    event = training_run(RunState.START, "2026-03-31T12:00:00Z")
    first = sender.emit(event)
    again = sender.emit(event)

    assert first == again
    assert sender.statuses == [201, 200]
    assert sender.answers[0].body == sender.answers[1].body
    assert len(recorded()) == 1
    assert Event.objects.get().digest == openlineage.digest(first)


@pytest.fixture
def flaky(live_server) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(live_server.url, "POST")
    yield proxy
    proxy.close()


def test_a_post_refused_with_503_is_retried_by_the_client_and_recorded_once(flaky, connect, token):
    retry = {"total": 3, "backoff_factor": 0.01, "status_forcelist": [503]}
    sender = connect(flaky.url, token, compression="gzip", retry=retry)
    event = sender.emit(training_run(RunState.START, "2026-03-31T12:00:00Z"))

    assert [method for method, _, _ in flaky.seen] == ["POST", "POST"]
    assert sender.statuses == [201]
    entry = Entry.objects.get(kind="openlineage.event")
    assert entry.payload["digest"] == openlineage.digest(event)
    assert Node.objects.get(subject=RUN).facts["status"] == "started"
    assert replay.check().clean


def test_the_client_raises_when_the_token_may_only_read(live_server, connect, people):
    sender = connect(live_server.url, issue(people, Scope.READ))
    before = Entry.objects.count()
    with pytest.raises(HTTPError, match="403 Client Error"):
        sender.emit(customers())
    assert sender.statuses == [403]
    assert sender.answers[0].content_type == "application/problem+json"
    assert sender.answers[0].body["detail"] == "this API token lacks the 'ingest' scope"
    assert Entry.objects.count() == before


# --- What is refused, through the test client ----------------------------------------------


def an_event(**changes: Any) -> dict[str, Any]:
    """A START event as the client serializes it, with some fields changed (None removes)."""
    event: dict[str, Any] = json.loads(
        Serde.to_json(training_run(RunState.START, "2026-03-31T12:00:00Z"))
    )
    for name, value in changes.items():
        if value is None:
            del event[name]
        else:
            event[name] = value
    return event


def body(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("data", "headers", "status", "detail"),
    [
        (b'{"eventTime": ', {}, 400, "JSON parse error"),
        (body(an_event()), {"HTTP_CONTENT_ENCODING": "gzip"}, 400, "cannot be decompressed"),
        (body(an_event(eventTime=None)), {}, 422, "has no eventTime"),
        (body(an_event(eventTime="yesterday")), {}, 422, "not an ISO 8601 time"),
        (body(an_event(run={"facets": {}})), {}, 422, "has no runId"),
        (body(an_event(eventType="DONE")), {}, 422, "eventType 'DONE' is not one of"),
        (gzip.compress(b"[1, 2]"), {"HTTP_CONTENT_ENCODING": "gzip"}, 422, "JSON object"),
    ],
    ids=[
        "not-json",
        "gzip-header-plain-body",
        "no-time",
        "bad-time",
        "no-run-id",
        "bad-type",
        "gzip-array",
    ],
)
def test_what_is_not_an_event_is_refused_and_records_nothing(
    people, token, data, headers, status, detail
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = Entry.objects.count()
    answer = client.post(URL, data=data, content_type="application/json", **headers)
    assert answer.status_code == status
    assert answer["Content-Type"] == "application/problem+json"
    assert detail in answer.json()["detail"]
    assert Entry.objects.count() == before
    assert not Event.objects.exists()


def test_without_a_token_the_event_is_401(people):
    answer = APIClient().post(URL, data=body(an_event()), content_type="application/json")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
    assert not Event.objects.exists()
