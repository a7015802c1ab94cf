"""Lineage query latency on PostgreSQL, in a graph of --nodes nodes --depth edges deep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.provenance

Works in a fresh database `auditreg_bench` (created and dropped) on DATABASE_URL's server.
The graph is a read fixture: its facts (datasets, snapshots, runs, models, versions) are
built with the domain's own checks (`check_snapshot`, `check_run`, `check_package`) and
applied with the real projection (`replay.project_all`) to an in-memory store, whose rows
are then loaded with COPY into the projection tables (`lineage_node`, `lineage_edge`, and
the registry's model, version and stage-period rows that `diff` and `downstream` read). No
ledger entries are written: appending 100,000 facts through the services would take about
20 minutes here (see docs/benchmarks.md), and reads do not look at the ledger.

Its shape: raw datasets with daily snapshots; feature pipelines, each a chain of steps (a run
reads the previous step's snapshot and one or two raw snapshots, sometimes (--cross) a
snapshot of an earlier pipeline, and writes a derived snapshot), a third of them --depth
deep; models whose versions were each trained by a run on a pipeline's last snapshot
(sometimes two pipelines') and an out-of-time raw snapshot. A version on a full-depth
pipeline reaches a raw dataset --depth edges away. Then, through Django:
1. `lineage.queries.upstream` of such versions: median and 95th percentile, nodes and edges
   returned.
2. `downstream` of raw snapshots that feed pipelines, and `diff` of two versions of a model.
"""

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bench.ledger import BENCH_DB, percentile, print_table, scratch_database
from bench.registry import digest, make_package
from bench.tables import copy_store

if TYPE_CHECKING:
    from auditreg.facts.kernel import MemoryStore

Row = tuple[str, str, str, str]

AUTHORS = ["user:dev01", "user:dev02"]
SCHEMA = {
    "fields": [{"name": f"f{i:02d}", "type": "double"} for i in range(20)],
    "digest": digest("schema"),
}
FULL_DEPTH_SHARE = 1 / 3  # pipelines that are --depth deep
SECOND_RAW = 0.3  # a step reads a second raw snapshot
SECOND_PIPELINE = 0.4  # a training run reads a second pipeline's last snapshot


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100_000, help="lineage nodes in all")
    parser.add_argument("--depth", type=int, default=50, help="edges from a version to raw data")
    parser.add_argument("--calls", type=int, default=200, help="upstream calls timed")
    parser.add_argument(
        "--cross",
        type=float,
        default=0.1,
        help="chance that a pipeline step also reads a snapshot of an earlier pipeline",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated graph")
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards"
    )
    args = parser.parse_args()
    if args.depth < 4 or args.depth % 2:
        parser.error("--depth is even and at least 4 (two edges per pipeline step)")
    with scratch_database(keep=args.keep):
        run(args)


def run(args: argparse.Namespace) -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # no query log
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    graph = Graph(random.Random(args.seed), args.nodes, args.depth, args.cross)
    graph.build()
    built = time.perf_counter() - started
    load(graph.store)
    loaded = time.perf_counter() - started - built
    print(f"built the graph in {built:.0f} s, loaded it in {loaded:.0f} s", file=sys.stderr)

    rows = [shape_row(graph)]
    rng = random.Random(args.seed + 1)
    rows += measure(args, graph, rng)
    print_table(rows)
    print()
    print(kinds(graph))
    print(explain(graph.deep_versions[0]))


# --- The graph ----------------------------------------------------------------------------------


@dataclass
class Graph:
    rng: random.Random
    nodes: int
    depth: int
    cross: float
    seq: int = 0
    moment: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    store: "MemoryStore" = field(init=False)
    raw: list[str] = field(default_factory=list)  # raw snapshot subjects
    digests: dict[str, str] = field(default_factory=dict)
    pipelines: list[list[str]] = field(default_factory=list)  # each step's snapshot
    deep_versions: list[str] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)  # consecutive pairs

    def __post_init__(self) -> None:
        from auditreg.facts.kernel import MemoryStore
        from auditreg.facts.projections import keys

        self.store = MemoryStore(keys())

    @property
    def size(self) -> int:
        return len(self.store.tables["node"])

    def build(self) -> None:
        """Raw data, then pipelines, then models and versions, then raw snapshots to top up
        to exactly `nodes`. Shares of the node budget: a tenth raw, a sixth versions (five
        nodes each: version, training run, artifact, code, environment), the rest pipelines
        (three nodes a step: dataset, snapshot, run; and code and environment each)."""
        datasets = max(10, self.nodes // 100)
        for number in range(datasets):
            self.dataset(f"raw/source-{number:04d}")
        for day in range(1, 9):
            for number in range(datasets):
                self.raw_snapshot(number, day)
        models = max(2, self.nodes // 300)
        for_pipelines = self.nodes - self.size - 5 * 10 * models - self.nodes // 100
        while self.size < for_pipelines:
            self.pipeline(len(self.pipelines))
        for index in range(models):
            self.model(index)
        day = 9
        while self.size < self.nodes:
            for number in range(min(datasets, self.nodes - self.size)):
                self.raw_snapshot(number, day)
            day += 1

    def fact(self, kind: str, subject: str, payload: dict[str, Any]) -> None:
        from auditreg.facts.kernel import Fact
        from auditreg.facts.projections import project_all

        self.seq += 1
        self.moment += timedelta(seconds=37)
        fact = Fact(self.seq, self.moment, kind, subject, "service:trainer", payload)
        anomalies = project_all(fact, self.store)
        assert not anomalies, anomalies

    def dataset(self, name: str) -> None:
        from lineage.domain import check_dataset

        payload = check_dataset(name=name, uri=f"s3://lake/{name}/", description="")
        self.fact("dataset.recorded", f"dataset:{name}", payload)

    def snapshot(self, name: str, label: str) -> str:
        from lineage.domain import check_snapshot

        subject = f"dataset:{name}@{label}"
        self.digests[subject] = digest(subject)
        payload = check_snapshot(
            dataset=name,
            label=label,
            digest=self.digests[subject],
            uri=f"s3://lake/{name}/{label}/",
            rows=self.rng.randrange(10_000, 5_000_000),
            schema=SCHEMA,
            time_range={"start": f"{label}T00:00:00+00:00", "end": f"{label}T23:59:59+00:00"},
        )
        self.fact("snapshot.recorded", subject, payload)
        return subject

    def raw_snapshot(self, number: int, day: int) -> None:
        day_of = datetime(2026, 1, 1) + timedelta(days=day - 1)
        self.raw.append(self.snapshot(f"raw/source-{number:04d}", f"{day_of:%Y-%m-%d}"))

    def report_run(self, run_id: str, job: str, inputs: list[str], **facts: Any) -> None:
        from lineage.domain import check_run

        report = check_run(
            {
                "id": run_id,
                "job": job,
                "status": "completed",
                "started_at": self.moment.isoformat(),
                "ended_at": (self.moment + timedelta(minutes=12)).isoformat(),
                "inputs": inputs,
                "authors": AUTHORS[:1],
                **facts,
            }
        )
        self.fact("run.recorded", report["id"], report)

    def pipeline(self, index: int) -> None:
        """A chain of steps; step k's snapshot is 2k + 1 edges from the raw snapshot the
        first step read, so a version on a chain of (depth - 2) / 2 steps is `depth` deep."""
        full = (self.depth - 2) // 2
        steps = full if self.rng.random() < FULL_DEPTH_SHARE else self.rng.randrange(1, full)
        code = {
            "repository": f"git@git.bank.example:features/pipeline-{index}.git",
            "commit": digest(f"pipeline {index}")[7:47],
        }
        environment = {
            "lock_digest": digest(f"pipeline {index} lock"),
            "python": "3.11.9",
            "packages": {"pyspark": "3.5.3", "pandas": "2.3.3", "pyarrow": "22.0.0"},
        }
        chain: list[str] = []
        for step in range(1, steps + 1):
            inputs = [chain[-1] if chain else self.rng.choice(self.raw), self.rng.choice(self.raw)]
            if self.rng.random() < SECOND_RAW:
                inputs.append(self.rng.choice(self.raw))
            earlier = [c for c in self.pipelines if len(c) >= 1]
            if step > 1 and earlier and self.rng.random() < self.cross:
                other = self.rng.choice(earlier)
                inputs.append(other[self.rng.randrange(min(step - 1, len(other)))])
            name = f"features/pipeline-{index}/step-{step}"
            self.dataset(name)
            output = self.snapshot(name, "2026-06-30")
            self.report_run(
                f"etl/{index}/{step}",
                f"features/pipeline-{index}/step-{step}",
                sorted(set(inputs)),
                outputs=[output],
                parameters={"window_days": 90, "min_rows": 1000, "dedupe": True},
                metrics={"rows_out": str(self.rng.randrange(10_000, 5_000_000))},
                code=code,
                environment=environment,
            )
            chain.append(output)
        self.pipelines.append(chain)

    def model(self, index: int) -> None:
        """A model with ten versions, each trained on its own pipeline's last snapshot."""
        from auditreg.proofs.checks import sha256_of
        from auditreg.registry.domain import check_package

        slug = f"model-{index:04d}"
        self.fact(
            "model.registered",
            f"model:{slug}",
            {
                "slug": slug,
                "name": f"Model {index}",
                "owner": "Retail Credit Risk Analytics",
                "domain": "credit risk",
                "risk_tier": "high",
                "intended_purpose": "12-month probability of default",
                "limitations": "Not for small business.",
                "description": "",
            },
        )
        for number in range(1, 11):
            primary = self.rng.choice(self.pipelines)
            data = [primary[-1], self.rng.choice(self.raw)]
            if self.rng.random() < SECOND_PIPELINE:
                data.insert(1, self.rng.choice(self.pipelines)[-1])
            package = make_package(slug, number, AUTHORS, index, self.rng)
            package["data"] = [{"snapshot": s, "digest": self.digests[s]} for s in data]
            self.report_run(
                package["training_run"]["id"],
                f"{slug}/train",
                data,
                parameters=package["hyperparameters"],
                metrics=package["metrics"],
                code={k: package["code"][k] for k in ("repository", "commit")},
                environment=package["environment"],
                artifacts=[package["artifact"]],
            )
            checked = check_package(package)
            subject = f"model:{slug}/{number}"
            payload = {
                "model": slug,
                "number": number,
                "package": checked,
                "package_digest": sha256_of(checked),
            }
            self.fact("version.registered", subject, payload)
            if len(primary) == (self.depth - 2) // 2:
                self.deep_versions.append(subject)
            if number > 1:
                self.versions.append((f"model:{slug}/{number - 1}", subject))


def load(store: "MemoryStore") -> None:
    """COPY every projected row into its table, then ANALYZE."""
    from django.db import connection

    copy_store(store)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- Measurements -------------------------------------------------------------------------------


def shape_row(graph: Graph) -> Row:
    deepest = max(len(chain) for chain in graph.pipelines)
    return (
        f"graph: {len(graph.pipelines):,} pipelines of 1-{deepest} steps",
        f"{graph.size:,} nodes",
        f"{len(graph.store.tables['edge']):,} edges",
        f"{len(graph.deep_versions):,} versions at depth {graph.depth}",
    )


def kinds(graph: Graph) -> str:
    counts = Counter(row["kind"] for row in graph.store.tables["node"].values())
    return "nodes by kind: " + ", ".join(f"{k} {n:,}" for k, n in counts.most_common())


@dataclass
class Timings:
    ms: list[float] = field(default_factory=list)
    nodes: list[int] = field(default_factory=list)
    edges: list[int] = field(default_factory=list)
    deepest: list[int] = field(default_factory=list)

    def time(self, function: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        answer = function()
        self.ms.append((time.perf_counter() - started) * 1000)
        return answer

    def graph(self, answer: Any) -> None:
        self.nodes.append(len(answer.nodes))
        self.edges.append(len(answer.edges))
        self.deepest.append(max(node.depth for node in answer.nodes))

    def latency(self, what: str, target: str = "") -> Row:
        return (
            f"{what}, ms ({len(self.ms)} calls)",
            f"median {percentile(self.ms, 50):.1f}",
            f"p95 {percentile(self.ms, 95):.1f}",
            target,
        )

    def answers(self) -> Row:
        return (
            "  nodes / edges returned, deepest node",
            f"median {statistics.median(self.nodes):,.0f} / {statistics.median(self.edges):,.0f}",
            f"range {min(self.nodes):,}-{max(self.nodes):,} / "
            f"{min(self.edges):,}-{max(self.edges):,}",
            f"depth {min(self.deepest)}-{max(self.deepest)}",
        )


def measure(args: argparse.Namespace, graph: Graph, rng: random.Random) -> list[Row]:
    """Upstream, downstream and diff calls interleaved, so noise hits all alike."""
    from auditreg.registry import impact
    from lineage import queries

    sources = [
        row["source"]
        for row in graph.store.tables["edge"].values()
        if row["relation"] == "input" and row["source"].startswith("dataset:raw/")
    ]
    upstream, downstream, diff = Timings(), Timings(), Timings()
    for call in range(args.calls):
        subject = rng.choice(graph.deep_versions)
        upstream.graph(upstream.time(lambda: queries.upstream(subject)))  # noqa: B023
        if call % 4 == 0:
            source = rng.choice(sources)
            downstream.graph(downstream.time(lambda: impact.downstream(source)))  # noqa: B023
            first, second = rng.choice(graph.versions)
            diff.time(lambda: impact.diff(first, second))  # noqa: B023
    return [
        upstream.latency(f"upstream of a version at depth {args.depth}", "(target median < 50)"),
        upstream.answers(),
        downstream.latency("downstream of a raw snapshot read by a pipeline"),
        downstream.answers(),
        diff.latency("diff of two consecutive versions of a model"),
    ]


def explain(subject: str) -> str:
    """EXPLAIN ANALYZE of upstream's two queries (nodes, edges) for one deep version, and how
    many (subject, depth) pairs the walk visits for how many distinct nodes."""
    from django.db import connection

    from lineage.queries import MAX_DEPTH, UPSTREAM

    times = []
    with connection.cursor() as cursor:
        for sql in UPSTREAM:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", [subject, MAX_DEPTH])
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            times.append(plan[0]["Execution Time"] + plan[0]["Planning Time"])
        walk = UPSTREAM[0].split("reached AS")[0].rstrip().rstrip(",")
        cursor.execute(
            f"{walk} SELECT count(*), count(DISTINCT subject) FROM walk",
            [subject, MAX_DEPTH],
        )
        pairs, distinct = cursor.fetchone()
    return (
        f"EXPLAIN ANALYZE of upstream({subject}): nodes query {times[0]:.1f} ms, edges query "
        f"{times[1]:.1f} ms (planning and execution); the walk visits {pairs:,} (subject, "
        f"depth) pairs for {distinct:,} nodes"
    )


if __name__ == "__main__":
    main()
