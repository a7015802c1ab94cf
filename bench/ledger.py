"""Ledger benchmarks on PostgreSQL; prints a table of figures and ratios from one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.ledger

Works in a fresh database (`auditreg_bench`, or --database; created and dropped) on
DATABASE_URL's server.
1. Append rate, 1 writer and 8 concurrent writer processes, against a plain ORM insert of
   rows of the same size in the same transaction pattern (one transaction per row).
2. verify_ledger over N entries, in one process and in two, against the raw cost of reading
   the same rows the same way and SHA-256 hashing the same bytes; and against the earlier
   baseline, the rows read as text through Django's cursor.
3. Inclusion and consistency proofs at N entries: median and 95th percentile.
"""

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "auditreg_bench"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="ledger size for verify and proofs"
    )
    parser.add_argument(
        "--appends", type=int, default=4_000, help="rows per append run (split over writers)"
    )
    parser.add_argument("--proofs", type=int, default=1_000, help="proofs of each kind to time")
    parser.add_argument(
        "--database", default=BENCH_DB, help=f"scratch database name (default {BENCH_DB})"
    )
    args = parser.parse_args()
    with scratch_database(name=args.database):
        run(args)


@contextmanager
def scratch_database(*, keep: bool = False, name: str = BENCH_DB) -> Iterator[str]:
    """Create the bench database `name` on DATABASE_URL's server, point this process's Django
    settings at it, and drop it afterwards (unless `keep`). Yields its URL."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the database itself is not touched)")
    url = create_database(base, name)
    try:
        os.environ.update(
            DATABASE_URL=url,
            DEBUG="1",
            AUDITREG_DATA_DIR=tempfile.mkdtemp(prefix="auditreg-bench-"),
            DJANGO_SETTINGS_MODULE="auditreg.settings",
        )
        yield url
    finally:
        if keep:
            print(f"kept the database {name}: {url}", file=sys.stderr)
        else:
            drop_database(base, name)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    from bench.plain import create_table

    call_command("migrate", verbosity=0)
    call_command("init_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
    create_table()
    rows: list[tuple[str, str, str, str]] = []

    for writers in (1, 8):
        per_writer = args.appends // writers
        ledger = append_rate("ledger", writers, per_writer)
        plain = append_rate("plain", writers, per_writer)
        rows.append(
            (
                f"append, {writers} writer(s), rows/s",
                f"{ledger:,.0f}",
                f"plain ORM insert {plain:,.0f}",
                f"{ledger / plain:.2f} (target >= 0.5)",
            )
        )

    started = time.perf_counter()
    extend_ledger(args.entries)
    print(
        f"loaded {args.entries:,} entries in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )

    from auditreg.ledger.integrity import verify_database

    baseline, earlier, serial, pipelined = interleaved_best_of(
        3,
        read_and_hash,
        read_text_and_hash,
        verify_database,
        lambda: verify_database(pipelined=True),
    )
    for label, seconds in (("1 process", serial), ("2 processes", pipelined)):
        rows.append(
            (
                f"verify_ledger ({label}), {size():,} entries, s",
                f"{seconds:.1f}",
                f"read + SHA-256 {baseline:.1f}",
                f"{seconds / baseline:.2f} (target <= 1.5)",
            )
        )
    rows.append(
        (
            "  the same (1 / 2 processes), against the earlier baseline, s",
            f"{serial:.1f} / {pipelined:.1f}",
            f"text read + SHA-256 {earlier:.1f}",
            f"{serial / earlier:.2f} / {pipelined / earlier:.2f}",
        )
    )

    rows.append(offline_verification())

    from auditreg.ledger import services

    n = size()
    inclusion = timed_calls(args.proofs, lambda: services.inclusion_proof(random.randrange(n), n))
    consistency = timed_calls(
        args.proofs, lambda: services.consistency_proof(random.randrange(1, n), n)
    )
    root = timed_calls(50, lambda: services.root_at(n))
    for name, samples in (
        ("inclusion proof", inclusion),
        ("consistency proof", consistency),
        ("root_at(n)", root),
    ):
        rows.append(
            (
                f"{name} at {n:,} entries, ms",
                f"median {percentile(samples, 50):.2f}",
                f"p95 {percentile(samples, 95):.2f}",
                "(target median < 5)" if "proof" in name else "",
            )
        )
    print_table(rows)


def offline_verification() -> tuple[str, str, str, str]:
    """Export the ledger and verify the file as a third party would (stdlib + cryptography)."""
    from auditreg.ledger.export import export_ledger
    from auditreg.proofs.export import verify_export

    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        export_ledger(out)
        exported = time.perf_counter() - started
        out.seek(0)
        started = time.perf_counter()
        verdict = verify_export(out)
        verified = time.perf_counter() - started
    return (
        f"export_ledger / offline verify, {verdict.entries:,} entries, s",
        f"{exported:.1f} / {verified:.1f}",
        "",
        "",
    )


def append_rate(mode: str, writers: int, per_writer: int) -> float:
    # Every writer imports Django first; they all start appending at the same moment.
    start_at = time.time() + 2 + writers
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.append_worker",
                mode,
                str(writer),
                str(per_writer),
                str(start_at),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for writer in range(writers)
    ]
    spans = [process.communicate()[0].split() for process in processes]
    first_start = min(float(start) for start, _ in spans)
    last_end = max(float(end) for _, end in spans)
    return writers * per_writer / (last_end - first_start)


def extend_ledger(count: int) -> None:
    """Continue the chain by `count` entries, built exactly as append builds them (same bytes,
    hashes, links and subtrees) but loaded with COPY, to reach a million entries quickly."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from auditreg.proofs import merkle
    from auditreg.proofs.entry import Actor, draft
    from auditreg.proofs.subtrees import Frontier

    frontier = Frontier()
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash, recorded_at FROM ledger_entry ORDER BY seq")
        last = None
        for last in cursor.fetchall():
            frontier.append(bytes(last[1]))
    prev = bytes(last[1]).hex() if last else "0" * 64
    moment = max(timezone.now(), last[2]) if last else timezone.now()
    actors = [
        Actor("service:trainer", "Nightly training pipeline"),
        Actor("user:vic", "Victor Validator"),
    ]
    raw = connection.connection
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY ledger_entry (seq, recorded_at, kind, subject, actor, hash, subtrees, body) "
            "FROM STDIN"
        ) as copy,
    ):
        for seq in range(frontier.size, frontier.size + count):
            moment += timedelta(microseconds=137)
            actor = actors[seq % 2]
            subject = f"model:credit-pd/{seq // 1000}"
            payload = {"run": f"run:{seq}", "metrics": {"auc": "0.8412"}, "rows": seq * 7}
            body = draft(kind="run.recorded", subject=subject, actor=actor, payload=payload).seal(
                seq=seq, time=moment, prev=prev
            )
            leaf = merkle.leaf_hash(body)
            copy.write_row(
                (
                    seq,
                    moment,
                    "run.recorded",
                    subject,
                    actor.id,
                    leaf,
                    b"".join(frontier.append(leaf)),
                    body,
                )
            )
            prev = leaf.hex()
    raw.commit()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_entry")


def read_and_hash() -> None:
    """The raw cost: the same rows read the way verify_database reads them (all its columns,
    the same binary server-side cursor in a transaction, the same batches), and SHA-256 of
    each entry's bytes."""
    from django.db import transaction

    from auditreg.ledger import integrity

    sha256 = hashlib.sha256
    with (
        transaction.atomic(),
        integrity.entry_cursor(integrity.ENTRY_COLUMNS, binary=True) as cursor,
    ):
        while batch := cursor.fetchmany(integrity.CHUNK):
            for row in batch:
                sha256(b"\x00" + row[2]).digest()


def read_text_and_hash() -> None:
    """The baseline of earlier runs: the same rows as text (bytea as hex) through Django's
    server-side cursor outside a transaction, as `entry_rows` reads them, and SHA-256."""
    from auditreg.ledger.integrity import ENTRY_COLUMNS, entry_rows

    sha256 = hashlib.sha256
    for row in entry_rows(ENTRY_COLUMNS):
        sha256(b"\x00" + bytes(row[2])).digest()


def size() -> int:
    from auditreg.ledger.services import tree_size

    return tree_size()


def interleaved_best_of(rounds: int, *functions: Callable[[], object]) -> list[float]:
    """Best wall time of each function over `rounds`, run in turn so noise hits all alike."""
    best = [float("inf")] * len(functions)
    for _ in range(rounds):
        for index, function in enumerate(functions):
            started = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - started)
    return best


def timed_calls(count: int, function: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], p: int) -> float:
    if p == 50:
        return statistics.median(samples)
    return statistics.quantiles(samples, n=100)[p - 1]


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("benchmark", "auditreg", "baseline", "ratio")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def create_database(base: str, name: str = BENCH_DB) -> str:
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(base: str, name: str = BENCH_DB) -> None:
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
