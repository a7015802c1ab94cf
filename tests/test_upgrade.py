"""A database made by the last release before the accounts app and the ledger's verification
runs moved is migrated forward with no data change, and its ledger still verifies and
replays: the moves kept every table's name and content.

The old release is taken from the repository's own history (`git archive`), given the
demo's history by its own `seed_demo`, then handed to today's code.
"""

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The last landed release whose models still lived in the registry and the portal.
BEFORE_THE_MOVES = "c9e5b7e"
MOVED_TABLES = [
    "registry_principal",
    "registry_roleassignment",
    "registry_apitoken",
    "registry_passwordfailure",
    "registry_passwordstamp",
    "portal_verificationrun",
]


def _old_release(folder: Path) -> Path | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    known = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{BEFORE_THE_MOVES}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    if known.returncode != 0:
        return None
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", BEFORE_THE_MOVES],
        capture_output=True,
        check=True,
    )
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the test's own: a SQLite file, or a fresh PostgreSQL database beside
    the suite's when the suite runs on PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"
        return
    import psycopg

    name = f"upgrade_{uuid.uuid4().hex[:12]}"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _manage(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{args} in {cwd.name}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _rows(cwd: Path, env: dict[str, str]) -> str:
    """Every row of the moved tables, as today's code reads them through the database."""
    script = (
        "import django, json; django.setup()\n"
        "from django.db import connection\n"
        f"tables = {MOVED_TABLES!r}\n"
        "with connection.cursor() as c:\n"
        "    out = {}\n"
        "    for t in tables:\n"
        "        c.execute(f'SELECT * FROM {t} ORDER BY 1')\n"
        "        out[t] = [[str(v) for v in row] for row in c.fetchall()]\n"
        "print(json.dumps(out, sort_keys=True))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env={**env, "DJANGO_SETTINGS_MODULE": "auditreg.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_a_database_of_the_previous_release_migrates_forward_and_still_verifies(
    tmp_path: Path, database_url: str
) -> None:
    old = _old_release(tmp_path / "old")
    if old is None:
        pytest.skip("needs the repository's history (git) to build the previous release")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUDITREG_", "DJANGO_"))},
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "AUDITREG_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": "",
    }
    for step in (["migrate", "--verbosity", "0"], ["init_keys"], ["seed_demo"], ["checkpoint"]):
        _manage(old, env, *step)
    verdict = _manage(old, env, "verify_ledger")
    before = _rows(old, env)

    _manage(ROOT, env, "migrate", "--verbosity", "0")
    assert _rows(ROOT, env) == before  # the moves changed no row
    assert _manage(ROOT, env, "verify_ledger") == verdict  # the same tree, root and checkpoint
    _manage(ROOT, env, "replay_ledger", "--check")
    # Nothing is left for makemigrations to find: the state matches the kept tables.
    _manage(ROOT, env, "makemigrations", "--check", "--dry-run")
