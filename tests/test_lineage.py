"""The lineage graph: recorded through the ledger, idempotent, refusing contradictions and
unknown references, rebuilt exactly by replay, and answering upstream, downstream and diff
questions through derived datasets."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from auditreg.errors import Conflict, DomainError
from auditreg.facts import replay
from auditreg.ledger.models import Entry
from auditreg.registry import impact
from auditreg.registry.services import versions
from lineage import queries
from lineage import services as lineage
from lineage.models import Edge, Node
from tests.conftest import raw
from tests.factories import (
    approve,
    authorize,
    deploy,
    make_model,
    make_package,
    make_use_case,
)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


COMMIT = "a" * 40


@pytest.fixture
def data(people):
    """Raw bureau data → features run → derived applications snapshot."""
    by = people.trainer
    lineage.record_dataset(name="bureau", uri="s3://raw/bureau/", by=by)
    lineage.record_dataset(name="applications", by=by)
    lineage.record_snapshot(dataset="bureau", label="2026-06", digest=digest("bureau"), by=by)
    lineage.record_snapshot(
        dataset="applications",
        label="2026-06",
        digest=digest("applications"),
        rows=1200,
        schema={"fields": [{"name": "income", "type": "double"}]},
        time_range={"start": "2026-01-01T00:00:00Z", "end": "2026-06-30T23:59:59Z"},
        by=by,
    )
    lineage.record_run(
        facts={
            "id": "features-2026-06",
            "status": "completed",
            "inputs": ["dataset:bureau@2026-06"],
            "outputs": ["dataset:applications@2026-06"],
        },
        by=by,
    )
    return "dataset:applications@2026-06"


def train(people, model, n: int, *, snapshot: str = "dataset:applications@2026-06", **extra):
    run = {
        "id": f"train-{n}",
        "job": "credit-pd-training",
        "status": "completed",
        "started_at": "2026-07-01T02:00:00+00:00",
        "ended_at": "2026-07-01T03:00:00+00:00",
        "parameters": {"num_leaves": 31 + n},
        "metrics": {"auc": f"0.8{n}"},
        "inputs": [snapshot],
        "code": {"repository": "git@git.example:risk/pd.git", "commit": COMMIT},
        "environment": {"lock_digest": digest(f"lock {n}"), "python": "3.11.9"},
        "authors": ["user:dana"],
        **extra,
    }
    lineage.record_run(facts=run, by=people.trainer)
    package = make_package(
        n,
        training_run={"id": f"run:train-{n}", "authors": ["user:dana"]},
        data=[{"snapshot": snapshot, "digest": Node.objects.get(subject=snapshot).digest}],
        environment={"lock_digest": digest(f"lock {n}"), "python": "3.11.9"},
        hyperparameters={"num_leaves": 31 + n},
        metrics={"auc": f"0.8{n}"},
    )
    version, _ = versions.register_version(model=model, package=package, by=people.trainer)
    return version


def entries() -> int:
    return Entry.objects.count()


# --- Recording ---------------------------------------------------------------------------------


def test_the_same_facts_again_record_nothing(people, data):
    before = entries()
    node, created = lineage.record_dataset(name="bureau", uri="s3://raw/bureau/", by=people.trainer)
    assert (node.subject, created) == ("dataset:bureau", False)
    _, created = lineage.record_snapshot(
        dataset="bureau", label="2026-06", digest=digest("bureau"), by=people.trainer
    )
    assert not created
    _, created = lineage.record_run(
        facts={"id": "run:features-2026-06", "status": "completed"}, by=people.trainer
    )
    assert not created
    assert entries() == before


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda by: lineage.record_dataset(name="bureau", uri="s3://elsewhere/", by=by), "other"),
        (
            lambda by: lineage.record_snapshot(
                dataset="bureau", label="2026-06", digest=digest("changed"), by=by
            ),
            "other facts",
        ),
        (
            lambda by: lineage.record_run(
                facts={"id": "features-2026-06", "status": "failed"}, by=by
            ),
            "already completed",
        ),
    ],
)
def test_contradicting_a_recorded_fact_is_a_conflict(people, data, call, match):
    before = entries()
    with pytest.raises(Conflict, match=match):
        call(people.trainer)
    assert entries() == before


def test_reports_of_one_run_merge(people, data):
    by = people.trainer
    start = {"id": "job-1", "status": "started", "started_at": "2026-07-01T02:00:00Z"}
    lineage.record_run(facts={**start, "parameters": {"epochs": 3}}, by=by)
    lineage.record_run(
        facts={
            "id": "job-1",
            "status": "completed",
            "ended_at": "2026-07-01T03:00:00Z",
            "metrics": {"loss": "0.12"},
            "inputs": ["dataset:bureau@2026-06"],
            "artifacts": [{"uri": "s3://m/1", "digest": digest("model")}],
        },
        by=by,
    )
    run = Node.objects.get(subject="run:job-1")
    assert run.facts["status"] == "completed"
    assert run.facts["parameters"] == {"epochs": 3}
    assert run.facts["metrics"] == {"loss": "0.12"}
    assert run.facts["started_at"] == "2026-07-01T02:00:00+00:00"
    assert Edge.objects.filter(source="dataset:bureau@2026-06", target="run:job-1").exists()
    assert Edge.objects.filter(source="run:job-1", target=f"artifact:{digest('model')}").exists()
    with pytest.raises(Conflict, match="parameter 'epochs'"):
        lineage.record_run(
            facts={**start, "status": "completed", "parameters": {"epochs": 4}}, by=by
        )
    assert replay.check().clean


@pytest.mark.parametrize(
    ("facts", "match"),
    [
        ({"id": "r", "status": "done"}, "status 'done' is not one of"),
        ({"id": "r", "status": "completed", "metrics": {"auc": 0.8}}, "decimal number"),
        ({"id": "r", "status": "completed", "parameters": {"lr": 0.1}}, "send decimals as str"),
        ({"id": "r", "status": "completed", "inputs": ["dataset:nope@1"]}, "not a recorded"),
        ({"id": "r", "status": "completed", "inputs": ["dataset:bureau"]}, "is not a snapshot"),
        ({"id": "r", "status": "running", "ended_at": "2026-07-01T00:00:00Z"}, "with an end"),
        ({"id": "r", "status": "completed", "started_at": "yesterday"}, "not an ISO 8601"),
        ({"id": "r", "status": "completed", "started_at": "2026-07-01T00:00:00"}, "no UTC"),
        ({"id": "r", "status": "completed", "code": {"commit": "abc"}}, "full git commit"),
        (
            {"id": "r", "status": "completed", "artifacts": [{"uri": "x", "digest": "md5:1"}]},
            "64 lower-case hex",
        ),
        ({"id": "r", "status": "completed", "colour": "red"}, "unknown fields: colour"),
        ({"id": "has space", "status": "completed"}, "no spaces"),
    ],
)
def test_a_malformed_run_report_is_refused_and_changes_nothing(people, data, facts, match):
    before = entries()
    with pytest.raises(DomainError, match=match):
        lineage.record_run(facts=facts, by=people.trainer)
    assert entries() == before


def test_snapshots_need_their_dataset_and_a_real_digest(people, data):
    with pytest.raises(DomainError, match="dataset 'ghost' is not recorded"):
        lineage.record_snapshot(dataset="ghost", label="1", digest=digest("x"), by=people.trainer)
    with pytest.raises(DomainError, match="64 lower-case hex"):
        lineage.record_snapshot(dataset="bureau", label="2", digest="sha256:XYZ", by=people.trainer)
    with pytest.raises(DomainError, match="no spaces"):
        lineage.record_dataset(name="two words", by=people.trainer)


def test_only_developers_and_validators_record_lineage(people):
    for who in (people.olga, people.alice, people.mallory):
        with pytest.raises(DomainError, match="cannot record lineage"):
            lineage.record_dataset(name="x", by=who)


def test_a_version_must_name_recorded_snapshots_with_their_digest(people, data):
    model = make_model(people)
    unknown = make_package(1, data=[{"snapshot": "dataset:ghost@1", "digest": digest("g")}])
    with pytest.raises(DomainError, match="dataset:ghost@1 is not a recorded dataset snapshot"):
        versions.register_version(model=model, package=unknown, by=people.trainer)
    wrong = make_package(1, data=[{"snapshot": data, "digest": digest("tampered")}])
    with pytest.raises(DomainError, match="was recorded with digest"):
        versions.register_version(model=model, package=wrong, by=people.trainer)


# --- Questions ---------------------------------------------------------------------------------


def test_upstream_reaches_raw_data_through_derived_datasets(people, data):
    version = train(people, make_model(people), 1)
    graph = queries.upstream(version.subject)
    depth = {node.subject: node.depth for node in graph.nodes}
    assert depth[version.subject] == 0
    assert depth["run:train-1"] == 1
    assert depth["dataset:applications@2026-06"] == 1  # named by the package too
    assert depth["run:features-2026-06"] == 2
    assert depth["dataset:bureau@2026-06"] == 3
    assert depth["dataset:bureau"] == 4
    assert f"code:git@git.example:risk/pd.git@{COMMIT}" in depth
    kinds = {node.kind for node in graph.nodes}
    assert kinds == {"version", "run", "snapshot", "dataset", "code", "environment", "artifact"}
    assert ("run:features-2026-06", "dataset:applications@2026-06", "output") in graph.edges


def test_a_named_but_unreported_run_shows_as_not_recorded(people, data):
    model = make_model(people)
    package = make_package(1, training_run={"id": "run:never-reported", "authors": []})
    version, _ = versions.register_version(model=model, package=package, by=people.trainer)
    nodes = {node.subject: node for node in queries.upstream(version.subject).nodes}
    assert nodes["run:never-reported"].kind == ""
    assert nodes["run:never-reported"].as_json()["recorded"] is False


def test_downstream_impact_names_versions_and_their_use_cases(people, data):
    model = make_model(people)
    first = approve(people, train(people, model, 1))
    use_case = make_use_case(people, model)
    authorize(people, first, use_case)
    deploy(people, first)
    other = train(people, model, 2, snapshot="dataset:bureau@2026-06")
    graph = impact.downstream("dataset:bureau@2026-06")
    reached = {node.subject for node in graph.nodes}
    assert {first.subject, other.subject, "run:features-2026-06"} <= reached
    by_subject = {v["subject"]: v for v in graph.versions}
    assert by_subject[first.subject]["stage"] == "production"
    [use] = by_subject[first.subject]["use_cases"]
    assert (use["use_case"], use["in_force"], use["as"]) == (use_case.slug, True, "version")
    assert by_subject[other.subject]["use_cases"] == []
    # Downstream of the derived snapshot only: the version trained on raw data is not there.
    derived = impact.downstream("dataset:applications@2026-06")
    assert other.subject not in {node.subject for node in derived.nodes}


def test_diff_of_two_versions(people, data):
    model = make_model(people)
    first = train(people, model, 1)
    second = train(people, model, 2, snapshot="dataset:bureau@2026-06")
    change = impact.diff(first.subject, second.subject)
    assert change["data"]["removed"] == ["dataset:applications@2026-06"]
    assert change["data"]["added"] == []
    assert change["data"]["unchanged"] == ["dataset:bureau@2026-06"]
    assert change["parameters"]["changed"] == {"num_leaves": {"from": 32, "to": 33}}
    assert change["metrics"]["changed"] == {"auc": {"from": "0.81", "to": "0.82"}}
    assert change["environment"]["lock_digest"]["changed"] is True
    assert change["code"]["changed"] is True
    with pytest.raises(DomainError, match="not a registered model version"):
        impact.diff(first.subject, "model:credit-pd/99")


def test_unknown_subjects_are_refused(people):
    with pytest.raises(DomainError, match="is not recorded in the lineage"):
        queries.upstream("model:nothing/1")


# --- Replay ------------------------------------------------------------------------------------


def test_replay_rebuilds_the_graph_and_catches_a_forged_edge(people, data):
    model = make_model(people)
    version = train(people, model, 1)
    versions.correct_version(
        version=version,
        package={**version.package, "data": []},
        reason="the data reference was wrong",
        by=people.trainer,
    )
    # The correction replaced the version's upstream edges.
    assert not Edge.objects.filter(target=version.subject, relation="trained_on").exists()
    assert replay.check().clean
    live = sorted(Edge.objects.values_list("source", "target", "relation"))
    replay.rebuild()
    assert sorted(Edge.objects.values_list("source", "target", "relation")) == live

    raw(
        "INSERT INTO lineage_edge (target, source, relation, seq) VALUES (%s, %s, %s, %s)",
        [version.subject, "dataset:innocent@1", "trained_on", 1],
    )
    raw("UPDATE lineage_node SET digest = %s WHERE subject = %s", [digest("x"), data])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("replay_ledger", "--check", stdout=io.StringIO(), stderr=err)
    assert "dataset:innocent@1" in err.getvalue()
    assert f"node {data}: digest is" in err.getvalue()


def test_the_lineage_command_answers_and_refuses_unknown_subjects(people, data, capsys):
    version = train(people, make_model(people), 1)
    call_command("lineage", "--upstream", version.subject)
    out = capsys.readouterr().out
    assert "dataset:bureau@2026-06" in out and "run:features-2026-06" in out
    call_command("lineage", "--downstream", "dataset:bureau@2026-06")
    assert (
        f"affected: {version.subject} [development] (no authorization)" in capsys.readouterr().out
    )
    with pytest.raises(CommandError, match="not recorded in the lineage"):
        call_command("lineage", "--upstream", "model:ghost/1")
