"""Start-up settings, the documented management commands, and the read-only admin."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from auditreg.ledger.models import Checkpoint, Entry
from auditreg.registry.models import ModelVersion
from tests.conftest import append_many

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 30 + "-production-secret-with-enough-entropy-9f8e7d6c5b4a",
    "ALLOWED_HOSTS": "auditreg.bank.example",
    "DATABASE_URL": "postgres://auditreg@db.bank.example:5432/auditreg",
    "CELERY_BROKER_URL": "redis://cache.bank.example:6379/0",
    "AUDITREG_KEYS_DIR": "/etc/auditreg/keys",
}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DJANGO_SETTINGS_MODULE"
    }
    full.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True
    )


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings():
    result = manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("missing", sorted(set(PRODUCTION) - {"DEBUG"}))
def test_missing_production_setting_fails_at_start_up_naming_it(missing):
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    result = manage(env, "check")
    assert result.returncode != 0
    assert "these settings are missing" in result.stderr
    assert missing in result.stderr.splitlines()[-1]


def embedded_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter in the embedded mode (no database or broker URL)."""
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION and k not in ("AUDITREG_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    full.update(DEBUG="1", **env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True
    )


@pytest.mark.slow
@pytest.mark.parametrize("module", ["auditreg.settings", "tests.settings"])
def test_reading_the_settings_creates_no_folder(tmp_path, module):
    root = tmp_path / "root"  # tmp_path also holds the keys of the test's own settings
    temporary = root / "tmp"  # where tests.settings names its data folder
    temporary.mkdir(parents=True)
    data = root / "data"
    env = {"TMPDIR": str(temporary)}
    if module == "auditreg.settings":
        env["AUDITREG_DATA_DIR"] = str(data)
    result = embedded_python(
        f"import importlib; print(importlib.import_module({module!r}).DATA_DIR)", **env
    )
    assert result.returncode == 0, result.stderr
    named = Path(result.stdout.strip())
    assert named.parent == (root if module == "auditreg.settings" else temporary)
    assert sorted(root.rglob("*")) == [temporary]


@pytest.mark.slow
def test_start_up_creates_the_folders_of_the_embedded_mode(tmp_path):
    data = tmp_path / "root" / "data"
    result = embedded_python(
        "import django; django.setup()",
        AUDITREG_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="auditreg.settings",
    )
    assert result.returncode == 0, result.stderr
    broker = data / "broker"
    assert sorted(data.parent.rglob("*")) == [
        data,
        broker,
        broker / "control",
        broker / "processed",
        broker / "queue",
    ]


@pytest.mark.slow
def test_commands_exit_non_zero_with_one_line_when_the_ledger_is_broken(tmp_path):
    env = {"DEBUG": "1", "AUDITREG_DATA_DIR": str(tmp_path)}
    for command in (["migrate", "-v0"], ["init_keys"], ["seed_demo"], ["checkpoint"]):
        assert manage(env, *command).returncode == 0
    intact = manage(env, "verify_ledger")
    assert intact.returncode == 0
    assert intact.stdout.startswith("ledger intact: ")
    assert manage(env, "replay_ledger", "--check").returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "auditreg.sqlite3") as connection:
        (subject,) = connection.execute(
            "SELECT subject FROM ledger_entry WHERE seq = 30"
        ).fetchone()
        connection.execute("DROP TRIGGER ledger_entry_no_update")
        connection.execute("UPDATE ledger_entry SET subject = 'model:forged' WHERE seq = 30")
    broken = manage(env, "verify_ledger")
    assert broken.returncode == 1
    assert broken.stderr.strip().splitlines()[-1] == (
        "CommandError: ledger NOT intact: seq 30: subject column is 'model:forged' but the "
        f"hashed entry says '{subject}'"
    )


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_checkpoint_skips_an_unchanged_tree(capsys):
    call_command("seed_demo")
    size = Entry.objects.count()
    call_command("seed_demo")
    assert Entry.objects.count() == size
    call_command("checkpoint")
    call_command("checkpoint")
    assert list(Checkpoint.objects.values_list("tree_size", flat=True)) == [size]
    assert "no new entries" in capsys.readouterr().out


@pytest.mark.django_db
def test_checkpoint_without_a_signing_key_is_a_clear_error(settings, tmp_path):
    settings.AUDITREG_KEYS_DIR = tmp_path / "nowhere"
    with pytest.raises(CommandError, match=r"no checkpoint signing key .* init_keys"):
        call_command("checkpoint")
    assert Checkpoint.objects.count() == 0


@pytest.mark.django_db
def test_rotated_key_keeps_old_checkpoints_verifiable(keys_dir, capsys):
    call_command("seed_demo")
    call_command("checkpoint")
    old_key = (keys_dir / "ledger.key").read_text()
    call_command("init_keys", "--rotate")
    assert (keys_dir / "ledger.key").read_text() != old_key
    assert len(list(keys_dir.glob("*.vkey"))) == 2
    append_many(5)
    call_command("checkpoint")
    call_command("verify_ledger", "--quiet")
    assert "2 signed checkpoints verified" in capsys.readouterr().out


@pytest.mark.django_db
def test_retired_public_key_removed_from_keyring_makes_old_checkpoints_fail(keys_dir):
    call_command("seed_demo")
    call_command("checkpoint")
    for vkey in keys_dir.glob("*.vkey"):
        vkey.unlink()
    call_command("init_keys", "--rotate")
    size = Entry.objects.count()
    with pytest.raises(CommandError, match=f"seq {size - 1}: checkpoint at tree size {size}: sig"):
        call_command("verify_ledger", "--quiet")


def test_private_key_file_is_readable_only_by_its_owner(keys_dir):
    assert (keys_dir / "ledger.key").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_admin_shows_ledger_entries_read_only(client):
    call_command("seed_demo")
    admin = User.objects.create_superuser(
        "root-admin", "admin@bank.example", "correct horse battery"
    )
    client.force_login(admin)
    entry = Entry.objects.get(subject="model:credit-pd", kind="model.registered")
    size = Entry.objects.count()
    page = client.get(f"/admin/ledger/entry/{entry.seq}/change/")
    assert page.status_code == 200
    assert b"model:credit-pd" in page.content
    assert b'name="_save"' not in page.content
    assert client.get("/admin/ledger/entry/add/").status_code == 403
    assert (
        client.post(f"/admin/ledger/entry/{entry.seq}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Entry.objects.count() == size


@pytest.mark.django_db
def test_progress_is_reported_each_time_a_multiple_is_passed(ledger, monkeypatch):
    from auditreg.ledger import integrity

    monkeypatch.setattr(integrity, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(integrity, "CHUNK", 4)
    ledger(25)
    seen: list[tuple[int, int]] = []
    integrity.verify_database(lambda done, total: seen.append((done, total)), pipelined=False)
    assert seen == [(12, 25), (20, 25)]


@pytest.mark.django_db
def test_verify_ledger_command_prints_progress_lines(ledger, monkeypatch, capfd):
    # The command prints them on stderr as the check passes each multiple.
    from auditreg.ledger import integrity

    monkeypatch.setattr(integrity, "PROGRESS_EVERY", 10)
    monkeypatch.setattr(integrity, "CHUNK", 5)
    ledger(25)
    call_command("verify_ledger")
    captured = capfd.readouterr()
    assert "verified 10 of 25 entries" in captured.err
    assert "verified 20 of 25 entries" in captured.err
    assert "ledger intact: 25 entries" in captured.out


@pytest.mark.django_db
def test_the_scheduled_checkpoint_is_signed_once_per_tree_size(ledger):
    from auditreg.ledger import tasks

    ledger(5)
    assert tasks.checkpoint_ledger() == 5
    assert tasks.checkpoint_ledger() == 5
    assert Checkpoint.objects.count() == 1


@pytest.mark.django_db
def test_admin_shows_registry_tables_read_only(client):
    call_command("seed_demo")
    admin = User.objects.create_superuser("root-admin", "admin@bank.example", "correct horse")
    client.force_login(admin)
    listing = client.get("/admin/registry/modelversion/")
    assert b"model:credit-pd/3" in listing.content
    assert client.get("/admin/registry/signature/add/").status_code == 403
    pk = ModelVersion.objects.get(subject="model:credit-pd/3").pk
    version = client.get(f"/admin/registry/modelversion/{pk}/change/")
    assert version.status_code == 200
    assert b'name="_save"' not in version.content
