"""`import_mlflow` against a store that MLflow itself wrote (tests/mlflow_sample.py)."""

import hashlib
import io
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

import rfc8785
from django.core.management import CommandError, call_command
from mlflow import MlflowClient

from auditreg.facts import replay
from auditreg.ledger.models import Entry
from auditreg.proofs.checks import sha256_of
from auditreg.registry.importers import mlflow as mlflow_import
from auditreg.registry.models import ModelVersion, RegisteredModel
from lineage import services as lineage_services
from lineage.models import Edge, Node

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """An MLflow store written by MLflow, by the user `dana` (MLflow reads $USER)."""
    folder = tmp_path_factory.mktemp("mlflow")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "USER": "dana", "LOGNAME": "dana"}
    subprocess.run(
        [sys.executable, "-m", "tests.mlflow_sample", str(folder)],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return Path(folder)


@pytest.fixture(scope="module")
def mlflow(store) -> MlflowClient:
    uri = tracking_uri(store)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def tracking_uri(store: Path) -> str:
    return f"sqlite:///{store / 'mlflow.db'}"


def import_mlflow(store: Path, *args: str) -> str:
    out = io.StringIO()
    call_command(
        "import_mlflow", "--tracking-uri", tracking_uri(store), *args, stdout=out, stderr=out
    )
    return out.getvalue()


def mlflow_runs(mlflow: MlflowClient, experiment: str = "credit-scoring"):
    found = mlflow.get_experiment_by_name(experiment)
    assert found is not None
    return {run.info.run_id: run for run in mlflow.search_runs([found.experiment_id])}


def recomputed_digest(folder: Path) -> str:
    """The artifact digest as the module docstring defines it, computed independently."""
    manifest = []
    for dirpath, _, filenames in os.walk(folder):
        for filename in filenames:
            path = Path(dirpath) / filename
            manifest.append(
                {
                    "path": path.relative_to(folder).as_posix(),
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                }
            )
    manifest.sort(key=lambda item: item["path"])
    return "sha256:" + hashlib.sha256(rfc8785.dumps(manifest)).hexdigest()


# --- Runs, datasets, artifacts ----------------------------------------------------------------


@pytest.mark.slow
def test_import_records_each_run_with_its_parameters_and_metrics(db, store, mlflow):
    import_mlflow(store)

    runs = mlflow_runs(mlflow)
    assert len(runs) == 2
    for run_id, run in runs.items():
        node = Node.objects.get(subject=f"run:mlflow/{run_id}")
        assert node.kind == "run"
        assert node.facts["job"] == "credit-scoring"
        assert node.facts["status"] == "completed"
        assert node.facts["parameters"] == run.data.params
        assert set(node.facts["metrics"]) == {"accuracy", "loss"}
        for name, figure in node.facts["metrics"].items():
            assert isinstance(figure, str)
            assert Decimal(figure) == Decimal(repr(run.data.metrics[name]))
            assert float(figure) == run.data.metrics[name]
        assert node.facts["code"] == {
            "repository": "git@git.bank.example:risk/credit-scorer.git",
            "commit": "3f786850e387550fdab836ed7e6dc881de23001b",
            "dirty": False,
        }
        assert node.facts["authors"] == []  # dana is not enrolled


@pytest.mark.slow
def test_both_runs_share_one_dataset_snapshot(db, store, mlflow):
    import_mlflow(store)

    snapshot = Node.objects.get(kind="snapshot")
    dataset = next(iter(mlflow_runs(mlflow).values())).inputs.dataset_inputs[0].dataset
    assert snapshot.subject == f"dataset:applications@{dataset.digest}"
    assert snapshot.digest == sha256_of(
        {
            "name": dataset.name,
            "digest": dataset.digest,
            "schema": dataset.schema,
            "profile": dataset.profile,
        }
    )
    assert snapshot.facts["rows"] == 64
    assert [f["name"] for f in snapshot.facts["schema"]["fields"]] == [
        "income",
        "debt",
        "age",
        "default",
    ]
    for run_id in mlflow_runs(mlflow):
        run = Node.objects.get(subject=f"run:mlflow/{run_id}")
        assert run.facts["inputs"] == [snapshot.subject]
        assert Edge.objects.filter(source=snapshot.subject, target=run.subject, relation="input")
    assert Node.objects.filter(kind="dataset", subject="dataset:applications").exists()


@pytest.mark.slow
def test_each_logged_model_is_an_artifact_with_the_digest_of_its_files(db, store, mlflow):
    import_mlflow(store)

    experiment = mlflow.get_experiment_by_name("credit-scoring")
    assert experiment is not None
    logged = mlflow.search_logged_models([experiment.experiment_id])
    assert len(logged) == 2
    for model in logged:
        folder = store / "artifacts" / "credit-scoring" / "models" / model.model_id / "artifacts"
        digest = recomputed_digest(folder)
        run = Node.objects.get(subject=f"run:mlflow/{model.source_run_id}")
        assert run.facts["artifacts"] == [
            {
                "uri": model.artifact_location,
                "digest": digest,
                "media_type": mlflow_import.MEDIA_TYPE,
            }
        ]
        requirements = (folder / "requirements.txt").read_bytes()
        assert run.facts["environment"]["lock_digest"] == (
            "sha256:" + hashlib.sha256(requirements).hexdigest()
        )
        assert run.facts["environment"]["packages"]["torch"] == "2.13.0"
        assert Node.objects.filter(subject=f"artifact:{digest}").exists()


@pytest.mark.slow
def test_each_registered_version_is_a_version_trained_by_its_run(db, store, mlflow):
    import_mlflow(store)

    model = RegisteredModel.objects.get(slug="credit-scorer")
    assert model.name == "Credit Scorer"
    assert model.risk_tier == "high"  # from the registered model's tags
    assert model.owner == "Retail Credit Risk"
    assert "not recorded" in model.intended_purpose
    snapshot = Node.objects.get(kind="snapshot")
    for mlflow_version in mlflow.search_model_versions("name = 'Credit Scorer'"):
        number = int(mlflow_version.version)
        version = ModelVersion.objects.get(model=model, number=number)
        package = version.package
        run_subject = f"run:mlflow/{mlflow_version.run_id}"
        assert package["training_run"]["id"] == run_subject
        run = Node.objects.get(subject=run_subject)
        assert package["artifact"] == run.facts["artifacts"][0]
        assert package["flavor"] == "pytorch"
        assert package["framework"] == {"name": "pytorch", "version": "2.13.0+cpu"}
        assert package["hyperparameters"] == run.facts["parameters"]
        assert package["metrics"] == run.facts["metrics"]
        assert package["data"] == [{"snapshot": snapshot.subject, "digest": snapshot.digest}]
        assert Edge.objects.filter(
            source=run_subject, target=version.subject, relation="trained_by"
        )
    assert model.versions.count() == 2


@pytest.mark.slow
def test_an_enrolled_mlflow_user_is_the_author_of_runs_and_versions(people, store, mlflow):
    import_mlflow(store)

    for run_id in mlflow_runs(mlflow):
        assert Node.objects.get(subject=f"run:mlflow/{run_id}").facts["authors"] == ["user:dana"]
    for version in ModelVersion.objects.filter(model__slug="credit-scorer"):
        assert version.package["training_run"]["authors"] == ["user:dana"]


@pytest.mark.slow
def test_importing_twice_adds_no_entry(db, store):
    first = import_mlflow(store)
    entries = Entry.objects.count()

    second = import_mlflow(store)

    assert Entry.objects.count() == entries
    assert "runs: 3 recorded, 0 already present" in first
    assert "versions: 2 recorded, 0 already present" in first
    assert "runs: 0 recorded, 3 already present" in second
    assert "versions: 0 recorded, 2 already present" in second


@pytest.mark.slow
def test_the_import_is_recorded_by_the_import_service_principal(db, store):
    import_mlflow(store)

    enrollment = Entry.objects.filter(subject="service:mlflow-import")
    assert set(enrollment.values_list("kind", "actor")) == {
        ("principal.enrolled", "system:manage"),
        ("role.granted", "system:manage"),
    }
    facts = Entry.objects.exclude(subject="service:mlflow-import")
    assert set(facts.values_list("actor", flat=True)) == {"service:mlflow-import"}


@pytest.mark.slow
def test_facts_that_contradict_the_registry_are_refused_and_the_rest_recorded(people, store):
    # The sample's dataset snapshot, recorded first with another digest.
    read = mlflow_import.read_store(tracking_uri(store), "credit-scoring")
    ((subject, snapshot),) = read.snapshots.items()
    lineage_services.record_dataset(name="applications", by=people.dana)
    lineage_services.record_snapshot(
        dataset="applications", label=snapshot.label, digest="sha256:" + "0" * 64, by=people.dana
    )
    out = io.StringIO()

    with pytest.raises(CommandError, match="5 facts were refused"):
        call_command("import_mlflow", "--tracking-uri", tracking_uri(store), stdout=out, stderr=out)

    assert f"refused: {subject}: {subject} is already recorded with other facts" in out.getvalue()
    assert "Credit Scorer version 2: its training run was refused" in out.getvalue()
    assert not ModelVersion.objects.exists()
    assert Node.objects.filter(kind="run").count() == 1  # the smoke test's run, which used no data


@pytest.mark.slow
def test_a_metric_that_is_not_a_number_is_skipped_with_a_warning(db, store, mlflow):
    out = import_mlflow(store, "--experiment", "smoke-tests")

    assert "metric 'drift' is nan, not a number: skipped" in out
    (run_id,) = mlflow_runs(mlflow, "smoke-tests")
    node = Node.objects.get(subject=f"run:mlflow/{run_id}")
    assert node.facts["metrics"] == {"latency_ms": "12.5"}
    assert node.facts["parameters"] == {"rows": "64"}


@pytest.mark.slow
def test_experiment_option_imports_only_that_experiment(db, store, mlflow):
    out = import_mlflow(store, "--experiment", "credit-scoring")

    imported = set(Node.objects.filter(kind="run").values_list("subject", flat=True))
    assert imported == {f"run:mlflow/{run_id}" for run_id in mlflow_runs(mlflow)}
    assert "runs: 2 recorded" in out
    assert ModelVersion.objects.count() == 2


@pytest.mark.slow
def test_an_unknown_experiment_is_refused_and_records_nothing(db, store):
    with pytest.raises(CommandError, match=r"no MLflow experiment 'nope'.*credit-scoring"):
        import_mlflow(store, "--experiment", "nope")

    assert Entry.objects.count() == 0


def test_a_store_that_is_not_there_is_refused_and_not_created(db, tmp_path):
    missing = tmp_path / "missing.db"

    with pytest.raises(CommandError, match="no MLflow database at"):
        call_command("import_mlflow", "--tracking-uri", f"sqlite:///{missing}")

    assert not missing.exists()
    assert Entry.objects.count() == 0


def test_a_tracking_uri_mlflow_cannot_read_is_refused(db):
    with pytest.raises(CommandError, match="MLflow store"):
        call_command("import_mlflow", "--tracking-uri", "nosuchscheme://somewhere")

    assert Entry.objects.count() == 0


@pytest.mark.slow
def test_replay_rebuilds_what_the_import_recorded(db, store):
    import_mlflow(store)
    import_mlflow(store)

    result = replay.check()

    assert result.clean, result.differences + result.anomalies


# --- The mapping's pure parts -----------------------------------------------------------------


def test_metrics_are_the_shortest_decimal_that_reads_back_as_the_same_float():
    assert mlflow_import.decimal_string(0.1) == "0.1"
    assert mlflow_import.decimal_string(1e-05) == "1e-05"
    assert mlflow_import.decimal_string(3) == "3.0"
    assert mlflow_import.decimal_string(float("inf")) is None
    assert mlflow_import.decimal_string(float("nan")) is None


def test_model_names_become_slugs():
    assert mlflow_import.slugify("Credit Scorer") == "credit-scorer"
    assert mlflow_import.slugify("  fraud_model v2!") == "fraud-model-v2"
    assert mlflow_import.slugify("???") == "mlflow-model"


def test_manifest_digest_covers_every_file_and_its_path(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "data" / "model.pth").write_bytes(b"weights")
    before = mlflow_import.manifest_digest(tmp_path)
    assert before == recomputed_digest(tmp_path)

    (tmp_path / "data" / "model.pth").rename(tmp_path / "data" / "model2.pth")

    assert mlflow_import.manifest_digest(tmp_path) != before
