import importlib
import io
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import settings as hypothesis_settings

from auditreg.ledger import services
from auditreg.ledger.models import Entry
from auditreg.proofs.entry import Actor

# CI (`.ci/run` sets CI=1) runs the property tests with a fixed seed, so a run is repeatable,
# with no per-example deadline for a loaded runner to trip, and no example database to carry
# between runs; locally they explore.
hypothesis_settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, print_blob=True
)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


DANA = Actor("user:dana", "Dana Developer")
VIC = Actor("user:vic", "Victor Validator")
TRAINER = Actor("service:trainer", "Nightly training pipeline")

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"
)
sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite behaviour")

# --- Tests that commit for real (live server, threads) -----------------------------------------
#
# Such a test ends by emptying every table, which the ledger's append-only triggers refuse.
# So the triggers are dropped just before that flush and put back, as the migration makes
# them, just after it.

APPEND_ONLY = importlib.import_module("auditreg.ledger.migrations.0002_append_only")


def set_append_only(on: bool) -> None:
    with connection.schema_editor() as editor:
        APPEND_ONLY.backward(None, editor)
        if on:
            APPEND_ONLY.forward(None, editor)


@pytest.fixture
def append_only_rearmed(django_db_setup, django_db_blocker) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        set_append_only(True)


@pytest.fixture
def transactional_db(append_only_rearmed, transactional_db) -> Iterator[None]:
    yield
    set_append_only(False)


@pytest.fixture(autouse=True)
def fresh_rate_counts() -> None:
    """Request counts of the API's rate limit belong to one test (ids repeat across tests)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def keys_dir(settings, tmp_path: Path) -> Path:
    """Every test gets its own keys folder with a fresh checkpoint signing key."""
    settings.AUDITREG_KEYS_DIR = tmp_path / "keys"
    call_command("init_keys", stdout=io.StringIO())
    return Path(settings.AUDITREG_KEYS_DIR)


class Clock:
    """A controllable clock for the ledger (the only thing tests mock, with the outside world)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django.utils.timezone.now", fake)
    return fake


def append_many(count: int, *, subject: str = "model:credit-pd/1") -> list[Entry]:
    actors = [DANA, VIC, TRAINER]
    return [
        services.append(
            kind="test.recorded",
            subject=subject,
            payload={"n": n, "note": f"entry {n}", "score": "0.8412"},
            actor=actors[n % 3],
        )
        for n in range(count)
    ]


@pytest.fixture
def ledger(db) -> Callable[[int], list[Entry]]:
    return append_many


def lift_append_only() -> None:
    """What a database owner can do: switch the append-only triggers off.

    Done inside the test's transaction, so the rollback at the end of the test restores them.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("ledger_entry", "ledger_checkpoint"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_update_delete")
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate")
        else:
            for table in ("ledger_entry", "ledger_checkpoint"):
                cursor.execute(f"DROP TRIGGER {table}_no_update")
                cursor.execute(f"DROP TRIGGER {table}_no_delete")


def raw(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


@pytest.fixture
def people(db):
    """Enrolled personas with passwords (factories.password) and the default tier policies."""
    from tests.factories import make_people

    return make_people()


@pytest.fixture
def signing_dir(settings, tmp_path):
    """A development CA and signing certificate, and report storage, in throw-away folders."""
    settings.AUDITREG_SIGNING_DIR = tmp_path / "signing"
    settings.STORAGES = {
        **settings.STORAGES,
        "reports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "reports")},
        },
    }
    call_command("init_signing_cert", stdout=io.StringIO())
    return settings.AUDITREG_SIGNING_DIR
