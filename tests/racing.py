"""Racing processes that provably raced.

A race test that only starts its contenders "at the same moment" passes without racing when
the machine is slow to start them: they then run one after the other. Here the contenders
wait at a door until all are ready; the test then takes the lock every ledger write needs
(the database's write lock on SQLite, the ledger's append lock on PostgreSQL), opens the
door, and lets go only once every contender is inside its write (on PostgreSQL, once each is
seen waiting on a lock). Each contender notes when it went into its write and when it came
out, and `race` asserts that all went in before the lock was let go and all came out after.
"""

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def contending() -> Iterator[None]:
    """In a contender, around its write: say it is ready, wait for the others, then note the
    time it goes into its write and the time it comes out."""
    folder, name = Path(os.environ["RACE_DIR"]), os.environ["RACE_NAME"]
    (folder / f"{name}.ready").touch()
    deadline = time.monotonic() + 300
    while not (folder / "go").exists():
        assert time.monotonic() < deadline, "the race never started"
        time.sleep(0.005)
    (folder / f"{name}.in").write_text(repr(time.time()))
    yield
    (folder / f"{name}.out").write_text(repr(time.time()))


def race(env: dict[str, str], commands: Sequence[Sequence[str]]) -> None:
    """Run each command (arguments to python) as a contender and prove that they raced."""
    folder = Path(env["RACE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    processes = [
        subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env={**env, "RACE_NAME": f"contender-{n}"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, command in enumerate(commands)
    ]

    def every(suffix: str) -> Callable[[], bool]:
        return lambda: len(list(folder.glob(f"*.{suffix}"))) == len(processes)

    try:
        # Started apart, they are held at the door until all are ready, so that the lock is
        # held only for as long as the race itself takes.
        wait_until(every("ready"), processes, "not every contender got ready")
        with held_write_lock(env) as waiting:
            (folder / "go").touch()
            wait_until(every("in"), processes, "not every contender went into its write")
            if waiting is None:
                time.sleep(0.5)  # SQLite cannot tell who waits: time to reach BEGIN IMMEDIATE
            else:
                wait_until(
                    lambda: waiting() == len(processes),
                    processes,
                    "not every contender waited on a lock",
                )
            released_at = time.time()
    except BaseException:
        for process in processes:
            process.kill()
        raise
    for process in processes:
        _, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors
    went_in = [float(path.read_text()) for path in folder.glob("*.in")]
    came_out = [float(path.read_text()) for path in folder.glob("*.out")]
    assert len(came_out) == len(processes)
    assert max(went_in) < released_at < min(came_out), "the contenders did not overlap"


@contextmanager
def held_write_lock(env: dict[str, str]) -> Iterator[Callable[[], int] | None]:
    """Hold the lock every ledger write takes; yield a count of the other sessions waiting on
    a lock (PostgreSQL), or None where the database cannot tell (SQLite)."""
    url = env.get("DATABASE_URL")
    if not url:
        database = Path(env["AUDITREG_DATA_DIR"]) / "auditreg.sqlite3"
        lite = sqlite3.connect(database, isolation_level=None, timeout=30)
        lite.execute("BEGIN IMMEDIATE")
        try:
            yield None
        finally:
            lite.execute("COMMIT")
            lite.close()
        return
    import psycopg

    from auditreg.ledger.services import APPEND_LOCK_KEY

    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [APPEND_LOCK_KEY])

        def waiting() -> int:
            row = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND wait_event_type = 'Lock'"
            ).fetchone()
            return int(row[0]) if row else 0

        try:
            yield waiting
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", [APPEND_LOCK_KEY])


def wait_until(
    condition: Callable[[], bool], processes: list[subprocess.Popen[str]], failure: str
) -> None:
    """Wait up to two minutes for `condition`; a contender that ends meanwhile is a failure
    (none can finish while the lock is held or before the race starts)."""
    deadline = time.monotonic() + 120
    while not condition():
        for process in processes:
            if process.poll() is not None:
                _, errors = process.communicate()
                raise AssertionError(f"{failure}: a contender ended early\n{errors}")
        assert time.monotonic() < deadline, failure
        time.sleep(0.01)
