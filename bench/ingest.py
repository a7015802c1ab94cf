"""Ingestion throughput over HTTP: auditreg against an MLflow tracking server, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.ingest

Works in two fresh databases on DATABASE_URL's server, `auditreg_bench` (see
`bench.ledger.scratch_database`) and `auditreg_bench_mlflow` (both dropped afterwards).
Starts auditreg under gunicorn with the production settings (DEBUG off) and `mlflow server`
on the second database, each with --workers processes, then registers the same model
versions on both with --clients concurrent clients (threads sending plain HTTP/1.1 through
`http.client`, so client overhead is the same on both sides):

- auditreg, package: one `POST models/{slug}/versions` per version with the full package
  (artifact, framework, code, environment, ten hyperparameters, ten metrics, a 20-field
  schema, the training run's id and authors, two data snapshots recorded beforehand).
- auditreg, run + package: a `POST runs` report of the completed training run (parameters,
  metrics, input snapshots, code, environment, artifact, authors), then the package.
- MLflow: the writes its Python client makes for a run and a registered version:
  runs/create (tags: user, git commit and repository), runs/log-batch (the ten
  hyperparameters, ten metrics, tags for flavor, framework, environment and authors),
  runs/log-inputs (the two snapshots as datasets with digest, source and schema),
  runs/update (FINISHED), model-versions/create (source, run id, tags: artifact digest,
  media type, schema) under a registered model created beforehand.

Every auditreg write carries an Idempotency-Key. --rounds rounds of --versions versions per
system, interleaved, after 32 untimed versions each to warm the servers; best round each.
Afterwards the auditreg ledger is verified (`verify_database`) and every version must be in
it exactly once.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.ledger import BENCH_DB, interleaved_best_of, print_table, scratch_database
from bench.registry import digest, make_package

Row = tuple[str, str, str, str]

MLFLOW_DB = f"{BENCH_DB}_mlflow"
AUTHORS = ["user:dev01", "user:dev02"]
MONTHS = range(1, 13)
FEATURES = 20  # fields in each snapshot's schema
WARM = 32  # versions registered on each system before the timed rounds
SYSTEMS = ("package", "run + package", "mlflow")
REQUESTS = {"package": 1, "run + package": 2, "mlflow": 5}
SLUGS = {"package": "credit-pd", "run + package": "credit-pd-runs", "mlflow": "credit-pd-mlflow"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=400, help="versions per system and round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (best kept)")
    parser.add_argument("--workers", type=int, default=4, help="server worker processes, each")
    parser.add_argument(
        "--worker-class",
        default="sync",
        choices=["sync", "gthread"],
        help="gunicorn worker class for auditreg (gthread: 4 threads per worker)",
    )
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the databases {BENCH_DB} and {MLFLOW_DB}"
    )
    args = parser.parse_args()
    with scratch_database(keep=args.keep) as url, mlflow_database(url, keep=args.keep) as ml_url:
        run(args, url, ml_url)


@contextmanager
def mlflow_database(url: str, *, keep: bool) -> Iterator[str]:
    """A second scratch database on the same server, for the MLflow tracking server."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {MLFLOW_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {MLFLOW_DB}")
    parts = urlsplit(url)
    try:
        # SQLAlchemy's psycopg (version 3) dialect: psycopg2 is not needed.
        yield urlunsplit(parts._replace(scheme="postgresql+psycopg", path=f"/{MLFLOW_DB}"))
    finally:
        if keep:
            print(f"kept the database {MLFLOW_DB}", file=sys.stderr)
        else:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {MLFLOW_DB} WITH (FORCE)")


def run(args: argparse.Namespace, url: str, mlflow_url: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("init_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
    token = set_up_auditreg()
    data_dir = Path(os.environ["AUDITREG_DATA_DIR"])
    with (
        serve_auditreg(url, data_dir, args) as auditreg_port,
        serve_mlflow(mlflow_url, data_dir, args) as mlflow_port,
    ):
        experiment = set_up_mlflow(mlflow_port)
        mlflow = MlflowClient(mlflow_port, experiment)
        clients: dict[str, AuditregClient | MlflowClient] = {
            "package": AuditregClient(auditreg_port, token, with_run=False),
            "run + package": AuditregClient(auditreg_port, token, with_run=True),
            "mlflow": mlflow,
        }
        # Each server's workers import and connect on their first requests: not timed.
        warm_up = range(1 + args.rounds * args.versions, 1 + args.rounds * args.versions + WARM)
        for system in SYSTEMS:
            register(clients[system], warm_up, args.clients)
        rounds: dict[str, list[float]] = {system: [] for system in SYSTEMS}
        batches = {system: iter(range(args.rounds)) for system in SYSTEMS}

        def measure(system: str) -> Callable[[], None]:
            def one_round() -> None:
                first = 1 + next(batches[system]) * args.versions
                numbers = range(first, first + args.versions)
                rounds[system].append(register(clients[system], numbers, args.clients))

            return one_round

        best = dict(
            zip(
                SYSTEMS,
                interleaved_best_of(args.rounds, *(measure(system) for system in SYSTEMS)),
                strict=True,
            )
        )
        mlflow_rows = count_mlflow(mlflow_port)
        retried = len(mlflow.retried)
    for system in SYSTEMS:
        spread = ", ".join(f"{args.versions / s:.1f}" for s in rounds[system])
        print(f"{system}: versions/s per round {spread}", file=sys.stderr)
    print_table(table(args, best))
    print()
    print(check_auditreg(args))
    print(f"MLflow: {mlflow_rows}; runs/log-inputs sent again after a duplicate-key 400: {retried}")


def table(args: argparse.Namespace, best: dict[str, float]) -> list[Row]:
    n = args.versions
    mlflow_rate = n / best["mlflow"]
    rows: list[Row] = []
    for system in SYSTEMS:
        rate = n / best[system]
        requests = REQUESTS[system]
        name = "MLflow" if system == "mlflow" else f"auditreg, {system}"
        rows.append(
            (
                f"{name} ({requests} request{'s' if requests > 1 else ''} per version)",
                f"{n:,} versions in {best[system]:.2f} s",
                f"{rate:.1f} versions/s ({rate * requests:.0f} requests/s)",
                "" if system == "mlflow" else f"{rate / mlflow_rate:.2f} (target >= 1)",
            )
        )
    return [
        (
            f"ingest over HTTP, {args.clients} clients, best of {args.rounds}",
            "versions, seconds",
            "versions/s",
            "ratio to MLflow",
        ),
        *rows,
    ]


# --- The versions -------------------------------------------------------------------------------


def snapshot(kind: str, month: int) -> dict[str, Any]:
    """The training and out-of-time snapshots, one of each a month, recorded beforehand."""
    name = f"credit-bureau-{kind}"
    return {
        "dataset": name,
        "label": f"2026-{month:02d}-01",
        "digest": digest(f"{name} {month}"),
        "uri": f"s3://lake/{name}/2026-{month:02d}-01/",
        "rows": 250_000 + 1_000 * month,
        "schema": {"fields": [{"name": f"f{i:02d}", "type": "double"} for i in range(FEATURES)]},
    }


def snapshot_subject(snap: dict[str, Any]) -> str:
    return f"dataset:{snap['dataset']}@{snap['label']}"


def package(slug: str, number: int) -> dict[str, Any]:
    """bench.registry's full package, its data replaced by two snapshots recorded here."""
    full = make_package(slug, number, AUTHORS, number, random.Random(f"{slug} {number}"))
    month = 1 + number % 12
    full["data"] = [
        {"snapshot": snapshot_subject(snap), "digest": snap["digest"]}
        for snap in (snapshot("train", month), snapshot("oot", month))
    ]
    return full


def run_report(full: dict[str, Any], number: int) -> dict[str, Any]:
    """The completed training run behind a package, as a pipeline reports it."""
    return {
        "id": full["training_run"]["id"],
        "job": "credit-pd/train",
        "status": "completed",
        "started_at": f"2026-11-{1 + number % 28:02d}T02:00:00+00:00",
        "ended_at": f"2026-11-{1 + number % 28:02d}T02:41:00+00:00",
        "parameters": full["hyperparameters"],
        "metrics": full["metrics"],
        "inputs": [item["snapshot"] for item in full["data"]],
        "code": {k: full["code"][k] for k in ("repository", "commit")},
        "environment": {k: full["environment"][k] for k in ("lock_digest", "python", "packages")},
        "artifacts": [full["artifact"]],
        "authors": full["training_run"]["authors"],
    }


# --- Clients ------------------------------------------------------------------------------------


class Refused(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection per client thread (reopened when the server
    closes it, as gunicorn's sync workers do after every answer)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json", **headers}

    def post(self, path: str, body: object, expect: Sequence[int], **headers: str) -> Any:
        self.http.request("POST", path, json.dumps(body), {**self.headers, **headers})
        response = self.http.getresponse()
        answer = response.read()
        if response.status not in expect:
            raise Refused(f"POST {path}: {response.status} {answer[:500]!r}")
        return json.loads(answer) if answer else None


@dataclass
class AuditregClient:
    port: int
    token: str
    with_run: bool

    @property
    def slug(self) -> str:
        return SLUGS["run + package" if self.with_run else "package"]

    def connect(self) -> Connection:
        return Connection(self.port, {"Authorization": f"Bearer {self.token}"})

    def register(self, connection: Connection, number: int) -> None:
        full = package(self.slug, number)
        if self.with_run:
            connection.post(
                "/api/v1/runs",
                run_report(full, number),
                (201,),
                **{"Idempotency-Key": f"{self.slug}/{number}/run"},
            )
        connection.post(
            f"/api/v1/models/{self.slug}/versions",
            {"package": full},
            (201,),
            **{"Idempotency-Key": f"{self.slug}/{number}/version"},
        )


@dataclass
class MlflowClient:
    port: int
    experiment: str
    retried: list[int] = field(default_factory=list)  # log-inputs sent again

    def connect(self) -> Connection:
        return Connection(self.port, {})

    def register(self, connection: Connection, number: int) -> None:
        slug = SLUGS["mlflow"]
        full = package(slug, number)
        now = int(time.time() * 1000)
        api = "/api/2.0/mlflow"
        code, environment = full["code"], full["environment"]
        created = connection.post(
            f"{api}/runs/create",
            {
                "experiment_id": self.experiment,
                "run_name": full["training_run"]["id"],
                "start_time": now,
                "tags": tags(
                    {
                        "mlflow.user": full["training_run"]["authors"][0],
                        "mlflow.source.git.commit": code["commit"],
                        "mlflow.source.git.repoURL": code["repository"],
                    }
                ),
            },
            (200,),
        )
        run_id = created["run"]["info"]["run_id"]
        connection.post(
            f"{api}/runs/log-batch",
            {
                "run_id": run_id,
                "params": [{"key": k, "value": str(v)} for k, v in full["hyperparameters"].items()],
                "metrics": [
                    {"key": k, "value": float(v), "timestamp": now, "step": 0}
                    for k, v in full["metrics"].items()
                ],
                "tags": tags(
                    {
                        "flavor": full["flavor"],
                        "framework": json.dumps(full["framework"]),
                        "code.authors": ",".join(code["authors"]),
                        "code.dirty": str(code["dirty"]),
                        "environment.lock_digest": environment["lock_digest"],
                        "environment.python": environment["python"],
                        "environment.packages": json.dumps(environment["packages"]),
                    }
                ),
            },
            (200,),
        )
        month = 1 + number % 12
        inputs = {
            "run_id": run_id,
            "datasets": [
                dataset_input(snapshot("train", month), "training"),
                dataset_input(snapshot("oot", month), "evaluation"),
            ],
        }
        # MLflow records a dataset the first time a run names it, without locking: two runs
        # naming a new dataset at once may both insert it, and one gets a 400. Sent again.
        for attempt in range(3):
            try:
                connection.post(f"{api}/runs/log-inputs", inputs, (200,))
                break
            except Refused as refused:
                if attempt == 2 or "UniqueViolation" not in str(refused):
                    raise
                self.retried.append(number)
        connection.post(
            f"{api}/runs/update",
            {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)},
            (200,),
        )
        artifact = full["artifact"]
        connection.post(
            f"{api}/model-versions/create",
            {
                "name": slug,
                "source": artifact["uri"],
                "run_id": run_id,
                "tags": tags(
                    {
                        "artifact.digest": artifact["digest"],
                        "artifact.media_type": artifact["media_type"],
                        "schema": json.dumps(full["schema"]),
                    }
                ),
            },
            (200,),
        )


def tags(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def dataset_input(snap: dict[str, Any], context: str) -> dict[str, Any]:
    """An MLflow dataset input. Its digest column holds 36 characters, so the SHA-256 is cut
    (the full one goes in the source)."""
    return {
        "dataset": {
            "name": snapshot_subject(snap),
            "digest": snap["digest"].removeprefix("sha256:")[:36],
            "source_type": "s3",
            "source": json.dumps({"uri": snap["uri"], "digest": snap["digest"]}),
            "schema": json.dumps(snap["schema"]),
        },
        "tags": [{"key": "mlflow.data.context", "value": context}],
    }


def register(client: AuditregClient | MlflowClient, numbers: range, clients: int) -> float:
    """Register `numbers` with `clients` threads; the wall time from the first request to
    the last answer. Any refusal stops the bench."""
    errors: list[BaseException] = []
    start = threading.Barrier(clients + 1)

    def work(share: range) -> None:
        connection = client.connect()
        start.wait()
        try:
            for number in share:
                client.register(connection, number)
        except BaseException as exc:  # reported after the round
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(numbers[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        sys.exit(f"{type(client).__name__}: {len(errors)} client(s) failed: {errors[0]}")
    return elapsed


# --- Servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_auditreg(url: str, data_dir: Path, args: argparse.Namespace) -> Iterator[int]:
    """auditreg under gunicorn with the production settings."""
    port = free_port()
    environment = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": url,
        "AUDITREG_KEYS_DIR": str(data_dir / "keys"),
        "CELERY_BROKER_URL": "memory://",  # nothing is enqueued by these writes
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback, no TLS proxy
        "LOG_LEVEL": "WARNING",
        "AUDITREG_API_RATE": "",  # no request limit: the bench is one client sending a lot
    }
    command = [sys.executable, "-m", "gunicorn", "auditreg.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(args.workers), "--worker-class", args.worker_class]
    if args.worker_class == "gthread":
        command += ["--threads", "4"]
    with server(command, environment, data_dir / "gunicorn.log", port, "/api/v1/models"):
        yield port


@contextmanager
def serve_mlflow(url: str, data_dir: Path, args: argparse.Namespace) -> Iterator[int]:
    """`mlflow server` (uvicorn, its default) on the second database."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(args.workers)]
    command += ["--backend-store-uri", url]
    command += ["--artifacts-destination", str(data_dir / "mlartifacts")]
    with server(command, dict(os.environ), data_dir / "mlflow.log", port, "/health"):
        yield port


@contextmanager
def server(
    command: list[str], environment: dict[str, str], log: Path, port: int, probe: str
) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=environment, stdout=out, stderr=out)
    try:
        wait_until_up(process, port, probe, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_up(process: subprocess.Popen[bytes], port: int, probe: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args!r} exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers (401 without a token)
        except OSError:
            time.sleep(0.5)
    sys.exit(f"{command_name(process)} did not answer within 180 s:\n{log.read_text()[-3000:]}")


def command_name(process: subprocess.Popen[bytes]) -> str:
    return " ".join(str(part) for part in process.args[:4])  # type: ignore[index]


# --- Set-up and checks --------------------------------------------------------------------------


def set_up_auditreg() -> str:
    """An administrator, the trainer service with the developer role and an ingest token,
    the models, and the snapshots the packages name (through the services, not timed)."""
    from auditreg.accounts import services as accounts
    from auditreg.accounts.domain import Role, Scope
    from auditreg.registry.domain import RiskTier
    from auditreg.registry.services import versions
    from lineage import services as lineage

    admin = accounts.enroll_person(
        username="adm01", printed_name="Bench Administrator", roles=[Role.ADMINISTRATOR],
        by=accounts.SYSTEM,
    )  # fmt: skip
    trainer = accounts.enroll_service(
        name="trainer", printed_name="Nightly training pipeline", roles=[Role.DEVELOPER], by=admin
    )
    _, token = accounts.issue_token(
        principal=trainer, name="bench ingest", scopes=[Scope.INGEST], by=admin
    )
    for slug in (SLUGS["package"], SLUGS["run + package"]):
        versions.register_model(
            slug=slug,
            name="Retail credit PD",
            owner="Retail Credit Risk Analytics",
            domain="credit risk",
            risk_tier=RiskTier.HIGH,
            intended_purpose="12-month probability of default for applicants",
            limitations="Not validated for small business lending.",
            by=trainer,
        )
    for kind in ("train", "oot"):
        lineage.record_dataset(name=f"credit-bureau-{kind}", uri="s3://lake/", by=trainer)
        for month in MONTHS:
            lineage.record_snapshot(**snapshot(kind, month), by=trainer)
    return token


def set_up_mlflow(port: int) -> str:
    """The experiment and the registered model the versions go to (not timed)."""
    connection = Connection(port, {})
    api = "/api/2.0/mlflow"
    answer = connection.post(f"{api}/experiments/create", {"name": "credit-pd"}, (200,))
    connection.post(f"{api}/registered-models/create", {"name": SLUGS["mlflow"]}, (200,))
    return str(answer["experiment_id"])


def check_auditreg(args: argparse.Namespace) -> str:
    """The ledger verifies, and every version registered over HTTP is in it exactly once."""
    from django.db import connection

    from auditreg.ledger.integrity import verify_database
    from auditreg.registry.models import ModelVersion

    verdict = verify_database()
    expected = 2 * (args.rounds * args.versions + WARM)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT subject), "
            "count(DISTINCT convert_from(body, 'UTF8')::jsonb #>> '{payload,package_digest}') "
            "FROM ledger_entry WHERE kind = 'version.registered'"
        )
        entries, subjects, packages = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM ledger_entry WHERE kind = 'run.recorded'")
        (runs,) = cursor.fetchone()
    versions = ModelVersion.objects.count()
    if not entries == subjects == packages == versions == expected or runs != expected // 2:
        sys.exit(
            f"auditreg ledger does NOT hold every version once: {entries} version.registered "
            f"entries, {subjects} subjects, {packages} packages, {versions} versions, "
            f"{runs} run.recorded entries; expected {expected} versions, {expected // 2} runs"
        )
    return (
        f"auditreg ledger verified: {verdict.summary()}\n"
        f"auditreg: {entries:,} version.registered entries for {versions:,} versions (each "
        f"once, distinct packages), {runs:,} run.recorded entries"
    )


def count_mlflow(port: int) -> str:
    connection = Connection(port, {})
    answer = connection.post(
        "/api/2.0/mlflow/registered-models/get-latest-versions", {"name": SLUGS["mlflow"]}, (200,)
    )
    latest = max(int(version["version"]) for version in answer["model_versions"])
    return f"{latest:,} versions of {SLUGS['mlflow']} registered"


if __name__ == "__main__":
    main()
