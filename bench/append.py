"""Append throughput on PostgreSQL against a plain insert; prints one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.append

Works in a fresh database (--database, default `auditreg_bench_append`, created and dropped)
on DATABASE_URL's server. 1 and 8 writer processes, one transaction per row as a service
call makes: `services.append` against a plain ORM insert of rows of the same size into a
copy of the ledger's table (`bench.mirror`: the same columns, constraints and indexes, no
triggers, no lock, no chain). --rounds runs of each, interleaved so the machine's noise hits
both alike (each first in turn): the median rates, and the median and range of the rounds'
ratios.
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

from bench.databases import use_database
from bench.ledger import print_table

ROOT = Path(__file__).resolve().parent.parent
Row = tuple[str, str, str, str]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="auditreg_bench_append", help="scratch database")
    parser.add_argument(
        "--appends", type=int, default=4_000, help="rows per run (split over the writers)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="runs of each, interleaved")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    with use_database(args.database):
        rows = run(args)
    print_table(rows)


def run(args: argparse.Namespace) -> list[Row]:
    import django

    django.setup()
    from django.core.management import call_command

    from bench.mirror import create_table

    call_command("migrate", verbosity=0)
    shared = create_table()
    rows: list[Row] = []
    for writers in args.writers:
        per_writer = args.appends // writers
        rates: dict[str, list[float]] = {"ledger": [], "mirror": []}
        for round_ in range(args.rounds):
            # Each first in turn, so a slow drift of the machine favours neither.
            for mode in sorted(rates, reverse=round_ % 2 == 1):
                rates[mode].append(append_rate(mode, writers, per_writer))
        ledger, mirror = (statistics.median(samples) for samples in rates.values())
        ratios = [a / b for a, b in zip(rates["ledger"], rates["mirror"], strict=True)]
        rows.append(
            (
                f"append, {writers} writer(s), rows/s, median of {args.rounds} runs",
                f"{ledger:,.0f}",
                f"plain ORM insert {mirror:,.0f}",
                f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
                " (target >= 0.5)",
            )
        )
    rows.append(
        (
            f"  baseline table: ledger_entry's {len(shared)} indexes, no triggers",
            "",
            "",
            "",
        )
    )
    return rows


def append_rate(mode: str, writers: int, per_writer: int) -> float:
    """Rows per second of `writers` processes appending `per_writer` rows each, over the
    span from the first one's start to the last one's end. They start together once every
    one has imported Django."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.append_worker", mode, str(w), str(per_writer), "-"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            sys.exit(f"an append worker ({mode}) failed to start")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    spans = [[float(t) for t in process.communicate()[0].split()] for process in processes]
    if any(process.returncode for process in processes):
        sys.exit(f"an append worker ({mode}) failed")
    first_start = min(start for start, _ in spans)
    last_end = max(end for _, end in spans)
    return writers * per_writer / (last_end - first_start)


if __name__ == "__main__":
    main()
