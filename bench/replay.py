"""`replay_ledger --check` on PostgreSQL against reading the same entries; prints one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.replay

Works in a database of its own (--database, default `auditreg_bench_replay`) on
DATABASE_URL's server, which it keeps: building the registry takes 20 to 40 minutes at the
default size, so a later run that finds it with --versions versions and at least --entries
entries only migrates it (--fresh rebuilds it, --drop removes it). The history is
`bench.registry`'s, built through the real services: --versions versions over --models
models, with their signatures, stage changes, authorizations, releases, lineage and
monitoring, topped up with monitoring records to --entries entries if it has fewer.

Then, best of --rounds, run in turn so the machine's noise hits all alike:
- the baseline: the entries' bodies read as the check reads them (`replay.entry_bodies`:
  `SELECT body FROM ledger_entry ORDER BY seq` through a server-side cursor, in binary form),
  in a repeatable-read, read-only transaction (what `replay.check()` opens), every one consumed;
- the same, with each entry's JSON parsed;
- `replay.replay()`: every entry parsed and projected into memory, no compare;
- `replay.check()`, what `manage.py replay_ledger --check` runs: `replay()`, then every
  projected table read back (one query each) and compared with it, row by row and column
  by column. Every check must find no difference and no anomaly, or the bench stops.
"""

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bench.databases import drop, server, use_database
from bench.ledger import interleaved_best_of, print_table

if TYPE_CHECKING:
    from auditreg.facts.replay import Replay

Row = tuple[str, str, str, str]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", default="auditreg_bench_replay", help="kept database")
    parser.add_argument("--versions", type=int, default=10_000, help="model versions to register")
    parser.add_argument("--entries", type=int, default=100_000, help="ledger entries in all")
    parser.add_argument("--models", type=int, help="registered models (default: versions / 10)")
    parser.add_argument("--workers", type=int, default=2, help="processes building the history")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated history")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each")
    parser.add_argument("--profile", action="store_true", help="cProfile one check() to stderr")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--drop", action="store_true", help="drop the database and stop")
    args = parser.parse_args()
    args.models = args.models or max(1, args.versions // 10)
    if args.drop:
        drop(server(), args.database)
        return
    with use_database(args.database, fresh=args.fresh, keep=True):
        rows = run(args)
    print_table(rows)


def run(args: argparse.Namespace) -> list[Row]:
    import django
    from django.conf import settings

    from bench import registry

    django.setup()
    settings.PASSWORD_HASHERS = registry.FAST_HASHERS
    settings.DEBUG = False  # no query log (DEBUG=1 only spares the production settings)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not built(args):
        started = time.perf_counter()
        registry.enroll_staff()
        registry.build(range(args.models), args)
        registry.top_up(args.entries - registry.size(), args)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    registry.vacuum()
    if not built(args):
        sys.exit(f"{args.database} does not hold the history asked for: run with --fresh")
    load = os.getloadavg()[0]
    rows = measure(args.rounds)
    rows.append(
        (
            f"  {os.cpu_count()} cores; load average (1 min) before and after",
            f"{load:.1f}",
            f"{os.getloadavg()[0]:.1f}",
            "",
        )
    )
    if args.profile:
        from auditreg.facts import replay

        profile(replay.check)
    return rows


def built(args: argparse.Namespace) -> bool:
    """The database holds the history asked for: --versions versions, and at least --entries
    entries (building the versions' histories may pass it; then no monitoring tops it up)."""
    from auditreg.ledger.models import Entry
    from auditreg.registry.models import ModelVersion

    versions, entries = ModelVersion.objects.count(), Entry.objects.count()
    return bool(versions == args.versions and entries >= args.entries)


def measure(rounds: int) -> list[Row]:
    """The replay lines of the table: best of `rounds` of each, interleaved."""
    from auditreg.facts import replay
    from auditreg.ledger.services import tree_size

    results: list[Replay] = []
    read, parsed, replayed, checked = interleaved_best_of(
        rounds, read_entries, parse_entries, replay_only, lambda: results.append(replay.check())
    )
    n = tree_size()
    for result in results:
        if not result.clean or result.entries != n:
            print("\n".join((result.anomalies + result.differences)[:50]), file=sys.stderr)
            sys.exit(
                f"replay check FAILED: {len(result.differences)} differences, "
                f"{len(result.anomalies)} anomalies, {result.entries:,} of {n:,} entries"
            )
    rows = results[-1].rows
    return [
        (
            f"replay_ledger --check, {n:,} entries ({rows:,} rows), s",
            f"{checked:.2f}",
            f"read same entries {read:.2f}",
            f"{checked / read:.2f} (target <= 3)",
        ),
        (
            "  replay() alone, into memory (parse, project), s",
            f"{replayed:.2f}",
            f"read + parse {parsed:.2f}",
            f"{replayed / read:.2f} (parse alone {parsed / read:.2f})",
        ),
    ]


@contextmanager
def snapshot() -> Iterator[None]:
    """A read-only repeatable-read transaction, as `replay.check()` opens."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def read_entries() -> int:
    """The baseline: the entries' bodies read as the check reads them (`replay.entry_bodies`),
    in the same kind of transaction, every one consumed."""
    from auditreg.facts.replay import entry_bodies

    count = 0
    with snapshot():
        for bodies in entry_bodies():
            count += sum(len(body) > 0 for body in bodies)
    return count


def parse_entries() -> int:
    """Reading the same entries and parsing each one's JSON, nothing more."""
    from auditreg.facts.replay import entry_bodies

    count = 0
    with snapshot():
        for bodies in entry_bodies():
            count += sum(len(json.loads(body)) for body in bodies)
    return count


def replay_only() -> None:
    """`replay.replay()` alone: every entry parsed and projected into memory, no compare."""
    from auditreg.facts import replay

    with snapshot():
        replay.replay()


def profile(function: Callable[[], object]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(function)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
