"""Private keys on disk: `init_keys` and `init_signing_cert` write each key 0600 into a 0700
folder, through a temporary file nobody can plant in advance: a world-writable file or a
symbolic link waiting at the old predictable `.tmp` path changes nothing. A folder other
users may write to is refused."""

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from auditreg.ledger.keys import load_signer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022, so what the code sets is what is seen, whatever the shell's mask."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def fresh_keys(settings, tmp_path: Path, usual_umask) -> Path:
    """An empty keys folder (0700, as an administrator would make it), not yet initialised."""
    folder = tmp_path / "fresh-keys"
    folder.mkdir(mode=0o700)
    settings.AUDITREG_KEYS_DIR = folder
    settings.AUDITREG_SIGNING_DIR = folder / "signing"
    return folder


def plant_file(path: Path) -> None:
    path.write_text("planted\n")
    path.chmod(0o666)


def plant_symlink(path: Path, victim: Path) -> None:
    victim.write_text("precious\n")
    path.symlink_to(victim)


def test_a_planted_world_writable_tmp_file_leaves_the_ledger_key_private(fresh_keys):
    planted = fresh_keys / "ledger.tmp"
    plant_file(planted)
    call_command("init_keys", stdout=io.StringIO())
    assert mode(fresh_keys / "ledger.key") == 0o600
    assert load_signer()  # the key written is whole and parses
    assert planted.read_text() == "planted\n"  # not used, not truncated


def test_a_symlink_at_the_tmp_path_is_not_followed_when_writing_the_ledger_key(
    fresh_keys, tmp_path
):
    victim = tmp_path / "victim.txt"
    plant_symlink(fresh_keys / "ledger.tmp", victim)
    call_command("init_keys", stdout=io.StringIO())
    assert victim.read_text() == "precious\n"
    assert not (fresh_keys / "ledger.key").is_symlink()
    assert mode(fresh_keys / "ledger.key") == 0o600


def test_planted_tmp_files_and_symlinks_leave_the_signing_keys_private(fresh_keys, tmp_path):
    folder = fresh_keys / "signing"
    folder.mkdir(mode=0o700)
    plant_file(folder / "ca.key.tmp")
    plant_file(folder / "signing.key.tmp")
    plant_symlink(folder / "ca.crt.tmp", tmp_path / "victim-ca.txt")
    plant_symlink(folder / "signing.crt.tmp", tmp_path / "victim-signing.txt")
    call_command("init_signing_cert", stdout=io.StringIO())
    assert mode(folder / "ca.key") == 0o600
    assert mode(folder / "signing.key") == 0o600
    assert mode(folder / "ca.crt") == mode(folder / "signing.crt") == 0o644
    assert (tmp_path / "victim-ca.txt").read_text() == "precious\n"
    assert (tmp_path / "victim-signing.txt").read_text() == "precious\n"
    assert (folder / "ca.key.tmp").read_text() == "planted\n"
    assert b"BEGIN PRIVATE KEY" in (folder / "signing.key").read_bytes()


def test_rotating_keys_keeps_them_private_too(fresh_keys):
    call_command("init_keys", stdout=io.StringIO())
    call_command("init_signing_cert", stdout=io.StringIO())
    plant_file(fresh_keys / "ledger.tmp")
    plant_file(fresh_keys / "signing" / "signing.key.tmp")
    call_command("init_keys", "--rotate", stdout=io.StringIO())
    call_command("init_signing_cert", "--rotate", stdout=io.StringIO())
    assert mode(fresh_keys / "ledger.key") == 0o600
    assert mode(fresh_keys / "signing" / "signing.key") == 0o600


def test_the_key_folders_are_created_for_their_owner_alone(settings, tmp_path, usual_umask):
    settings.AUDITREG_KEYS_DIR = tmp_path / "new" / "keys"
    settings.AUDITREG_SIGNING_DIR = tmp_path / "new" / "keys" / "signing"
    call_command("init_keys", stdout=io.StringIO())
    call_command("init_signing_cert", stdout=io.StringIO())
    assert mode(tmp_path / "new" / "keys") == 0o700
    assert mode(tmp_path / "new" / "keys" / "signing") == 0o700
    assert not [path for path in (tmp_path / "new").rglob("*") if ".tmp" in path.name]


@pytest.mark.parametrize("command", ["init_keys", "init_signing_cert"])
def test_no_key_is_written_into_a_folder_others_may_write_to(fresh_keys, command):
    folder = fresh_keys if command == "init_keys" else fresh_keys / "signing"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o777)
    with pytest.raises(CommandError, match="writable by other users"):
        call_command(command, stdout=io.StringIO())
    assert not list(folder.glob("*.key"))
