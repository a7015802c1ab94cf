"""Databases of their own for the benches that name one (`bench.append`, `bench.replay`), on
DATABASE_URL's server, so they can run beside the benches that share `auditreg_bench`."""

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg


def server() -> str:
    """DATABASE_URL, which names the server (the database itself is not touched)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL server (the database itself is not touched)")
    return base


def url_of(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def exists(base: str, name: str) -> bool:
    with psycopg.connect(base, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


def create(base: str, name: str) -> None:
    drop(base, name)
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")


def drop(base: str, name: str) -> None:
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def use_database(name: str, *, fresh: bool = True, keep: bool = False) -> Iterator[bool]:
    """Point this process's Django settings at database `name` on DATABASE_URL's server.

    With `fresh`, (re)create it first; else create it only if it is missing. Drops it
    afterwards unless `keep`. Yields whether it was created empty here."""
    base = server()
    created = fresh or not exists(base, name)
    if created:
        create(base, name)
    os.environ.update(
        DATABASE_URL=url_of(base, name),
        DEBUG="1",
        AUDITREG_DATA_DIR=tempfile.mkdtemp(prefix="auditreg-bench-"),
        DJANGO_SETTINGS_MODULE="auditreg.settings",
    )
    try:
        yield created
    finally:
        if keep:
            print(f"kept the database {name}", file=sys.stderr)
        else:
            drop(base, name)
