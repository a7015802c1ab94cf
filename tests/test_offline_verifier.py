"""`python -m auditreg.ledger.verify` (whose code is `auditreg.proofs.export`) runs where
nothing but the standard library and `cryptography` is installed: no Django, no database
driver, no rfc8785."""

import importlib.util
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from auditreg.ledger import services
from tests.conftest import lift_append_only, raw

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
VERIFIER_FILES = [
    "auditreg/__init__.py",
    "auditreg/ledger/__init__.py",
    "auditreg/ledger/verify.py",
    "auditreg/proofs/__init__.py",
    "auditreg/proofs/merkle.py",
    "auditreg/proofs/subtrees.py",
    "auditreg/proofs/note.py",
    "auditreg/proofs/export.py",
]


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment holding only cryptography (and the cffi it loads) plus the
    verifier's own files: what a third-party auditor would install."""
    home = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home / "venv")], check=True)
    site = next((home / "venv" / "lib").glob("python3*/site-packages"))
    for name in ("cryptography", "cffi", "_cffi_backend", "pycparser"):
        source = package_dir(name)
        target = site / source.name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    for relative in VERIFIER_FILES:
        target = site / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, target)
    return Path(home) / "venv" / "bin" / "python"


def run_verifier(python: Path, export: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-I", "-m", "auditreg.ledger.verify", str(export), *extra],
        capture_output=True,
        text=True,
        cwd="/",
    )


@pytest.fixture
def export(ledger, tmp_path) -> Path:
    ledger(30)
    services.checkpoint(origin="auditreg.test/ledger")
    ledger(3)
    services.checkpoint(origin="auditreg.test/ledger")
    path = tmp_path / "ledger.jsonl"
    call_command("export_ledger", "--out", str(path), stdout=io.StringIO())
    return Path(path)


def test_the_bare_environment_really_has_nothing_else(bare_python):
    for module in ("django", "rfc8785", "psycopg", "hypothesis"):
        probe = subprocess.run(
            [str(bare_python), "-I", "-c", f"import {module}"], capture_output=True
        )
        assert probe.returncode != 0, module


def test_intact_export_verifies_offline(bare_python, export):
    result = run_verifier(bare_python, export)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ledger intact: 33 entries" in result.stdout
    assert "2 signed checkpoints verified, latest at tree size 33" in result.stdout


def test_pinned_key_is_used_instead_of_the_files_own(bare_python, export, keys_dir):
    published = next(keys_dir.glob("*.vkey")).read_text().strip()
    assert run_verifier(bare_python, export, "--key", published).returncode == 0
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "from auditreg.proofs.note import SignerKey; "
            "print(SignerKey.generate('auditreg.test/ledger').verifier().encode())",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.strip()
    forged = run_verifier(bare_python, export, "--key", other)
    assert forged.returncode == 1
    assert "signature or format does not verify" in forged.stdout


def test_tampered_export_fails_offline_with_the_first_bad_seq(bare_python, export):
    text = export.read_text().replace('\\"n\\":7,', '\\"n\\":70,', 1)
    assert text != export.read_text()
    export.write_text(text)
    result = run_verifier(bare_python, export)
    assert result.returncode == 1
    assert result.stdout.startswith("ledger NOT intact: seq 7: hash mismatch")


def test_export_of_a_tampered_database_fails_offline(bare_python, ledger, tmp_path):
    ledger(10)
    services.checkpoint(origin="auditreg.test/ledger")
    lift_append_only()
    raw("DELETE FROM ledger_entry WHERE seq >= 8")
    path = tmp_path / "cut.jsonl"
    call_command("export_ledger", "--out", str(path), stdout=io.StringIO())
    result = run_verifier(bare_python, path)
    assert result.returncode == 1
    assert "seq 8: entries missing after a checkpoint" in result.stdout


def test_unreadable_file_gets_a_clear_error(bare_python, tmp_path):
    bogus = tmp_path / "bogus.jsonl"
    bogus.write_text("this is not an export\n")
    result = run_verifier(bare_python, bogus)
    assert result.returncode == 2
    assert result.stdout.startswith("cannot verify")
