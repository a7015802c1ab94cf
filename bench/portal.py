"""The reviewer portal under load on PostgreSQL; prints one table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m bench.portal

1. Fills a database `auditreg_bench_portal` on DATABASE_URL's server with --models models,
   --versions versions and a valid chain of --entries ledger entries (`bench.portal_data`),
   and a small one, `auditreg_bench_portal_small`, of the same shape. Both are kept: a later
   run that finds them with the expected counts skips the generation (--fresh rebuilds).
2. Counts the SQL queries of the four pages on both, in-process with Django's test client,
   and EXPLAINs the ledger explorer's filters by kind and by actor on the large one.
3. Serves the large one with gunicorn (production settings) and runs locust headless:
   --users virtual reviewers sign in through the portal's form and read the dashboard, an
   inventory search, a version page and the ledger explorer in turn for --duration seconds.
"""

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench.ingest import free_port, server

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "auditreg_bench_portal"
SMALL = {"models": 20, "versions": 200, "entries": 5_000}
ORIGIN = "bench.auditreg.example/ledger"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20, help="concurrent virtual reviewers")
    parser.add_argument("--duration", type=int, default=120, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between clicks, s")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    parser.add_argument("--drop", action="store_true", help="drop the databases and stop")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the database itself is not touched)")
    large = {"models": args.models, "versions": args.versions, "entries": args.entries}
    if args.drop:
        for name in (DATABASE, f"{DATABASE}_small"):
            drop(base, name)
        return
    data_dir = ROOT / "var" / "bench-portal"
    data_dir.mkdir(parents=True, exist_ok=True)
    small_url = prepare(base, f"{DATABASE}_small", SMALL, args, data_dir)
    large_url = prepare(base, DATABASE, large, args, data_dir)
    pages = sample_pages(large_url, args)
    small_counts = inspect(small_url, sample_pages(small_url, args), data_dir)
    large_report = inspect(large_url, pages, data_dir)
    stats = load_test(large_url, args, data_dir)
    print_table(args, pages, small_counts, large_report, stats)


# --- The databases ------------------------------------------------------------------------------


def url_of(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def drop(base: str, name: str) -> None:
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def has(url: str, size: dict[str, int]) -> bool:
    """The database exists, holds exactly the expected rows and a checkpoint over them."""
    try:
        with psycopg.connect(url) as conn:
            entries = conn.execute("SELECT count(*) FROM ledger_entry").fetchone()
            versions = conn.execute("SELECT count(*) FROM registry_modelversion").fetchone()
            signed = conn.execute("SELECT max(tree_size) FROM ledger_checkpoint").fetchone()
    except psycopg.Error:
        return False
    assert entries and versions and signed
    return (entries[0], versions[0], signed[0]) == (
        size["entries"],
        size["versions"],
        size["entries"],
    )


def prepare(
    base: str, name: str, size: dict[str, int], args: argparse.Namespace, data_dir: Path
) -> str:
    url = url_of(base, name)
    if not args.fresh and has(url, size):
        print(f"{name}: already generated, {size['entries']:,} entries", file=sys.stderr)
        child(url, data_dir, "migrate")  # indexes added since it was generated
        return url
    drop(base, name)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    started = time.perf_counter()
    child(url, data_dir, "generate", json.dumps(size), str(args.seed))
    print(f"{name}: generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def environment(url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "1",
        "AUDITREG_DATA_DIR": str(data_dir),
        "AUDITREG_KEYS_DIR": str(data_dir / "keys"),
        "DJANGO_SETTINGS_MODULE": "auditreg.settings",
    }


def child(url: str, data_dir: Path, *argv: str) -> str:
    """Run a step of this bench in a fresh process pointed at `url`; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.portal", "--step", *argv],
        cwd=ROOT,
        env=environment(url, data_dir),
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return done.stdout


def step(argv: list[str]) -> None:
    """A child process's step: generate a database, or pick the pages to load."""
    import django

    django.setup()
    from django.core.management import call_command

    if argv[0] == "generate":
        from auditreg.ledger import services
        from bench.portal_data import generate

        size = json.loads(argv[1])
        call_command("migrate", verbosity=0)
        keys = Path(os.environ["AUDITREG_KEYS_DIR"])
        if not keys.exists():
            call_command("init_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
        generate(size["models"], size["versions"], size["entries"], int(argv[2]))
        services.checkpoint(origin=ORIGIN)
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    elif argv[0] == "migrate":
        call_command("migrate", verbosity=0)
    elif argv[0] == "pages":
        print(json.dumps(pick_pages()))


def pick_pages() -> dict[str, object]:
    """Representative URLs and the values the load draws from, read from the database."""
    from auditreg.registry.models import ModelVersion, RegisteredModel
    from bench.portal_data import reader_usernames

    version = ModelVersion.objects.in_production().order_by("id").first()
    assert version is not None
    slugs = list(RegisteredModel.objects.order_by("id").values_list("slug", flat=True))
    return {
        "pages": {
            "dashboard": "/",
            "inventory search": "/models?q=credit&risk_tier=high&stage=production&sort=-versions",
            "version page": f"/models/{version.model_id}/versions/{version.number}",
            "ledger explorer": f"/ledger?subject={version.subject}",
            "ledger explorer, kind": "/ledger?kind=authorization.activated",
            "ledger explorer, actor": "/ledger?actor=user:val03",
        },
        "slugs": slugs,
        "readers": reader_usernames(),
        "per_model": max(ModelVersion.objects.values_list("number", flat=True)),
    }


def sample_pages(url: str, args: argparse.Namespace) -> dict[str, object]:
    return dict(json.loads(child(url, ROOT / "var" / "bench-portal", "pages")))


def inspect(url: str, pages: dict[str, object], data_dir: Path) -> dict[str, object]:
    readers = pages["readers"]
    assert isinstance(readers, list)
    done = subprocess.run(
        [sys.executable, "-m", "bench.portal_queries", json.dumps(pages["pages"]), readers[0]],
        cwd=ROOT,
        env=environment(url, data_dir),
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


# --- The load -----------------------------------------------------------------------------------


def load_test(url: str, args: argparse.Namespace, data_dir: Path) -> dict[str, dict[str, str]]:
    from bench.portal_data import READER_PASSWORD

    pages = sample_pages(url, args)
    port = free_port()
    serving = {
        **environment(url, data_dir),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": "memory://",  # the pages read; nothing is enqueued
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback, no TLS proxy
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "auditreg.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(args.workers)]
    out = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    slugs = pages["slugs"]
    assert isinstance(slugs, list) and isinstance(pages["readers"], list)
    slugs_file = out / "slugs.txt"
    slugs_file.write_text("\n".join(slugs))
    load_env = {
        **os.environ,
        "BENCH_PORTAL_USERS": ",".join(pages["readers"]),
        "BENCH_PORTAL_PASSWORD": READER_PASSWORD,
        # 10,000 slugs are more than one environment variable may hold: they go in a file.
        "BENCH_PORTAL_SLUGS_FILE": str(slugs_file),
        "BENCH_PORTAL_PER_MODEL": str(pages["per_model"]),
        "BENCH_PORTAL_ACTORS": ",".join(f"user:{name}" for name in pages["readers"]),
        "BENCH_PORTAL_THINK": str(args.think),
    }
    locust = [str(Path(sys.executable).parent / "locust"), "-f", "bench/portal_locustfile.py"]
    locust += ["--headless", "--users", str(args.users), "--spawn-rate", str(args.users)]
    locust += ["--run-time", f"{args.duration}s", "--host", f"http://127.0.0.1:{port}"]
    locust += ["--csv", str(out / "load"), "--only-summary", "--loglevel", "WARNING"]
    with server(command, serving, data_dir / "gunicorn.log", port, "/login"):
        subprocess.run(locust, cwd=ROOT, env=load_env, check=False, stdout=subprocess.DEVNULL)
    with (out / "load_stats.csv").open() as stats:
        return {row["Name"]: row for row in csv.DictReader(stats)}


# --- The table ----------------------------------------------------------------------------------


def print_table(
    args: argparse.Namespace,
    pages: dict[str, object],
    small: dict[str, object],
    large: dict[str, object],
    stats: dict[str, dict[str, str]],
) -> None:
    small_queries, large_queries = small["queries"], large["queries"]
    assert isinstance(small_queries, dict) and isinstance(large_queries, dict)
    header = ("page", "requests", "failures", "median ms", "p95 ms", "SQL queries small / full")
    rows = []
    for name in ("dashboard", "inventory search", "version page", "ledger explorer"):
        row = stats.get(name, {})
        queries = f"{small_queries[name]} / {large_queries[name]}" if name in large_queries else ""
        rows.append(
            (
                name,
                row.get("Request Count", "0"),
                row.get("Failure Count", "0"),
                row.get("50%", ""),
                row.get("95%", ""),
                queries,
            )
        )
    for name in ("ledger explorer, kind", "ledger explorer, actor"):
        rows.append((name, "", "", "", "", f"{small_queries[name]} / {large_queries[name]}"))
    total = stats.get("Aggregated", {})
    rows.append(
        (
            f"all, {args.users} users, {args.duration} s",
            total.get("Request Count", "0"),
            total.get("Failure Count", "0"),
            total.get("50%", ""),
            total.get("95%", ""),
            f"{float(total.get('Requests/s', 0)):.1f} requests/s",
        )
    )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(
        f"{args.models:,} models, {args.versions:,} versions, {args.entries:,} ledger entries; "
        f"small: {SMALL['models']} / {SMALL['versions']} / {SMALL['entries']:,}"
    )
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)))
    plans = large["plans"]
    assert isinstance(plans, dict)
    print()
    for name, plan in plans.items():
        print(
            f"ledger explorer by {name} ({plan['filter']}): {' > '.join(plan['nodes'])}; "
            f"execution {plan['execution_ms']} ms, query {plan['query_ms']} ms"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--step"]:
        step(sys.argv[2:])
    else:
        main()
