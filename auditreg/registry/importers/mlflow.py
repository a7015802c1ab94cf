"""Importing what an MLflow tracking store holds: runs, their parameters and metrics, the
datasets they used, the models they logged and the registered versions of those models.

Everything is read through MLflow's own client, so file, SQL and HTTP stores all work, and
recorded through the services, which are idempotent by content: importing the same store
twice records nothing the second time. `read_store` does all the reading (and downloads
each model's files once, to digest them) before `record_store` writes anything, so a store
that cannot be read records nothing. A fact that contradicts one already recorded is
refused and reported, with what depends on it; the rest is recorded.

How the facts map:

- An MLflow run is the run `run:mlflow/<run_id>`; its job is the experiment's name. The
  status FINISHED, FAILED, KILLED, RUNNING, SCHEDULED becomes completed, failed, aborted,
  running, started. Parameters are kept as MLflow stores them (strings). Metrics are the
  latest value of each, written as the shortest decimal string that reads back as the same
  binary float (Python's `repr`); NaN and infinities are skipped with a warning, as are
  the metrics of a run that has not finished (they may still change). Code is the
  `mlflow.source.git.repoURL` (or `mlflow.source.name`) and `mlflow.source.git.commit`
  tags; MLflow does not record whether the working tree was dirty, so `dirty` is false.
  The authors are `user:<mlflow.user>` when that is a person enrolled in the registry.
- An MLflow dataset input is a snapshot `dataset:<name>@<MLflow digest>` (white space and
  '@' in the name become '-'); its uri is the source's uri, url or path when it has one.
- A logged model of the run is one of its artifacts, and its environment that of the run.
- A registered model version is a version (numbered by the registry) whose package holds
  the model's artifact, flavor, framework, environment and signature, the run's code,
  parameters, metrics and training snapshots, and `training_run` `run:mlflow/<run_id>`.
  An artifact already registered for the model counts as already present. The model's
  slug is the tag `auditreg.slug`, or else the MLflow name in lower case with runs of
  other characters turned into '-'. A new registered model takes its risk tier, owner,
  domain, intended purpose and limitations from the tags `auditreg.<field>`, or else
  from the defaults given.

Digests an auditor can recompute:

- Model artifact digest: take the files at the logged model's artifact location (what
  `mlflow.artifacts.download_artifacts(artifact_uri=<artifact location>)` returns); for
  each regular file, its path relative to that directory with '/' separators and the
  SHA-256 of its bytes in 64 lower-case hex digits; sort the list by path (by code
  point). For a version registered from a path rather than a logged model, the files
  are those at the version's source. The digest is
  "sha256:" followed by the hex SHA-256 of the RFC 8785 (JCS) canonical JSON of that list
  of {"path": ..., "sha256": ...} objects (`rfc8785.dumps(manifest)`). The `MLmodel` file
  holds the run and model ids and a creation time, so two trainings never share a digest.
- Snapshot digest: MLflow keeps a description of a dataset, not its data, and its own
  digest is a short hash (8 hex digits for a DataFrame, from a sample of its rows). That
  short hash is the snapshot's label, and the snapshot's digest is "sha256:" and the hex
  SHA-256 of the RFC 8785 canonical JSON of {"name", "digest", "schema", "profile"} with
  the values exactly as MLflow stores them (strings; null when absent). It pins what
  MLflow recorded about the data, not the data itself: nothing here reads the data.
- Environment lock digest: "sha256:" and the hex SHA-256 of the bytes of the model's
  `requirements.txt`, or of its `python_env.yaml` when it has no `requirements.txt`.
"""

import hashlib
import json
import math
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow.artifacts
import rfc8785
from mlflow import MlflowClient
from mlflow.entities import Dataset, Experiment, LoggedModel
from mlflow.entities import Run as MlflowRun
from mlflow.entities.model_registry import ModelVersion as MlflowVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model as MLmodel
from mlflow.store.entities.paged_list import PagedList

from auditreg.accounts.domain import USERNAME
from auditreg.accounts.models import Principal
from auditreg.errors import DomainError
from auditreg.proofs.checks import COMMIT, sha256_of
from auditreg.registry.models import ModelVersion, RegisteredModel
from auditreg.registry.services import versions
from lineage import services
from lineage.domain import dataset_subject, snapshot_subject
from lineage.models import Node

# An MLflow model is a directory (an `MLmodel` file and the files it names); its digest is
# the manifest digest described above. Not a registered media type, hence the x- prefix.
MEDIA_TYPE = "application/x-mlflow-model"
STATUS = {
    "SCHEDULED": "started",
    "RUNNING": "running",
    "FINISHED": "completed",
    "FAILED": "failed",
    "KILLED": "aborted",
}
FINISHED = {"completed", "failed", "aborted"}
MODEL_FIELDS = ("risk_tier", "owner", "domain", "intended_purpose", "limitations")
PAGE = 1000
PARAMETER_LIMIT = 2000  # what the run report accepts (MLflow accepts up to 6000)

T = TypeVar("T")


class MlflowImportError(Exception):
    """The MLflow store cannot be read, or holds nothing to import."""


# --- What the store holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    dataset: str
    label: str
    digest: str
    uri: str
    rows: int | None
    schema: dict[str, Any] | None

    @property
    def subject(self) -> str:
        return snapshot_subject(self.dataset, self.label)


@dataclass(frozen=True)
class ModelFiles:
    """A model's files as far as the registry is concerned."""

    uri: str
    digest: str
    flavor: str
    framework: dict[str, str]
    environment: dict[str, Any] | None
    schema: dict[str, list[Any]]

    def artifact(self) -> dict[str, str]:
        return {"uri": self.uri, "digest": self.digest, "media_type": MEDIA_TYPE}


@dataclass
class Run:
    user: str
    report: dict[str, Any]  # a run report (see lineage.domain.check_run) without its authors
    training_data: list[Snapshot]


@dataclass
class Version:
    model: str  # the MLflow registered model's name
    number: int  # MLflow's version number (the registry numbers its own)
    run: Run
    files: ModelFiles


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    tags: dict[str, str]


@dataclass
class Store:
    snapshots: dict[str, Snapshot] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)  # by MLflow run id
    models: dict[str, Model] = field(default_factory=dict)  # by MLflow name
    versions: list[Version] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# --- Reading -----------------------------------------------------------------------------------


def read_store(tracking_uri: str, experiment: str | None = None) -> Store:
    """Read every active run of `experiment` (or of every experiment), with the datasets,
    logged models and registered versions that go with them. Writes nothing."""
    check_store_exists(tracking_uri)
    try:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        return _read(client, tracking_uri, experiment)
    except MlflowException as exc:
        raise MlflowImportError(f"MLflow store {tracking_uri}: {exc.message}") from None


def check_store_exists(tracking_uri: str) -> None:
    """Refuse a local store that is not there: MLflow would create an empty one."""
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        path = tracking_uri.removeprefix("sqlite:///")
        if path != tracking_uri and path not in ("", ":memory:") and not Path(path).is_file():
            raise MlflowImportError(f"there is no MLflow database at {path}")
    elif parsed.scheme in ("", "file"):
        path = url2pathname(parsed.path) if parsed.scheme else tracking_uri
        if Path(path).is_file():
            raise MlflowImportError(f"{path} is a file; for a SQLite store use sqlite:///{path}")
        if not Path(path).is_dir():
            raise MlflowImportError(f"there is no MLflow store at {path}")


def _read(client: MlflowClient, tracking_uri: str, name: str | None) -> Store:
    store = Store()
    experiments = _experiments(client, name)
    ids = [experiment.experiment_id for experiment in experiments]
    logged = {
        model.model_id: model
        for model in _pages(
            lambda token: client.search_logged_models(ids, max_results=PAGE, page_token=token)
        )
    }
    files = {
        model_id: read_model_files(model.artifact_location, tracking_uri)
        for model_id, model in sorted(logged.items())
    }
    for experiment in experiments:
        for run in _runs(client, experiment.experiment_id):
            outputs = _run_models(run, logged, files)
            store.runs[run.info.run_id] = read_run(run, experiment.name, outputs, store)
    for version in _pages(
        lambda token: client.search_model_versions(max_results=PAGE, page_token=token)
    ):
        _read_version(client, tracking_uri, version, files, store, everything=name is None)
    store.versions.sort(key=lambda v: (v.model, v.number))
    return store


def _experiments(client: MlflowClient, name: str | None) -> list[Experiment]:
    if name is not None:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            known = ", ".join(sorted(e.name for e in _pages(client_experiments(client))))
            raise MlflowImportError(f"there is no MLflow experiment {name!r} (there are: {known})")
        return [experiment]
    return sorted(_pages(client_experiments(client)), key=lambda e: e.experiment_id)


def _runs(client: MlflowClient, experiment_id: str) -> Iterator[MlflowRun]:
    return _pages(
        lambda token: client.search_runs([experiment_id], max_results=PAGE, page_token=token)
    )


def client_experiments(client: MlflowClient) -> Callable[[str | None], PagedList[Experiment]]:
    return lambda token: client.search_experiments(max_results=PAGE, page_token=token)


def _pages(search: Callable[[str | None], PagedList[T]]) -> Iterator[T]:
    token: str | None = None
    while True:
        page = search(token)
        yield from page
        token = page.token
        if not token:
            return


def _run_models(
    run: MlflowRun, logged: dict[str, LoggedModel], files: dict[str, ModelFiles]
) -> list[ModelFiles]:
    models = sorted(
        (model for model in logged.values() if model.source_run_id == run.info.run_id),
        key=lambda model: (model.creation_timestamp, model.model_id),
    )
    return [files[model.model_id] for model in models]


def read_run(run: MlflowRun, job: str, models: list[ModelFiles], store: Store) -> Run:
    """One MLflow run as a run report; its dataset inputs are added to `store.snapshots`."""
    run_id = run.info.run_id
    warn = store.warnings.append
    inputs, training = [], []
    for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
        snapshot = read_snapshot(dataset_input.dataset, warn)
        store.snapshots[snapshot.subject] = snapshot
        inputs.append(snapshot.subject)
        context = {tag.key: tag.value for tag in dataset_input.tags}.get("mlflow.data.context")
        if context in (None, "", "training"):
            training.append(snapshot)
    status = STATUS.get(run.info.status, "running")
    metrics = {}
    if status in FINISHED:
        metrics = read_metrics(run.data.metrics, lambda text: warn(f"run {run_id}: {text}"))
    elif run.data.metrics:
        warn(f"run {run_id} is {status}: its metrics are imported once it has finished")
    environment = next((m.environment for m in models if m.environment is not None), None)
    report = {
        "id": f"mlflow/{run_id}",
        "job": job,
        "status": status,
        "started_at": _time(run.info.start_time),
        "ended_at": _time(run.info.end_time) if status in FINISHED else None,
        "parameters": read_parameters(run.data.params, lambda t: warn(f"run {run_id}: {t}")),
        "metrics": metrics,
        "inputs": sorted(set(inputs)),
        "outputs": [],
        "code": read_code(run.data.tags, lambda t: warn(f"run {run_id}: {t}")),
        "environment": environment,
        "artifacts": [model.artifact() for model in models],
    }
    training = list({snapshot.subject: snapshot for snapshot in training}.values())
    user = run.data.tags.get("mlflow.user") or run.info.user_id or ""
    return Run(user=user, report=report, training_data=training)


def _read_version(
    client: MlflowClient,
    tracking_uri: str,
    version: MlflowVersion,
    files: dict[str, ModelFiles],
    store: Store,
    *,
    everything: bool,
) -> None:
    run = store.runs.get(version.run_id or "")
    if run is None:
        if everything:  # else it may belong to an experiment that was not asked for
            store.warnings.append(
                f"{version.name} version {version.version} was not trained by a run of an "
                "active experiment: skipped"
            )
        return
    source = version.source or ""
    model_id = source.removeprefix("models:/") if source.startswith("models:/m-") else ""
    model_files = files.get(model_id) or read_model_files(source, tracking_uri)
    if version.name not in store.models:
        registered = client.get_registered_model(version.name)
        store.models[version.name] = Model(
            name=registered.name,
            description=registered.description or "",
            tags=dict(registered.tags or {}),
        )
    store.versions.append(Version(version.name, int(version.version), run, model_files))


def read_snapshot(dataset: Dataset, warn: Callable[[str], None]) -> Snapshot:
    name = re.sub(r"[\s@]+", "-", dataset.name.strip()) or "dataset"
    if name != dataset.name:
        warn(f"the MLflow dataset {dataset.name!r} is recorded as {name!r}")
    recorded = {
        "name": dataset.name,
        "digest": dataset.digest,
        "schema": dataset.schema,
        "profile": dataset.profile,
    }
    source, profile = _json(dataset.source), _json(dataset.profile)
    uri = next((source[k] for k in ("uri", "url", "path") if isinstance(source.get(k), str)), "")
    rows = profile.get("num_rows")
    return Snapshot(
        dataset=name,
        label=dataset.digest,
        digest=sha256_of(recorded),
        uri=uri,
        rows=rows if isinstance(rows, int) and not isinstance(rows, bool) else None,
        schema=read_schema(dataset.schema),
    )


def read_schema(schema: str | None) -> dict[str, Any] | None:
    """An MLflow column schema as snapshot fields; None for tensor or unnamed columns."""
    columns = _json(schema).get("mlflow_colspec")
    if not isinstance(columns, list) or not columns:
        return None
    if not all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in columns):
        return None
    return {"fields": [{"name": c["name"], "type": str(c.get("type", ""))} for c in columns]}


def read_metrics(metrics: dict[str, float], warn: Callable[[str], None]) -> dict[str, str]:
    figures = {}
    for name, value in sorted(metrics.items()):
        figure = decimal_string(value)
        if figure is None:
            warn(f"metric {name!r} is {value!r}, not a number: skipped")
        else:
            figures[name] = figure
    return figures


def decimal_string(value: float) -> str | None:
    """The shortest decimal that reads back as the same float; None for NaN and infinity."""
    value = float(value)
    return repr(value) if math.isfinite(value) else None


def read_parameters(params: dict[str, str], warn: Callable[[str], None]) -> dict[str, str]:
    parameters = {}
    for name, value in sorted(params.items()):
        if not value.strip():
            warn(f"parameter {name!r} is empty: skipped")
        elif len(value) > PARAMETER_LIMIT:
            warn(f"parameter {name!r} is longer than {PARAMETER_LIMIT} characters: skipped")
        else:
            parameters[name] = value
    return parameters


def read_code(tags: dict[str, str], warn: Callable[[str], None]) -> dict[str, Any] | None:
    commit = tags.get("mlflow.source.git.commit", "")
    repository = tags.get("mlflow.source.git.repoURL") or tags.get("mlflow.source.name", "")
    if not commit or not repository:
        return None
    if not COMMIT.fullmatch(commit):
        warn(f"the git commit {commit!r} is not a full commit id: code not recorded")
        return None
    return {"repository": repository, "commit": commit, "dirty": False}


def _time(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    return (datetime.fromtimestamp(0, UTC) + timedelta(milliseconds=milliseconds)).isoformat()


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- A model's files ---------------------------------------------------------------------------


def read_model_files(artifact_uri: str, tracking_uri: str) -> ModelFiles:
    """Download a model's files to a temporary folder, digest them and read its MLmodel."""
    with tempfile.TemporaryDirectory(prefix="mlflow-import-") as folder:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=artifact_uri, dst_path=folder, tracking_uri=tracking_uri
        )
        try:
            return model_files(Path(local), uri=artifact_uri)
        except OSError as exc:
            raise MlflowImportError(f"cannot read the model at {artifact_uri}: {exc}") from None


def model_files(directory: Path, *, uri: str) -> ModelFiles:
    model = MLmodel.load(str(directory))
    flavors = dict(model.flavors)
    flavor = next((name for name in flavors if name != "python_function"), "python_function")
    pyfunc = flavors.get("python_function", {})
    signature = model.signature
    return ModelFiles(
        uri=uri,
        digest=manifest_digest(directory),
        flavor=flavor,
        framework={"name": flavor, "version": _flavor_version(flavor, flavors[flavor])},
        environment=read_environment(directory, str(pyfunc.get("python_version", ""))),
        schema={
            "inputs": _schema_list(signature.inputs) if signature else [],
            "outputs": _schema_list(signature.outputs) if signature else [],
        },
    )


def manifest(directory: Path) -> list[dict[str, str]]:
    """Every regular file under `directory`: its relative path and the SHA-256 of its bytes."""
    files = [
        {
            "path": path.relative_to(directory).as_posix(),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for path in directory.rglob("*")
        if path.is_file()
    ]
    return sorted(files, key=lambda item: item["path"])


def manifest_digest(directory: Path) -> str:
    digest = hashlib.sha256(rfc8785.dumps(manifest(directory))).hexdigest()
    return f"sha256:{digest}"


def read_environment(directory: Path, python: str) -> dict[str, Any] | None:
    requirements = directory / "requirements.txt"
    python_env = directory / "python_env.yaml"
    lock = requirements if requirements.is_file() else python_env
    if not lock.is_file():
        return None
    if python_env.is_file():
        found = re.search(r"^python:\s*['\"]?([^\s'\"]+)", python_env.read_text(), re.MULTILINE)
        python = found.group(1) if found else python
    packages = {}
    if requirements.is_file():
        for line in requirements.read_text().splitlines():
            pinned = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\],]+)\s*==\s*(\S+)\s*", line)
            if pinned:
                packages[pinned.group(1)] = pinned.group(2)
    return {
        "lock_digest": "sha256:" + hashlib.sha256(lock.read_bytes()).hexdigest(),
        "python": python,
        "packages": packages,
    }


def _flavor_version(flavor: str, options: dict[str, Any]) -> str:
    exact = options.get(f"{flavor}_version")
    if isinstance(exact, str):
        return exact
    versions = [v for k, v in options.items() if k.endswith("_version") and isinstance(v, str)]
    return versions[0] if versions else ""


def _schema_list(schema: Any) -> list[Any]:
    if schema is None:
        return []
    value = json.loads(schema.to_json())
    return value if isinstance(value, list) else [value]


# --- Recording ---------------------------------------------------------------------------------


@dataclass
class Tally:
    recorded: Counter[str] = field(default_factory=Counter)
    present: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)

    def count(self, kind: str, created: bool) -> None:
        (self.recorded if created else self.present)[kind] += 1

    def summary(self) -> list[str]:
        kinds = ("datasets", "snapshots", "runs", "models", "versions")
        return [
            f"{kind}: {self.recorded[kind]} recorded, {self.present[kind]} already present"
            for kind in kinds
        ]


def record_store(store: Store, *, defaults: dict[str, str], by: Principal) -> Tally:
    """Record what `read_store` read. Each fact is its own transaction; a fact the registry
    refuses (it contradicts one already recorded) is reported, with the facts that name it
    (a run that used a refused snapshot, a version trained by a refused run), and the
    others go on."""
    tally = Tally()
    refused = _record_lineage(store, tally, by)
    models: dict[str, RegisteredModel | None] = {}
    for version in store.versions:
        what = f"{version.model} version {version.number}"
        if f"run:{version.run.report['id']}" in refused:
            tally.refused.append(f"{what}: its training run was refused")
            continue
        if version.model not in models:
            record = partial(_record_model, store.models[version.model], defaults, by)
            models[version.model] = _record(tally, "models", version.model, record)
        model = models[version.model]
        if model is not None:
            _record(tally, "versions", what, partial(_record_version, model, version, by))
    return tally


def _record_lineage(store: Store, tally: Tally, by: Principal) -> set[str]:
    """Record the datasets, snapshots and runs; return the subjects refused."""
    for name in sorted({snapshot.dataset for snapshot in store.snapshots.values()}):
        _record(tally, "datasets", f"dataset {name}", partial(_record_dataset, name, by))
    refused = set()
    for subject, snapshot in sorted(store.snapshots.items()):
        if _record(tally, "snapshots", subject, partial(_record_snapshot, snapshot, by)) is None:
            refused.add(subject)
    for run in store.runs.values():
        facts = {**run.report, "authors": authors(run.user)}
        subject = f"run:{facts['id']}"
        refused_inputs = sorted(refused & set(facts["inputs"]))
        if refused_inputs:
            tally.refused.append(f"{subject}: its input {refused_inputs[0]} was refused")
            refused.add(subject)
        elif (
            _record(tally, "runs", subject, partial(services.record_run, facts=facts, by=by))
            is None
        ):
            refused.add(subject)
    return refused


def _record(tally: Tally, kind: str, what: str, write: Callable[[], tuple[T, bool]]) -> T | None:
    try:
        result, created = write()
    except DomainError as exc:
        tally.refused.append(f"{what}: {exc}")
        return None
    tally.count(kind, created)
    return result


def _record_dataset(name: str, by: Principal) -> tuple[None, bool]:
    try:
        _, created = services.record_dataset(name=name, by=by)
    except DomainError:
        # Already recorded with a uri or description of its own: the snapshots join it.
        if not Node.objects.filter(subject=dataset_subject(name)).exists():
            raise
        return None, False
    return None, created


def _record_snapshot(snapshot: Snapshot, by: Principal) -> tuple[Node, bool]:
    return services.record_snapshot(
        dataset=snapshot.dataset,
        label=snapshot.label,
        digest=snapshot.digest,
        uri=snapshot.uri,
        rows=snapshot.rows,
        schema=snapshot.schema,
        by=by,
    )


def _record_model(
    model: Model, defaults: dict[str, str], by: Principal
) -> tuple[RegisteredModel, bool]:
    slug = model.tags.get("auditreg.slug") or slugify(model.name)
    existing = RegisteredModel.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    facts = {name: model.tags.get(f"auditreg.{name}") or defaults[name] for name in MODEL_FIELDS}
    registered = versions.register_model(
        slug=slug,
        name=model.name,
        owner=facts["owner"],
        domain=facts["domain"],
        risk_tier=facts["risk_tier"],  # type: ignore[arg-type]  # checked by the service
        intended_purpose=facts["intended_purpose"],
        limitations=facts["limitations"],
        description=model.description,
        by=by,
    )
    return registered, True


def _record_version(
    model: RegisteredModel, version: Version, by: Principal
) -> tuple[ModelVersion, bool]:
    # The same artifact is the same version, even if its package would now read otherwise
    # (its author enrolled since, say): a changed package is a correction, not an import.
    existing = model.versions.filter(artifact_digest=version.files.digest).first()
    if existing is not None:
        return existing, False
    package = version_package(version, authors(version.run.user))
    return versions.register_version(model=model, package=package, by=by)


def version_package(version: Version, authors: list[str]) -> dict[str, Any]:
    """The model package of a registered MLflow version (see auditreg.registry.domain)."""
    report, files = version.run.report, version.files
    return {
        "artifact": files.artifact(),
        "flavor": files.flavor,
        "framework": files.framework,
        "code": {**report["code"], "authors": []} if report["code"] else {},
        "environment": files.environment or {},
        "hyperparameters": report["parameters"],
        "metrics": report["metrics"],
        "schema": files.schema,
        "training_run": {"id": f"run:{report['id']}", "authors": authors},
        "data": [{"snapshot": s.subject, "digest": s.digest} for s in version.run.training_data],
    }


def authors(user: str) -> list[str]:
    """The run's author, when the MLflow user is a person enrolled under that name."""
    if not USERNAME.fullmatch(user):
        return []
    actor_id = f"user:{user}"
    return [actor_id] if Principal.objects.filter(actor_id=actor_id, kind="person").exists() else []


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].strip("-")
    return slug or "mlflow-model"
