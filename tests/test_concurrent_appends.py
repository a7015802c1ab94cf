"""Many processes append at once and still produce one gapless chain that verifies.
tests.racing proves they raced."""

import os
import subprocess
import sys
import uuid
from itertools import pairwise
from pathlib import Path

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from auditreg.ledger.models import Entry
from tests.conftest import postgres_only
from tests.racing import race

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 8
PER_WRITER = 60

pytestmark = pytest.mark.slow


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def append_race(env: dict[str, str], writers: int) -> None:
    assert run(env, "manage.py", "migrate", "-v0").returncode == 0
    assert run(env, "manage.py", "init_keys").returncode == 0
    race(
        env,
        [["-m", "tests.race_writer", str(writer), str(PER_WRITER)] for writer in range(writers)],
    )


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="auditreg.settings",
        AUDITREG_DATA_DIR=str(data_dir),
        RACE_DIR=str(data_dir / "race"),
        **extra,
    )
    return env


def writers_interleave(rows: list[str]) -> bool:
    """True when the chain shows the writers really overlapped in time."""
    switches = sum(1 for before, after in pairwise(rows) if before != after)
    return switches > WRITERS * 2


@postgres_only
def test_eight_processes_appending_at_once_make_one_chain_on_postgres(tmp_path):
    settings = connection.settings_dict
    name = f"auditreg_race_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
        host = f"{settings['HOST']}:{settings['PORT'] or 5432}"
        url = f"postgres://{settings['USER']}{password}@{host}/{name}"
        env = base_env(tmp_path, DATABASE_URL=url)
        append_race(env, WRITERS)
        verified = run(env, "manage.py", "verify_ledger")
        assert verified.returncode == 0, verified.stderr
        assert f"ledger intact: {WRITERS * PER_WRITER} entries" in verified.stdout
        with psycopg.connect(url) as check:
            actors = [
                row[0] for row in check.execute("SELECT actor FROM ledger_entry ORDER BY seq")
            ]
        assert writers_interleave(actors)
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def test_four_processes_appending_at_once_make_one_chain_on_sqlite(tmp_path):
    env = base_env(tmp_path)
    env.pop("DATABASE_URL", None)
    append_race(env, 4)
    verified = run(env, "manage.py", "verify_ledger")
    assert verified.returncode == 0, verified.stderr
    assert f"ledger intact: {4 * PER_WRITER} entries" in verified.stdout


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["seq", "hash"])
def test_unique_seq_and_hash_are_a_second_line_of_defence(ledger, column):
    original = ledger(2)[1]
    duplicate = {
        "seq": 99 if column == "hash" else original.seq,
        "recorded_at": original.recorded_at,
        "kind": original.kind,
        "subject": original.subject,
        "actor": original.actor,
        "hash": bytes(original.hash) if column == "hash" else b"\x07" * 32,
        "subtrees": b"",
        "body": bytes(original.body),
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(**duplicate)
    assert Entry.objects.count() == 2
