"""Model registry benchmarks on PostgreSQL; prints a table of figures and ratios from one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.registry

Works in a fresh database `auditreg_bench` (created and dropped) on DATABASE_URL's server.
Builds a registry through the real services, as production would hold it: --versions model
versions with full packages over --models models of mixed risk tiers, with their
signatures, stage changes, use cases, authorizations, deployments, rollbacks, revocations
and monitoring records, topped up with monitoring records to --entries ledger entries.
1. `replay.check()` (what `manage.py replay_ledger --check` runs) against reading the same
   entries through the same server-side cursor.
2. `as_of` latency (median, 95th percentile) scoped to one use case, to one model and over
   the whole inventory, and the number of SQL queries per call at two registry sizes.
"""

import argparse
import hashlib
import multiprocessing
import multiprocessing.connection
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from bench import replay
from bench.ledger import BENCH_DB, percentile, print_table, scratch_database

if TYPE_CHECKING:
    from auditreg.accounts.models import Principal
    from auditreg.registry.models import Authorization, ModelVersion, UseCase

Row = tuple[str, str, str, str]

PASSWORD = "bench-signing-password"  # noqa: S105 - scratch database, dropped afterwards
# PBKDF2 costs ~0.4 s per signature on this class of machine; the registry's own work is
# what is measured, so the bench's people sign with a fast hasher.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# People of the bench organisation: (username prefix, count, role).
STAFF = [("dev", 12, "developer"), ("val", 8, "validator"), ("apr", 8, "approver")]
STAFF += [("mrc", 4, "model_risk_committee"), ("aud", 2, "auditor")]

DOMAINS = [
    ("credit risk", "Retail Credit Risk Analytics", "12-month probability of default"),
    ("fraud", "Payments Fraud Analytics", "Card-not-present fraud score"),
    ("marketing", "Customer Analytics", "Propensity to accept a card upgrade"),
    ("clinical imaging", "Neuro Imaging Analytics", "Flag suspected large-vessel occlusion on CTA"),
    ("collections", "Collections Strategy", "Probability of cure within 60 days"),
]
FRAMEWORKS = [
    ("lightgbm", "lightgbm", "4.6.0", "text/plain"),
    ("xgboost", "xgboost", "3.1.1", "application/json"),
    ("sklearn", "scikit-learn", "1.7.2", "application/octet-stream"),
    ("onnx", "pytorch", "2.9.1", "application/onnx"),
]
LIBRARIES = [
    ("numpy", "2.3.5"),
    ("pandas", "2.3.3"),
    ("scipy", "1.16.3"),
    ("pyarrow", "22.0.0"),
    ("mlflow-skinny", "3.6.0"),
    ("shap", "0.50.0"),
    ("optuna", "4.6.0"),
    ("category-encoders", "2.9.0"),
    ("joblib", "1.5.2"),
]
FEATURES = [
    "utilization_6m",
    "months_on_book",
    "delinquencies_24m",
    "inquiries_6m",
    "balance_to_limit",
    "payment_ratio_3m",
    "cash_advance_12m",
    "age_of_oldest_trade",
    "revolving_trades",
    "installment_trades",
    "bureau_score",
    "income_verified",
    "debt_to_income",
    "employment_months",
    "region",
    "channel",
    "product",
    "tenure_bucket",
]
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "UTC"]
# Monitored figures: psi has a threshold (upper 0.25) on every model.
MONITORED = ["psi", "auc", "ks", "brier", "default_rate"]

# Fates of a version (cumulative): left in development, rejected in validation, left in
# validation; the rest are approved. Of the approved: left approved, shadow only, deployed.
IN_DEVELOPMENT, REJECTED, IN_VALIDATION = 0.10, 0.22, 0.27
LEFT_APPROVED, SHADOW_ONLY = 0.25, 0.35
RETIRE = 0.3  # a version abandoned, rejected or superseded is retired now and then
WRONG_PASSWORD = 0.01  # a signing attempt refused, and recorded, before the real one
AUTHORIZATION_REJECTED = 0.02
ROLLBACK = 0.06  # a production version rolled back to its fallback after a breach
BREACH = 0.004  # share of top-up figures that are a psi breach (then reviewed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=10_000, help="model versions to register")
    parser.add_argument(
        "--entries", type=int, default=100_000, help="ledger entries in all (monitoring tops up)"
    )
    parser.add_argument("--models", type=int, help="registered models (default: versions / 10)")
    parser.add_argument("--moments", type=int, default=200, help="as_of calls timed per scope")
    parser.add_argument("--workers", type=int, default=2, help="processes calling the services")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated history")
    parser.add_argument("--profile", action="store_true", help="cProfile one check() to stderr")
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards"
    )
    args = parser.parse_args()
    args.models = args.models or max(1, args.versions // 10)
    with scratch_database(keep=args.keep):
        run(args)


def run(args: argparse.Namespace) -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.DEBUG = False  # no query log (DEBUG=1 only spares the production settings)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    enroll_staff()
    rows: list[Row] = []

    # A tenth of the models first: as_of is measured at that size too, to show that its
    # number of queries does not grow with the registry.
    first = max(min(args.workers, args.models), args.models // 10)
    built = timed(lambda: build(range(first), args))
    vacuum()
    small_size = size()
    small = f"{small_size:,} entries, {first:,} models"
    small_as_of = measure_as_of(args.moments, args.seed)
    built += timed(lambda: build(range(first, args.models), args))
    built += timed(lambda: top_up(args.entries - size(), args))
    vacuum()
    n = size()
    rows.append(build_row(n, built))
    held = sum(h for h, _ in LOCK_SAMPLES) / len(LOCK_SAMPLES)
    waiting = sum(w for _, w in LOCK_SAMPLES) / len(LOCK_SAMPLES)
    rows.append(
        (
            f"  append lock while building ({args.workers} workers), share of samples",
            f"held {held:.0%}",
            f"a writer waiting {waiting:.0%}",
            "",
        )
    )

    rows += replay.measure(3)
    if args.profile:
        from auditreg.facts.replay import check

        replay.profile(check)

    full = measure_as_of(args.moments, args.seed + 1)
    large = f"{n:,} entries, {args.models:,} models"
    for scope in SCOPES:
        rows.append(
            (
                f"as_of, {scope}, {large}, ms",
                f"median {percentile(full.ms[scope], 50):.1f}",
                f"p95 {percentile(full.ms[scope], 95):.1f}",
                "(target median < 20)",
            )
        )
    for scope in SCOPES:
        rows.append(
            (
                f"as_of, {scope}, {small}, ms",
                f"median {percentile(small_as_of.ms[scope], 50):.1f}",
                f"p95 {percentile(small_as_of.ms[scope], 95):.1f}",
                "",
            )
        )
    for scope in SCOPES:
        rows.append(
            (
                f"as_of SQL queries per call, {scope}",
                f"{span(full.queries[scope])} at {n:,} entries",
                f"{span(small_as_of.queries[scope])} at {small_size:,} entries",
                "",
            )
        )
    print_table(rows)
    print(f"\nwhole-inventory answers at {large}: {full.describe()}")
    print(f"whole-inventory answers at {small}: {small_as_of.describe()}")


def timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


# --- Measurements ------------------------------------------------------------------------------

SCOPES = ("one use case", "one model", "whole inventory")
QUERY_COUNTS = 10  # as_of calls per scope whose SQL queries are counted
INVENTORY_EVERY = 4  # one whole-inventory call per this many scoped calls


def size() -> int:
    from auditreg.ledger.services import tree_size

    return tree_size()


def vacuum() -> None:
    """Fresh planner statistics and visibility maps, as autovacuum keeps them in service."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def build_row(entries: int, seconds: float) -> Row:
    from auditreg.registry.models import ModelVersion, RegisteredModel, UseCase

    return (
        f"registry built through the services: {ModelVersion.objects.count():,} versions, "
        f"{RegisteredModel.objects.count():,} models, {UseCase.objects.count():,} use cases",
        f"{entries:,} entries",
        f"{seconds:.0f} s",
        f"{entries / seconds:,.0f} entries/s",
    )


@dataclass
class AsOfTimes:
    ms: dict[str, list[float]] = field(default_factory=dict)
    queries: dict[str, list[int]] = field(default_factory=dict)
    answers: list[tuple[int, int, int]] = field(default_factory=list)

    def describe(self) -> str:
        models = statistics_mean(a[0] for a in self.answers)
        granted = statistics_mean(a[1] for a in self.answers)
        versions = statistics_mean(a[2] for a in self.answers)
        return (
            f"on average {models:,.0f} models, {granted:,.0f} authorizations in force, "
            f"{versions:,.0f} versions with their approvals"
        )


def statistics_mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def measure_as_of(samples: int, seed: int) -> AsOfTimes:
    """`as_of` at random moments across the history: scoped to a random use case (from its
    creation on), to a random model (from its registration on), and unscoped."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from auditreg.proofs.entry import as_utc
    from auditreg.registry.models import RegisteredModel, UseCase
    from auditreg.registry.queries import as_of

    rng = random.Random(seed)
    auditor = principal("user:aud01")  # roles looked up once, as for a signed-in auditor
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(recorded_at), max(recorded_at) FROM ledger_entry")
        first, last = cursor.fetchone()
    first, last = as_utc(first), as_utc(last)
    use_cases = list(UseCase.objects.all())
    models = list(RegisteredModel.objects.all())

    def between(start: datetime) -> datetime:
        return start + (last - start) * rng.random()

    def call(scope: str) -> Any:
        if scope == "one use case":
            use_case = rng.choice(use_cases)
            return as_of(between(use_case.created_at), by=auditor, use_case=use_case)
        if scope == "one model":
            model = rng.choice(models)
            return as_of(between(model.registered_at), by=auditor, model=model)
        return as_of(between(first), by=auditor)

    times = AsOfTimes({scope: [] for scope in SCOPES}, {scope: [] for scope in SCOPES})
    for sample in range(samples):
        for scope in SCOPES:  # interleaved, so noise hits all scopes alike
            if scope == "whole inventory" and sample % INVENTORY_EVERY:
                continue  # a whole-inventory answer is large: a quarter as many samples
            began = time.perf_counter()
            answer = call(scope)
            times.ms[scope].append((time.perf_counter() - began) * 1000)
            if scope == "whole inventory":
                granted = sum(len(uc.authorizations) for uc in answer.use_cases)
                times.answers.append((len(answer.models), granted, len(answer.versions)))
            del answer  # freed here, not inside the next timed call
    # Queries counted on separate calls: capturing them logs every query, which costs time.
    for _ in range(QUERY_COUNTS):
        for scope in SCOPES:
            with CaptureQueriesContext(connection) as queries:
                call(scope)
            times.queries[scope].append(len(queries))
    return times


def span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low}" if low == high else f"{low}-{high}"


# --- Building the registry through the services -------------------------------------------------


def enroll_staff() -> None:
    from auditreg.accounts import services as accounts
    from auditreg.accounts.domain import Role
    from auditreg.registry.services import policies

    admin = accounts.enroll_person(
        username="adm01",
        printed_name="Bench Administrator",
        roles=[Role.ADMINISTRATOR],
        password=PASSWORD,
        by=accounts.SYSTEM,
    )
    for prefix, count, role in STAFF:
        for number in range(1, count + 1):
            accounts.enroll_person(
                username=f"{prefix}{number:02d}",
                printed_name=f"{prefix.title()} Person {number:02d}",
                roles=[Role(role)],
                password=PASSWORD,
                time_zone=ZONES[number % len(ZONES)],
                by=admin,
            )
    for name in ("trainer", "monitor"):
        accounts.enroll_service(
            name=name, printed_name=f"Bench {name}", roles=[Role.DEVELOPER], by=admin
        )
    committee = principal("user:mrc01")
    for tier, policy in policies.DEFAULT_POLICIES.items():
        policies.set_policy(risk_tier=tier, **policy, by=committee)


def principal(actor_id: str) -> "Principal":
    from auditreg.accounts.models import Principal

    found = Principal.objects.get(actor_id=actor_id)
    found.roles()  # cached on the instance, as for a signed-in user
    return found


@dataclass
class Staff:
    developers: list["Principal"]
    validators: list["Principal"]
    approvers: list["Principal"]
    committee: list["Principal"]
    trainer: "Principal"
    monitor: "Principal"

    @classmethod
    def load(cls) -> "Staff":
        def group(prefix: str) -> list["Principal"]:
            count = next(count for p, count, _ in STAFF if p == prefix)
            return [principal(f"user:{prefix}{n:02d}") for n in range(1, count + 1)]

        return cls(
            group("dev"),
            group("val"),
            group("apr"),
            group("mrc"),
            principal("service:trainer"),
            principal("service:monitor"),
        )


def build(indices: range, args: argparse.Namespace) -> None:
    """Build the histories of models `indices`, spread over worker processes."""
    if len(indices) == 0:
        return
    per_model = [
        args.versions // args.models + (1 if i < args.versions % args.models else 0)
        for i in range(args.models)
    ]
    jobs = [[(i, per_model[i]) for i in indices[w :: args.workers]] for w in range(args.workers)]
    run_workers(build_models, [(job, args.seed) for job in jobs if job], "models")


def top_up(count: int, args: argparse.Namespace) -> None:
    """Monitoring records (and the reviews their rare breaches need) up to `count` entries."""
    if count <= 0:
        return
    workers = min(args.workers, args.models)
    shares = [count // workers + (1 if w < count % workers else 0) for w in range(workers)]
    jobs = [
        (list(range(w, args.models, workers)), share, args.seed) for w, share in enumerate(shares)
    ]
    run_workers(monitor_models, jobs, "top-up")


def run_workers(target: Callable[..., None], jobs: Sequence[tuple[Any, ...]], what: str) -> None:
    """Run `target(*job)` for each job in a forked process; report progress to stderr."""
    from django.db import connections

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=target, args=job) for job in jobs]
    start, started = size(), time.perf_counter()
    connections.close_all()  # each forked worker opens its own connection
    for process in processes:
        process.start()
    running: dict[int, Any] = {process.sentinel: process for process in processes}
    reported = started
    while running:
        for sentinel in multiprocessing.connection.wait(list(running), timeout=0.25):
            running.pop(cast(int, sentinel)).join()
        LOCK_SAMPLES.append(append_lock_state())
        if time.perf_counter() - reported >= 15 or not running:
            reported = time.perf_counter()
            done, elapsed = size() - start, reported - started
            print(f"{what}: {size():,} entries, {done / elapsed:,.0f} entries/s", file=sys.stderr)
    connections.close_all()
    if any(process.exitcode for process in processes):
        sys.exit(f"a {what} worker failed (see its traceback above)")


# (held, waiting): the ledger's append lock sampled four times a second while building.
LOCK_SAMPLES: list[tuple[bool, bool]] = []


def append_lock_state() -> tuple[bool, bool]:
    """Whether a connection holds the append lock (an advisory lock in this database), and
    whether another waits for it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) "
            "FROM pg_locks WHERE locktype = 'advisory' AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        held, waiting = cursor.fetchone()
    return held > 0, waiting > 0


def build_models(job: list[tuple[int, int]], seed: int) -> None:
    from django.db import connections

    staff = Staff.load()
    for index, versions in job:
        History(index, versions, staff, random.Random(f"{seed}:{index}")).build()
    connections.close_all()


def monitor_models(indices: list[int], count: int, seed: int) -> None:
    from django.db import connections
    from django.db.models import Count

    from auditreg.registry.domain import DEPLOYED, Stage
    from auditreg.registry.models import ModelVersion

    staff = Staff.load()
    rng = random.Random(f"{seed}:monitor:{indices[:1]}")
    slugs = [model_slug(index) for index in indices]
    in_use = list(
        ModelVersion.objects.filter(model__in=slugs, stage__in=[*DEPLOYED, Stage.DEPRECATED])
        .annotate(figures=Count("monitoring"))
        .order_by("subject")
    )
    if not in_use:
        raise RuntimeError("no version in use to record monitoring figures for")
    written = 0
    while written < count:
        for version in in_use:
            if written >= count:
                break
            breach = rng.random() < BREACH
            written += record_figure(version, staff, rng, breach=breach)
    connections.close_all()


def model_slug(index: int) -> str:
    return f"m{index:05d}-{DOMAINS[index % len(DOMAINS)][0].replace(' ', '-')}"


def record_figure(version: "ModelVersion", staff: Staff, rng: random.Random, breach: bool) -> int:
    """Record the version's next monitoring figure; clear the review a breach requires.
    Figures cycle through MONITORED over one-day windows going back from today."""
    from django.utils import timezone

    from auditreg.accounts.domain import Role
    from auditreg.registry.domain import Meaning
    from auditreg.registry.models import ModelVersion
    from auditreg.registry.services import monitoring

    counter: int = getattr(version, "figures", 0)
    version.figures = counter + 1  # type: ignore[attr-defined]
    metric, segment = MONITORED[counter % len(MONITORED)], "all"
    day = timezone.localdate() - timedelta(days=counter // len(MONITORED))
    if breach:  # a drift alert: psi over the threshold ("all") in a segment of its own
        metric, segment, value = "psi", "drift-alert", "0.31"
        day = timezone.localdate() - timedelta(days=counter)
    elif metric == "psi":
        value = f"0.{rng.randrange(1, 20):02d}"
    else:
        value = f"0.{rng.randrange(10, 99)}"
    by = staff.monitor if counter % 2 else staff.trainer
    monitoring.record_monitoring(
        version=version,
        metric=metric,
        value=value,
        segment=segment,
        window_start=day,
        window_end=day,
        by=by,
    )
    if not breach:
        return 1
    fresh = ModelVersion.objects.get(pk=version.pk)
    if not fresh.review_required:
        return 1
    refused = sign(
        rng.choice(staff.validators),
        fresh,
        Meaning.REVIEWED,
        Role.VALIDATOR,
        "Drift investigated: population shift in one channel, within the model's tolerance.",
        rng,
    )
    return 3 + refused


def sign(
    who: "Principal",
    record: "ModelVersion | Authorization",
    meaning: Any,
    role: Any,
    comment: str,
    rng: random.Random,
) -> int:
    """Sign with the password; now and then mistype it first. Returns refusals recorded."""
    from auditreg.errors import DomainError
    from auditreg.registry.services import signatures

    refused = 0
    if rng.random() < WRONG_PASSWORD:
        try:
            signatures.sign(
                record=record,
                meaning=meaning,
                role=role,
                password="mistyped-password",  # noqa: S106
                comment=comment,
                by=who,
            )
        except DomainError:
            refused = 1  # refused, and the refusal recorded in the ledger
        else:
            raise RuntimeError("a wrong password was accepted")
    signatures.sign(
        record=record, meaning=meaning, role=role, password=PASSWORD, comment=comment, by=who
    )
    return refused


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def record_snapshots(package: dict[str, Any], by: "Principal") -> None:
    """The data snapshots a package names, recorded first as a training job would (the
    same snapshot again records nothing)."""
    from lineage import services as lineage

    for item in package["data"]:
        name, label = item["snapshot"].removeprefix("dataset:").split("@")
        lineage.record_dataset(name=name, by=by)
        lineage.record_snapshot(dataset=name, label=label, digest=item["digest"], by=by)


def make_package(
    slug: str, number: int, authors: list[str], framing: int, rng: random.Random
) -> dict[str, Any]:
    """A full package: artifact, framework, code, environment with ten packages, ten
    hyperparameters, ten metrics, a twenty-field schema, the training run, two snapshots."""
    flavor, framework, framework_version, media_type = FRAMEWORKS[framing % len(FRAMEWORKS)]
    commit = hashlib.sha1(f"{slug} {number}".encode(), usedforsecurity=False).hexdigest()
    month = 1 + number % 12
    return {
        "artifact": {
            "uri": f"s3://models/{slug}/{number}/model.bin",
            "digest": digest(f"{slug} model {number}"),
            "media_type": media_type,
        },
        "flavor": flavor,
        "framework": {"name": framework, "version": framework_version},
        "code": {
            "repository": f"git@git.bank.example:models/{slug}.git",
            "commit": commit,
            "dirty": False,
            "authors": authors,
        },
        "environment": {
            "lock_digest": digest(f"{slug} uv.lock {number}"),
            "python": "3.11.9",
            "packages": {framework: framework_version, **dict(LIBRARIES)},
        },
        "hyperparameters": {
            "num_leaves": rng.choice([31, 63, 127]),
            "max_depth": rng.randrange(4, 12),
            "learning_rate": rng.choice(["0.01", "0.03", "0.05", "0.1"]),
            "n_estimators": rng.randrange(200, 2000, 50),
            "min_child_samples": rng.randrange(20, 200),
            "subsample": f"0.{rng.randrange(6, 10)}",
            "colsample_bytree": f"0.{rng.randrange(5, 10)}",
            "reg_alpha": f"0.{rng.randrange(0, 10)}",
            "reg_lambda": str(rng.randrange(0, 5)),
            "seed": rng.randrange(1, 10_000),
        },
        "metrics": {
            name: f"0.{rng.randrange(1000, 9999)}"
            for name in (
                "auc_train",
                "auc_oot",
                "ks_oot",
                "gini_oot",
                "brier_oot",
                "logloss_oot",
                "psi_oot",
                "precision_at_5",
                "recall_at_5",
                "calibration_slope",
            )
        },
        "schema": {
            "inputs": [
                {"name": name, "type": "string" if i >= 14 else rng.choice(["double", "long"])}
                for i, name in enumerate(FEATURES)
            ],
            "outputs": [
                {"name": "score", "type": "double"},
                {"name": "reason_codes", "type": "array<string>"},
            ],
        },
        "training_run": {
            "id": f"run:{slug}/2026-{month:02d}-{commit[:4]}",
            "authors": authors[:1],
        },
        "data": [
            {
                "snapshot": f"dataset:{slug}-train@2026-{month:02d}-01",
                "digest": digest(f"{slug} train {month}"),
            },
            {
                "snapshot": f"dataset:{slug}-oot@2026-{month:02d}-15",
                "digest": digest(f"{slug} oot {month}"),
            },
        ],
    }


@dataclass
class History:
    """One model's history, built through the services in the order a bank would."""

    index: int
    versions: int
    staff: Staff
    rng: random.Random
    production: "ModelVersion | None" = None
    retirable: list["ModelVersion"] = field(default_factory=list)
    use_cases: list["UseCase"] = field(default_factory=list)

    def build(self) -> None:
        from auditreg.registry.domain import RiskTier
        from auditreg.registry.services import authorizations, monitoring, versions

        rng, staff = self.rng, self.staff
        self.slug = model_slug(self.index)
        domain, owner, purpose = DOMAINS[self.index % len(DOMAINS)]
        self.tier = rng.choices([RiskTier.HIGH, RiskTier.MEDIUM, RiskTier.LOW], [3, 4, 3])[0]
        self.developer = staff.developers[self.index % len(staff.developers)]
        coauthor = staff.developers[(self.index + 1) % len(staff.developers)]
        self.authors = sorted({self.developer.actor_id, coauthor.actor_id})
        self.model = versions.register_model(
            slug=self.slug,
            name=f"{domain.title()} model {self.index}",
            owner=owner,
            domain=domain,
            risk_tier=self.tier,
            intended_purpose=f"{purpose} (portfolio {self.index})",
            limitations="Not validated outside the development population's date range.",
            description="Benchmark model registered through the services.",
            by=self.developer,
        )
        monitoring.set_threshold(
            model=self.model, metric="psi", upper="0.25", by=rng.choice(staff.validators)
        )
        for n in range(2 if rng.random() < 0.1 else 1):
            self.use_cases.append(
                authorizations.create_use_case(
                    slug=f"{self.slug}-use-{n + 1}",
                    title=f"{purpose} for segment {n + 1}",
                    model=self.model,
                    population=f"Applicants of portfolio {self.index}, segment {n + 1}",
                    by=rng.choice(staff.approvers),
                )
            )
        for number in range(1, self.versions + 1):
            self.version(number)

    def version(self, number: int) -> None:
        from auditreg.accounts.domain import Role
        from auditreg.registry.domain import Meaning, RiskTier, Stage
        from auditreg.registry.services import versions

        rng, staff = self.rng, self.staff
        package = make_package(self.slug, number, self.authors, self.index, rng)
        record_snapshots(package, staff.trainer)
        version, _ = versions.register_version(model=self.model, package=package, by=staff.trainer)
        fate = rng.random()
        if fate < IN_DEVELOPMENT:
            if rng.random() < RETIRE:
                self.stage(version, Stage.RETIRED, rng.choice(staff.approvers), "abandoned")
            return
        sign(self.developer, version, Meaning.AUTHORED, Role.DEVELOPER, "Ready.", rng)
        validator = rng.choice(staff.validators)
        if fate < REJECTED:
            role = Role.APPROVER if self.tier == RiskTier.LOW else Role.VALIDATOR
            who = rng.choice(staff.approvers) if role == Role.APPROVER else validator
            sign(who, version, Meaning.REJECTED, role, "Outcomes analysis below benchmark.", rng)
            if rng.random() < RETIRE:
                self.stage(version, Stage.RETIRED, rng.choice(staff.approvers), "rejected")
            return
        if self.tier != RiskTier.LOW:
            sign(validator, version, Meaning.VALIDATED, Role.VALIDATOR, "Validated.", rng)
        if fate < IN_VALIDATION:
            return
        sign(rng.choice(staff.approvers), version, Meaning.APPROVED, Role.APPROVER, "OK.", rng)
        if self.tier == RiskTier.HIGH:
            committee = rng.choice(staff.committee)
            sign(committee, version, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE, "MRC.", rng)
        use = rng.random()
        if use < LEFT_APPROVED:
            return
        if use < SHADOW_ONLY:
            self.stage(version, Stage.SHADOW, self.developer, "shadow comparison")
            return
        self.deploy(version)

    def deploy(self, version: "ModelVersion") -> None:
        from auditreg.registry.domain import Stage

        rng = self.rng
        primary = self.authorize(version, self.use_cases[0], fallback=self.production)
        if primary is None:
            return
        for use_case in self.use_cases[1:]:
            if rng.random() < 0.5:
                self.authorize(version, use_case, fallback=None)
        path = rng.random()
        if path < 0.2:
            self.stage(version, Stage.SHADOW, self.developer, "shadow before release")
        if path < 0.3:
            self.stage(version, Stage.CANARY, self.developer, "canary on 5% of traffic")
        previous = self.production
        self.stage(version, Stage.PRODUCTION, self.developer, f"CHG-{rng.randrange(10**5)}")
        self.production = version
        record_figure(version, self.staff, rng, breach=False)
        if previous is not None:
            if self.retirable and rng.random() < RETIRE:
                old = self.retirable.pop(0)
                self.stage(old, Stage.RETIRED, rng.choice(self.staff.approvers), "superseded")
            if rng.random() < ROLLBACK:
                self.roll_back(version, previous)
                return
            self.retirable.append(previous)

    def authorize(
        self, version: "ModelVersion", use_case: "UseCase", fallback: "ModelVersion | None"
    ) -> "Authorization | None":
        from django.utils import timezone

        from auditreg.accounts.domain import Role
        from auditreg.registry.domain import Meaning, RiskTier
        from auditreg.registry.models import Authorization
        from auditreg.registry.services import authorizations

        rng, staff = self.rng, self.staff
        authorization = authorizations.propose_authorization(
            version=version,
            use_case=use_case,
            effective_on=timezone.localdate(),
            conditions=["Annual revalidation", "Quarterly PSI below 0.25"],
            fallback=fallback,
            by=self.developer,
        )
        approver = rng.choice(staff.approvers)
        if rng.random() < AUTHORIZATION_REJECTED:
            sign(approver, authorization, Meaning.REJECTED, Role.APPROVER, "Conditions.", rng)
            return None
        sign(approver, authorization, Meaning.APPROVED, Role.APPROVER, "Authorized.", rng)
        if self.tier == RiskTier.HIGH:
            committee = rng.choice(staff.committee)
            sign(committee, authorization, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE, "MRC.", rng)
        return Authorization.objects.get(pk=authorization.pk)

    def roll_back(self, current: "ModelVersion", fallback: "ModelVersion") -> None:
        """A breach on the first day in production: roll back, revoke the authorization."""
        from django.utils import timezone

        from auditreg.accounts.domain import Role
        from auditreg.registry.domain import Meaning
        from auditreg.registry.services import authorizations, monitoring

        rng, staff = self.rng, self.staff
        today = timezone.localdate()
        monitoring.record_monitoring(
            version=current,
            metric="psi",
            value="0.31",
            segment="first-day",
            window_start=today,
            window_end=today,
            by=staff.monitor,
        )
        reason = "PSI above the 0.25 threshold on the first production day"
        authorizations.rollback(
            use_case=self.use_cases[0], reason=reason, by=rng.choice(staff.approvers)
        )
        self.production = fallback
        authorization = self.use_cases[0].authorizations.get(version=current)
        committee = rng.choice(staff.committee)
        sign(committee, authorization, Meaning.REVOKED, Role.MODEL_RISK_COMMITTEE, reason, rng)
        self.retirable.append(current)

    def stage(self, version: "ModelVersion", to: Any, by: "Principal", reason: str) -> None:
        from auditreg.registry.services import versions

        versions.change_stage(version=version, to=to, reason=reason, by=by)


if __name__ == "__main__":
    main()
