"""H1 with real Celery workers on Redis: a report request can never become a poison message.

A request whose production kills its worker every time is given up after its attempts and
acknowledged, so the queue moves on; and a model-risk report of a version whose monitoring
figures once made the chart loop forever is issued like any other.
"""

import os
import signal
import subprocess
import time

import pytest

from tests.test_celery_worker import manage, redis_answers
from tests.test_report_worker import query, start_worker, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not redis_answers(), reason="Redis is not running"),
]

# A high-tier model in production whose figures an older release accepted: two that round
# together at 28 digits and one that overflows. Then two model-risk reports of it.
SEED = """
from tests.factories import approve, authorize, deploy, make_model, make_use_case, make_version
from tests.factories import make_people
from tests.test_security_monitoring import poison
from reports import services as reports
people = make_people()
model = make_model(people)
version = approve(people, make_version(people, model))
authorize(people, version, make_use_case(people, model))
version = deploy(people, version)
poison(version, people.trainer)
for _ in range(2):
    print(reports.request_report(kind="model-risk", subject=version.subject, by=people.olga).id)
"""


def test_a_request_that_kills_its_worker_is_given_up_and_the_next_report_is_issued(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DEBUG="1",
        AUDITREG_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="tests.settings",  # fast password hashes for the seed
        CELERY_BROKER_URL="redis://127.0.0.1:6379/12",
        CELERY_VISIBILITY_TIMEOUT="3",
        AUDITREG_REPORT_MAX_ATTEMPTS="2",
    )
    subprocess.run(["redis-cli", "-n", "12", "FLUSHDB"], capture_output=True)
    manage(env, "migrate", "-v0")
    manage(env, "init_keys")
    manage(env, "init_signing_cert")
    database = tmp_path / "auditreg.sqlite3"

    workers = [start_worker(env)]
    try:
        doomed, healthy = manage(env, "shell", "-c", SEED).split()[-2:]

        def row(request_id: str) -> tuple[object, ...]:
            sql = "SELECT status, attempts, reason FROM reports_request WHERE id = '{}'"
            return query(database, sql.format(request_id.replace("-", "")))[0]

        # The first request's worker dies in the middle, twice: as a render that exhausts
        # its memory would. Each time the message comes back.
        for attempt in (1, 2):
            busy = {("rendering", attempt), ("signing", attempt)}
            assert wait_for(lambda busy=busy: row(doomed)[:2] in busy, 120), row(doomed)
            workers[-1].send_signal(signal.SIGKILL)
            workers[-1].wait(timeout=30)
            workers.append(start_worker(env))

        assert wait_for(lambda: row(healthy)[0] == "done", 180), row(healthy)
        assert wait_for(lambda: row(doomed)[0] != "rendering", 60), row(doomed)
        status, attempts, reason = row(doomed)
        assert (status, attempts) == ("failed", 2)
        assert "gave up after 2 attempts" in str(reason)
        time.sleep(4)  # past the visibility timeout: nothing is delivered again
        assert row(doomed)[:2] == ("failed", 2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.communicate(timeout=30)

    issued = query(database, "SELECT subject FROM ledger_entry WHERE kind = 'report.issued'")
    assert issued == [(f"report:{healthy}",)]
    [(file_name,)] = query(database, "SELECT file_name FROM reports_request WHERE status = 'done'")
    assert "report signed by" in manage(
        env, "verify_report", str(tmp_path / "reports" / str(file_name))
    )
