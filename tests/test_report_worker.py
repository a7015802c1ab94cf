"""Real Celery workers on Redis produce a report: the task sent twice, and the worker killed
in the middle of rendering, still give exactly one issued report and one ledger entry."""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_celery_worker import ROOT, manage, redis_answers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not redis_answers(), reason="Redis is not running"),
]

HISTORY = """
from django.db import transaction
from auditreg.ledger import services
from auditreg.proofs.entry import Actor
trainer = Actor("service:trainer", "Nightly training pipeline")
with transaction.atomic():
    for n in range(400):
        services.append(
            kind="test.recorded", subject="model:demo/1", payload={"n": n}, actor=trainer
        )
"""

REQUEST = """
from datetime import datetime, timezone
from auditreg.accounts.services import SYSTEM
from reports import services
from reports.tasks import issue_report
request = services.request_report(
    kind="audit-extract",
    subject="model:demo/1",
    period=(datetime(2000, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)),
    by=SYSTEM,
)
issue_report.delay(str(request.id))  # the same task a second time
print(request.id)
"""


WORKER = ["-m", "celery", "-A", "auditreg.celery", "worker", "--pool", "solo", "--loglevel", "INFO"]
QUIET = ["--without-mingle", "--without-gossip", "--without-heartbeat"]


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *WORKER, *QUIET],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def query(database: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(database, timeout=30) as connection:
        return list(connection.execute(sql))


def broker_drained(db: str) -> bool:
    def count(*command: str) -> int:
        answer = subprocess.run(["redis-cli", "-n", db, *command], capture_output=True, text=True)
        return int(answer.stdout.strip() or 0)

    return count("LLEN", "celery") == 0 and count("HLEN", "unacked") == 0


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_worker_killed_mid_task_and_a_duplicate_task_issue_one_report(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        DEBUG="1",
        AUDITREG_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="auditreg.settings",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/14",
        CELERY_VISIBILITY_TIMEOUT="3",
    )
    subprocess.run(["redis-cli", "-n", "14", "FLUSHDB"], check=False, capture_output=True)
    manage(env, "migrate", "-v0")
    manage(env, "init_keys")
    manage(env, "init_signing_cert")
    manage(env, "shell", "-c", HISTORY)
    database = tmp_path / "auditreg.sqlite3"

    first = start_worker(env)
    second = None
    try:
        request_id = manage(env, "shell", "-c", REQUEST).strip().splitlines()[-1]
        status = f"SELECT status FROM reports_request WHERE id = '{request_id.replace('-', '')}'"

        def busy() -> bool:
            rows = query(database, status)
            return bool(rows) and rows[0][0] in ("rendering", "signing")

        assert wait_for(busy, 60), "the first worker never started rendering"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert query(database, status)[0][0] in ("rendering", "signing")  # killed mid-task

        second = start_worker(env)
        assert wait_for(lambda: query(database, status)[0][0] == "done", 120), (
            "the task was not delivered again"
        )
        # The duplicate task runs too, and must change nothing: wait until the broker holds
        # no message, queued or taken, rather than for a guessed time.
        assert wait_for(lambda: broker_drained("14"), 60), "the duplicate task never ran"
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.communicate(timeout=30)

    issued = query(database, "SELECT body FROM ledger_entry WHERE kind = 'report.issued'")
    assert len(issued) == 1
    [(file_name, digest, attempts)] = query(
        database, "SELECT file_name, pdf_sha256, attempts FROM reports_request"
    )
    assert int(str(attempts)) >= 2
    pdf = (tmp_path / "reports" / str(file_name)).read_bytes()
    assert digest == "sha256:" + hashlib.sha256(pdf).hexdigest()
    out = manage(env, "verify_report", str(tmp_path / "reports" / str(file_name)))
    assert "report signed by" in out
