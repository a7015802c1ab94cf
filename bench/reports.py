"""Report production on PostgreSQL: one signed PDF against a bare WeasyPrint render, and
reports per minute from real Celery workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.reports

Works in a fresh database `auditreg_bench` (created and dropped) on DATABASE_URL's server,
with ledger keys and a development document-signing certificate in a temporary folder.
Builds through the real services one high-tier model version with about 200 nodes of
upstream lineage (raw datasets and daily snapshots, feature pipelines of chained runs, the
training run, code, environment and artifact) and about 500 ledger entries that its model
risk report cites (lineage, signatures, stage changes, authorizations, monitoring figures).
1. End to end, `request_report(queue=False)` + `produce()` of its model risk report, against
   `weasyprint.HTML(string=html).write_pdf()` of the HTML the pipeline rendered, interleaved,
   best of --rounds; the stages of one instrumented run; the cost of each step from that
   HTML to the signed PDF (PDF/A-3b, the attached evidence bundle, the PAdES signature); and
   an audit extract of the model (every entry about it) end to end.
2. Reports per minute: --reports requests (model risk reports of the version and audit
   extracts of its model, by turns) queued for 2 and then 1 Celery worker processes
   (`--pool solo`, Redis broker database 13, flushed first), from the first request until
   every report is issued, against one process producing the same mix in turn; the CPU the
   workers and the whole machine used meanwhile (Linux /proc), since the cores are shared.
"""

import argparse
import io
import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.ledger import BENCH_DB, ROOT, interleaved_best_of, print_table, scratch_database
from bench.registry import (
    FAST_HASHERS,
    Staff,
    digest,
    enroll_staff,
    make_package,
    principal,
    record_figure,
    sign,
)

if TYPE_CHECKING:
    from auditreg.registry.models import ModelVersion

Row = tuple[str, str, str, str]

BROKER = "redis://127.0.0.1:6379/13"
SLUG = "retail-pd"
RAW_DATASETS = 8
RAW_DAYS = 3  # daily snapshots of each raw dataset
PIPELINES = 4
STEPS = 13  # runs chained in each feature pipeline
SCHEMA = {
    "fields": [{"name": f"f{i:02d}", "type": "double"} for i in range(20)],
    "digest": digest("schema"),
}
WORKER_COMMAND = [
    *("-m", "celery", "-A", "auditreg.celery", "worker", "--pool", "solo", "--loglevel", "INFO"),
    *("--without-mingle", "--without-gossip", "--without-heartbeat"),
]
WORKER_READY = 120  # seconds a worker may take to start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed runs of each step, interleaved"
    )
    parser.add_argument(
        "--figures", type=int, default=290, help="monitoring figures recorded for the version"
    )
    parser.add_argument("--reports", type=int, default=16, help="reports queued per worker count")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated history")
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards"
    )
    args = parser.parse_args()
    with scratch_database(keep=args.keep):
        run(args)


def run(args: argparse.Namespace) -> None:
    data = Path(os.environ["AUDITREG_DATA_DIR"])
    os.environ.update(
        AUDITREG_KEYS_DIR=str(data / "keys"),
        AUDITREG_SIGNING_DIR=str(data / "signing"),
        CELERY_BROKER_URL=BROKER,
    )
    import django
    from django.conf import settings

    django.setup()
    logging.getLogger("reports").setLevel(logging.WARNING)  # one line per issued report
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.DEBUG = False  # no query log
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("init_keys", stdout=quiet)
        call_command("init_signing_cert", stdout=quiet)
    enroll_staff()
    history = History(Staff.load(), random.Random(args.seed))
    version = history.build(args.figures)
    print(f"built the history in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    rows = [shape_row(version)]
    report_rows, best = measure_report(version, args.rounds)
    rows += report_rows
    rows.append(("", "", "", ""))
    rows += measure_workers(version, args.reports, best)
    print_table(rows)
    if not args.keep:
        shutil.rmtree(data / "reports", ignore_errors=True)  # some 15 MB of issued PDFs


# --- The history ---------------------------------------------------------------------------------


@dataclass
class History:
    """A high-tier model through the services: its lineage, a first version in production,
    and a second one trained on four feature pipelines, authorized with the first as its
    fallback, released through shadow and canary, and monitored."""

    staff: Staff
    rng: random.Random
    raw: list[str] = field(default_factory=list)
    pipelines: list[str] = field(default_factory=list)  # each pipeline's last snapshot

    def build(self, figures: int) -> "ModelVersion":
        from auditreg.registry.domain import RiskTier
        from auditreg.registry.services import authorizations, monitoring, versions

        staff = self.staff
        self.developer = staff.developers[0]
        self.authors = sorted({staff.developers[0].actor_id, staff.developers[1].actor_id})
        self.model = versions.register_model(
            slug=SLUG,
            name="Retail probability of default",
            owner="Retail Credit Risk Analytics",
            domain="credit risk",
            risk_tier=RiskTier.HIGH,
            intended_purpose="12-month probability of default for retail credit cards",
            limitations="Not validated outside the development population's date range.",
            description="Benchmark model registered through the services.",
            by=self.developer,
        )
        monitoring.set_threshold(
            model=self.model, metric="psi", upper="0.25", by=staff.validators[0]
        )
        self.use_case = authorizations.create_use_case(
            slug=f"{SLUG}-cards",
            title="Credit card limit decisions",
            model=self.model,
            population="Retail credit card applicants",
            by=staff.approvers[0],
        )
        self.lineage()
        first = self.version(1, self.pipelines[:1])
        self.release(first, fallback=None)
        second = self.version(2, self.pipelines)
        self.release(second, fallback=first)
        for _ in range(figures - 2):
            record_figure(second, staff, self.rng, breach=False)
        record_figure(second, staff, self.rng, breach=True)  # and a validator's review
        return second

    def lineage(self) -> None:
        """Raw datasets with daily snapshots; feature pipelines, each a chain of runs that
        read the previous step's snapshot and a raw one, and write a snapshot of their own."""
        from lineage import services as lineage

        trainer = self.staff.trainer
        for number in range(RAW_DATASETS):
            name = f"raw/source-{number:02d}"
            lineage.record_dataset(name=name, uri=f"s3://lake/{name}/", by=trainer)
            for day in range(1, RAW_DAYS + 1):
                self.raw.append(self.snapshot(name, f"2026-06-{day:02d}"))
        for index in range(PIPELINES):
            code = {
                "repository": f"git@git.bank.example:features/pipeline-{index}.git",
                "commit": digest(f"pipeline {index}")[7:47],
            }
            environment = {
                "lock_digest": digest(f"pipeline {index} lock"),
                "python": "3.11.9",
                "packages": {"pyspark": "3.5.3", "pandas": "2.3.3", "pyarrow": "22.0.0"},
            }
            previous = None
            for step in range(1, STEPS + 1):
                name = f"features/pipeline-{index}/step-{step}"
                lineage.record_dataset(name=name, uri=f"s3://lake/{name}/", by=trainer)
                output = self.snapshot(name, "2026-06-30")
                raw = self.raw[(index * STEPS + step) % len(self.raw)]
                self.run(
                    f"etl/{index}/{step}",
                    sorted({raw, previous or self.raw[index]}),
                    outputs=[output],
                    parameters={"window_days": 90, "min_rows": 1000, "dedupe": True},
                    metrics={"rows_out": str(self.rng.randrange(10_000, 5_000_000))},
                    code=code,
                    environment=environment,
                )
                previous = output
            assert previous is not None
            self.pipelines.append(previous)

    def snapshot(self, name: str, label: str) -> str:
        from lineage import services as lineage

        subject = f"dataset:{name}@{label}"
        lineage.record_snapshot(
            dataset=name,
            label=label,
            digest=digest(subject),
            uri=f"s3://lake/{name}/{label}/",
            rows=self.rng.randrange(10_000, 5_000_000),
            schema=SCHEMA,
            time_range={"start": f"{label}T00:00:00+00:00", "end": f"{label}T23:59:59+00:00"},
            by=self.staff.trainer,
        )
        return subject

    def run(self, run_id: str, inputs: list[str], **facts: Any) -> None:
        from django.utils import timezone

        from lineage import services as lineage

        ended = timezone.now() - timedelta(days=40)
        report = {
            "id": run_id,
            "job": run_id.rsplit("/", 1)[0],
            "status": "completed",
            "started_at": (ended - timedelta(minutes=12)).isoformat(),
            "ended_at": ended.isoformat(),
            "inputs": inputs,
            "authors": self.authors[:1],
            **facts,
        }
        lineage.record_run(facts=report, by=self.staff.trainer)

    def version(self, number: int, pipelines: list[str]) -> "ModelVersion":
        """Trained on the pipelines' last snapshots and an out-of-time raw snapshot; the
        training run is recorded first, as the training job would report it."""
        from auditreg.registry.services import versions

        package = make_package(SLUG, number, self.authors, 0, self.rng)
        data = [*pipelines, self.raw[-1]]
        package["data"] = [{"snapshot": s, "digest": digest(s)} for s in data]
        self.run(
            package["training_run"]["id"].removeprefix("run:"),
            data,
            parameters=package["hyperparameters"],
            metrics=package["metrics"],
            code={k: package["code"][k] for k in ("repository", "commit")},
            environment=package["environment"],
            artifacts=[package["artifact"]],
        )
        version, _ = versions.register_version(
            model=self.model, package=package, by=self.staff.trainer
        )
        return version

    def release(self, version: "ModelVersion", fallback: "ModelVersion | None") -> None:
        """Signed, approved, authorized for the use case, then shadow, canary, production."""
        from django.utils import timezone

        from auditreg.accounts.domain import Role
        from auditreg.registry.domain import Meaning, Stage
        from auditreg.registry.models import ModelVersion
        from auditreg.registry.services import authorizations, versions

        rng, staff = self.rng, self.staff
        sign(self.developer, version, Meaning.AUTHORED, Role.DEVELOPER, "Ready.", rng)
        comment = "Conceptual soundness, outcomes analysis and benchmarking reviewed."
        sign(staff.validators[1], version, Meaning.VALIDATED, Role.VALIDATOR, comment, rng)
        sign(staff.approvers[1], version, Meaning.APPROVED, Role.APPROVER, "Approved.", rng)
        committee = staff.committee[0]
        sign(committee, version, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE, "MRC.", rng)
        authorization = authorizations.propose_authorization(
            version=ModelVersion.objects.get(pk=version.pk),
            use_case=self.use_case,
            effective_on=timezone.localdate(),
            conditions=["Annual revalidation", "Quarterly PSI below 0.25"],
            fallback=fallback,
            by=self.developer,
        )
        sign(staff.approvers[2], authorization, Meaning.APPROVED, Role.APPROVER, "OK.", rng)
        sign(committee, authorization, Meaning.APPROVED, Role.MODEL_RISK_COMMITTEE, "MRC.", rng)
        for stage, reason in (
            (Stage.SHADOW, "shadow comparison"),
            (Stage.CANARY, "canary on 5% of traffic"),
            (Stage.PRODUCTION, f"CHG-{rng.randrange(10**5)}"),
        ):
            versions.change_stage(
                version=ModelVersion.objects.get(pk=version.pk),
                to=stage,
                reason=reason,
                by=self.developer,
            )


def shape_row(version: "ModelVersion") -> Row:
    from reports import content

    facts = content.gather("model-risk", subject=version.subject)
    cited = {seq for seqs in facts.sections.values() for seq in seqs}
    nodes = len(facts.context["lineage"]["nodes"])
    records = len(facts.context["monitoring"]["records"])
    return (
        f"version {version.subject}: upstream lineage, cited entries",
        f"{nodes} nodes",
        f"{len(cited)} entries",
        f"({records} monitoring figures)",
    )


# --- 1. One report -------------------------------------------------------------------------------


@dataclass
class Stages:
    """Seconds spent in each stage of the pipeline, and what the stages produced."""

    seconds: dict[str, float] = field(default_factory=dict)
    html: str = ""
    attachment: bytes = b""
    pdf: bytes = b""

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

        return wrapper


@contextmanager
def instrumented() -> Iterator[Stages]:
    """The pipeline's own functions, wrapped where `reports.services` calls them, so one
    real `produce` reports the time of each stage and hands over its HTML and attachment."""
    from reports import content, evidence, render, signing

    stages = Stages()

    def keep_html(*args: Any, **kwargs: Any) -> str:
        stages.html = original["render_html"](*args, **kwargs)
        return stages.html

    def keep_pdf(html: str, *, attachment: bytes, **kwargs: Any) -> bytes:
        stages.attachment = attachment
        stages.pdf = original["html_to_pdf"](html, attachment=attachment, **kwargs)
        return stages.pdf

    targets = [
        (content, "gather", "gather", None),
        (evidence, "checkpoint_covering", "evidence bundle", None),
        (evidence, "build_bundle", "evidence bundle", None),
        (render, "render_html", "render HTML", keep_html),
        (render, "html_to_pdf", "html_to_pdf", keep_pdf),
        (signing, "sign_pdf", "sign", None),
    ]
    original = {name: getattr(module, name) for module, name, _, _ in targets}
    for module, name, stage, replacement in targets:
        setattr(module, name, stages.timed(stage, replacement or original[name]))
    try:
        yield stages
    finally:
        for module, name, _, _ in targets:
            setattr(module, name, original[name])


def end_to_end(kind: str, subject: str, **options: Any) -> Callable[[], None]:
    """`request_report(queue=False)` and `produce()`, as `manage.py issue_report` runs them."""
    from reports import services

    reader = principal("user:aud01")

    def report() -> None:
        request = services.request_report(
            kind=kind, subject=subject, by=reader, queue=False, **options
        )
        if services.produce(str(request.id)).status != "done":
            sys.exit(f"report {request.id} was not issued")

    return report


def profiled_run(subject: str) -> tuple[float, Stages]:
    """One end-to-end report with its stages timed: the request, then each stage of
    `produce`; "store + issue" is the rest of `produce` (claim, status updates, SHA-256,
    storage, `report.issued`)."""
    from reports import services

    reader = principal("user:aud01")
    started = time.perf_counter()
    request = services.request_report(kind="model-risk", subject=subject, by=reader, queue=False)
    requested = time.perf_counter() - started
    with instrumented() as stages:
        services.produce(str(request.id))
    total = time.perf_counter() - started
    stages.seconds = {
        "request (report.requested, checkpoint)": requested,
        **stages.seconds,
        "store + issue": total - requested - sum(stages.seconds.values()),
    }
    return total, stages


def audit_period() -> tuple[datetime, datetime]:
    from django.utils import timezone

    return timezone.now() - timedelta(days=1), timezone.now()


def measure_report(version: "ModelVersion", rounds: int) -> tuple[list[Row], dict[str, float]]:
    """The end-to-end report against the bare render of its HTML, and each step from that
    HTML to the signed PDF, all interleaved in the same rounds. Also returns the best
    end-to-end time of each report kind the workers produce."""
    import weasyprint

    from reports import render, signing

    report = end_to_end("model-risk", version.subject)
    model = version.subject.rsplit("/", 1)[0]
    extract = end_to_end("audit-extract", model, period=audit_period())
    report()  # warm: templates, fonts, keys
    extract()
    total, stages = profiled_run(version.subject)
    html, attachment = stages.html, stages.attachment

    def bare() -> None:
        weasyprint.HTML(string=html).write_pdf()

    def pdf_a() -> None:  # html_to_pdf without the attachment
        base_url = render.PDF_DIR.as_uri() + "/"
        document = weasyprint.HTML(
            string=html, base_url=base_url, url_fetcher=render.LocalOnlyFetcher()
        )
        document.write_pdf(pdf_variant="pdf/a-3b")

    def attached() -> None:
        render.html_to_pdf(html, attachment=attachment)

    def signed() -> None:
        signing.sign_pdf(stages.pdf, reason="bench")

    pipeline, baseline, *steps, extracted = interleaved_best_of(
        rounds, report, bare, pdf_a, attached, signed, extract
    )
    bare_pdf = weasyprint.HTML(string=html).write_pdf()
    signed_pdf = signing.sign_pdf(stages.pdf, reason="bench")
    rows: list[Row] = [
        (
            f"model risk report, request to signed PDF, s (best of {rounds})",
            f"{pipeline:.2f}",
            f"bare WeasyPrint {baseline:.2f}",
            f"{pipeline / baseline:.2f} (target <= 1.3)",
        ),
        (f"  stages of one instrumented run, s ({total:.2f} in all)", "", "", "of bare"),
    ]
    for name, seconds in stages.seconds.items():
        rows.append((f"    {name}", f"{seconds:.2f}", "", f"{seconds / baseline:.2f}"))
    rows.append((f"  from the same HTML, s (best of {rounds})", "", "", "of bare"))
    labels = [
        f"    bare write_pdf(): {pages(bare_pdf)} pages, {len(bare_pdf) / 1024:,.0f} KiB",
        "    + pdf_variant pdf/a-3b (base URL, local-only fetcher)",
        f"    + evidence bundle attached, {len(attachment) / 1024:,.0f} KiB (= html_to_pdf)",
        f"    sign_pdf of that PDF, {len(stages.pdf) / 1024:,.0f} -> "
        f"{len(signed_pdf) / 1024:,.0f} KiB",
    ]
    for label, seconds in zip(labels, [baseline, *steps], strict=True):
        rows.append((label, f"{seconds:.2f}", "", f"{seconds / baseline:.2f}"))
    rows.append(
        (
            f"audit extract of {model}, request to signed PDF, s (best of {rounds})",
            f"{extracted:.2f}",
            "",
            "",
        )
    )
    return rows, {"model-risk": pipeline, "audit-extract": extracted}


def pages(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


# --- 2. Celery workers ---------------------------------------------------------------------------


class Worker:
    """A real Celery worker process (`--pool solo`) with this process's environment: the
    scratch database, the keys, the signing certificate, the Redis broker."""

    def __init__(self, name: str) -> None:
        self.ready = threading.Event()
        self.log: list[str] = []
        self.tasks: list[float] = []  # seconds of each task it finished, from its log
        self.process = subprocess.Popen(
            [sys.executable, *WORKER_COMMAND, "-n", f"{name}@%h"],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self.follow, daemon=True).start()

    def follow(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log = [*self.log[-40:], line]
            if " ready." in line:
                self.ready.set()
            succeeded = SUCCEEDED.search(line)
            if succeeded:
                self.tasks.append(float(succeeded[1]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: lets a running task finish
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


SUCCEEDED = re.compile(r"issue_report\[[-0-9a-f]+\] succeeded in ([0-9.]+)s")


@contextmanager
def workers(count: int) -> Iterator[list[Worker]]:
    number = BROKER.rsplit("/", 1)[1]
    subprocess.run(["redis-cli", "-n", number, "FLUSHDB"], check=True, capture_output=True)
    started = [Worker(f"bench{n}") for n in range(1, count + 1)]
    try:
        for worker in started:
            if not worker.ready.wait(WORKER_READY):
                sys.exit("a worker did not start:\n" + "".join(worker.log))
        yield started
    finally:
        for worker in started:
            worker.stop()


def request_reports(subject: str, count: int) -> tuple[list[str], float]:
    """Queue `count` reports, model risk reports of the version and audit extracts of its
    model by turns; return their ids and the moment (epoch seconds) of the first request."""
    from reports import services

    reader = principal("user:aud01")
    model = subject.rsplit("/", 1)[0]
    period = audit_period()
    first = time.time()
    ids = []
    for number in range(count):
        if number % 2 == 0:
            request = services.request_report(kind="model-risk", subject=subject, by=reader)
        else:
            request = services.request_report(
                kind="audit-extract", subject=model, period=period, by=reader
            )
        ids.append(str(request.id))
    return ids, first


def wait_done(ids: list[str], running: list[Worker]) -> float:
    """Wait until every report is issued; return the moment (epoch seconds) the last was."""
    from django.db.models import Max

    from reports.models import ReportRequest, ReportStatus

    requests = ReportRequest.objects.filter(id__in=ids)
    while True:
        failed = requests.filter(status=ReportStatus.FAILED).first()
        if failed is not None:
            sys.exit(f"report {failed.id} failed: {failed.reason}")
        if requests.filter(status=ReportStatus.DONE).count() == len(ids):
            last = requests.aggregate(last=Max("updated_at"))["last"]
            return float(last.timestamp())
        for worker in running:
            if worker.process.poll() is not None:
                sys.exit("a worker stopped:\n" + "".join(worker.log))
        time.sleep(0.2)


def measure_workers(version: "ModelVersion", reports: int, best: dict[str, float]) -> list[Row]:
    """Reports per minute with 2, then 1 worker processes. The baseline is the rate of one
    process producing the same mix in turn, from the best in-process times above."""
    model_risk = (reports + 1) // 2
    serial = best["model-risk"] * model_risk + best["audit-extract"] * (reports - model_risk)
    serial_rate = reports / serial * 60
    rows: list[Row] = []
    rates: dict[int, float] = {}
    for count in (2, 1):
        with workers(count) as running:
            # Untimed: each worker's first report loads WeasyPrint, fonts and keys.
            warm_up, _ = request_reports(version.subject, count)
            wait_done(warm_up, running)
            done_before = [len(worker.tasks) for worker in running]
            cpu_before, machine_before = workers_cpu(running), machine_cpu()
            window = time.perf_counter()
            ids, first = request_reports(version.subject, reports)
            last = wait_done(ids, running)
            cpu = workers_cpu(running) - cpu_before
            machine = machine_cpu() - machine_before
            window = time.perf_counter() - window
            time.sleep(0.5)  # each worker logs its task just after the commit
            tasks = [w.tasks[n:] for w, n in zip(running, done_before, strict=True)]
        seconds = last - first
        rates[count] = reports / seconds * 60
        mean = statistics.mean(s for t in tasks for s in t) if any(tasks) else float("nan")
        rows += [
            (
                f"reports per minute, {count} worker(s): {reports} reports in {seconds:.1f} s",
                f"{rates[count]:.1f}",
                f"one process in turn {serial_rate:.1f}",
                f"{rates[count] / serial_rate:.2f}",
            ),
            (
                f"  tasks per worker {' + '.join(str(len(t)) for t in tasks)}, mean task time, s",
                f"{mean:.2f}",
                f"in turn {serial / reports:.2f}",
                "",
            ),
            (
                "  CPU used meanwhile, cores: the workers / the machine",
                f"{cpu / window:.2f}",
                f"{machine.busy / window:.2f} of {CORES} (steal {machine.steal / window:.2f})",
                "",
            ),
        ]
    rows.append(
        (
            f"  mix: {model_risk} model risk reports, {reports - model_risk} audit extracts",
            "",
            "",
            f"2 workers / 1: {rates[2] / rates[1]:.2f}",
        )
    )
    return rows


CORES = os.cpu_count() or 1
TICK = os.sysconf("SC_CLK_TCK")


def workers_cpu(running: list[Worker]) -> float:
    """CPU seconds (user and system) the worker processes have used (Linux /proc)."""
    used = 0
    for worker in running:
        stat = Path(f"/proc/{worker.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # fields from the third on: state, ppid…
        used += int(fields[11]) + int(fields[12])  # utime, stime
    return used / TICK


@dataclass
class MachineCpu:
    """CPU seconds of the whole machine, all cores (Linux /proc/stat): busy (user, nice,
    system, interrupts) and stolen by the hypervisor."""

    busy: float
    steal: float

    def __sub__(self, other: "MachineCpu") -> "MachineCpu":
        return MachineCpu(self.busy - other.busy, self.steal - other.steal)


def machine_cpu() -> MachineCpu:
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    return MachineCpu((user + nice + system + irq + softirq) / TICK, steal / TICK)


if __name__ == "__main__":
    main()
