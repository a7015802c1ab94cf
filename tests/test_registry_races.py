"""Processes racing on the registry still record each fact once: identical registrations give
one version, simultaneous final approvals give one approval. tests.racing proves they raced."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.racing import race

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result


def ledger_kinds(env: dict[str, str], kind: str) -> list[str]:
    code = (
        "from auditreg.ledger.models import Entry; "
        f"print(*Entry.objects.filter(kind={kind!r}).values_list('subject', flat=True))"
    )
    return run(env, "manage.py", "shell", "-v0", "-c", code).stdout.split()


@pytest.fixture
def fresh_database(tmp_path) -> Iterator[dict[str, str]]:
    env = dict(os.environ, DEBUG="1", AUDITREG_DATA_DIR=str(tmp_path))
    env["RACE_DIR"] = str(tmp_path / "race")
    env["DJANGO_SETTINGS_MODULE"] = "auditreg.settings"
    if connection.vendor != "postgresql":
        env.pop("DATABASE_URL", None)
        yield env
        return
    settings = connection.settings_dict
    name = f"auditreg_race_{uuid.uuid4().hex[:12]}"
    host = f"{settings['HOST']}:{settings['PORT'] or 5432}"
    admin = psycopg.connect(f"postgres://{settings['USER']}@{host}/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = f"postgres://{settings['USER']}@{host}/{name}"
    try:
        yield env
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


def test_racing_registrations_and_final_approvals_record_each_fact_once(fresh_database):
    env = fresh_database
    run(env, "manage.py", "migrate", "-v0")
    run(env, "manage.py", "init_keys")
    run(env, "-m", "tests.registry_racer", "setup")
    writers = 8 if connection.vendor == "postgresql" else 4
    racer = ["-m", "tests.registry_racer"]
    registrars = [[*racer, "register"] for _ in range(writers)]
    signers = [
        [*racer, "sign", "alice", "approver"],
        [*racer, "sign", "marc", "model_risk_committee"],
    ]
    race(env, registrars + signers)
    assert ledger_kinds(env, "version.registered") == ["model:credit-pd/1", "model:credit-pd/2"]
    approvals = [
        subject for subject in ledger_kinds(env, "stage.changed") if subject == "model:credit-pd/1"
    ]
    assert len(approvals) == 2  # into validation, then approved once
    assert len(ledger_kinds(env, "signature.signed")) == 4  # authored, validated, 2 approvals
    assert "registry matches the ledger" in run(env, "manage.py", "replay_ledger", "--check").stdout
    assert "ledger intact" in run(env, "manage.py", "verify_ledger").stdout
