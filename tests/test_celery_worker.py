"""A real Celery worker process runs the ledger jobs, on the embedded file-system broker and
(when available) on Redis. The worker uses its own SQLite file, as a deployment would."""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


BROKERS = [
    pytest.param(None, id="embedded-filesystem"),
    pytest.param(
        "redis://127.0.0.1:6379/15",
        id="redis",
        marks=pytest.mark.skipif(not redis_answers(), reason="Redis is not running"),
    ),
]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


APPEND_21 = """
from django.db import transaction
from auditreg.ledger import services
from auditreg.proofs.entry import Actor
trainer = Actor("service:trainer", "Nightly training pipeline")
with transaction.atomic():
    for n in range(21):
        services.append(
            kind="test.recorded", subject="model:demo/1", payload={"n": n}, actor=trainer
        )
"""


def checkpoint_sizes(database: Path) -> list[int]:
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT tree_size FROM ledger_checkpoint")]


@pytest.mark.parametrize("broker", BROKERS)
def test_worker_process_signs_a_checkpoint_sent_through_the_broker(tmp_path, broker):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        DEBUG="1", AUDITREG_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="auditreg.settings"
    )
    env.pop("CELERY_BROKER_URL", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    manage(env, "migrate", "-v0")
    manage(env, "init_keys")
    manage(env, "shell", "-c", APPEND_21)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "auditreg.celery",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        manage(
            env,
            "shell",
            "-c",
            "from auditreg.ledger.tasks import checkpoint_ledger; checkpoint_ledger.delay()",
        )
        deadline = time.monotonic() + 60
        while not checkpoint_sizes(tmp_path / "auditreg.sqlite3") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert checkpoint_sizes(tmp_path / "auditreg.sqlite3") == [21]
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert "signed ledger checkpoint at tree size 21" in output
    assert "ledger intact: 21 entries" in manage(env, "verify_ledger")
