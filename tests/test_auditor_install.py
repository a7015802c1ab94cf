"""What a third-party auditor installs: `pip install auditreg` with no extra. The wheel built
from this tree requires only cryptography, rfc8785 and pyHanko; installed with them (and
what they require) and nothing else, the export verifier and the `auditreg` client run."""

import io
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
from django.core.management import call_command
from packaging.requirements import Requirement

from auditreg.ledger import services

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache", "bench")
BASE = {"cryptography", "rfc8785", "pyhanko"}
SERVER = {"django", "djangorestframework", "celery", "redis", "psycopg", "weasyprint"}


def pip(arguments: list[str], path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "-q", *arguments, str(path)], check=True, capture_output=True
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel --no-deps .` builds, from a copy of the tree (a build writes
    build/ and *.egg-info beside the sources)."""
    scratch = Path(tmp_path_factory.mktemp("wheel"))
    source = scratch / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    pip(
        ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(scratch / "dist")], source
    )
    [built] = (scratch / "dist").glob("auditreg-*.whl")
    return built


def base_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        fields = Parser().parsestr(archive.read(name).decode())
    requirements = [Requirement(text) for text in fields.get_all("Requires-Dist") or []]
    return [r for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})]


def test_the_wheel_holds_the_pure_proofs_and_the_client(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    tops = {name.split("/")[0] for name in names if not name.startswith("auditreg-")}
    # One project, one wheel: the server's apps come along, but nothing imports them.
    assert tops == {"auditreg", "lineage", "reports", "portal"}
    for module in ("proofs/export.py", "proofs/pdf.py", "client/cli.py", "client/__main__.py"):
        assert f"auditreg/{module}" in names
    assert "auditreg/ledger/verify.py" in names  # the documented name of the export verifier


def test_without_an_extra_the_wheel_requires_no_server_package(wheel):
    assert {r.name.lower() for r in base_requirements(wheel)} == BASE


@pytest.fixture(scope="module")
def auditor_python(wheel, tmp_path_factory) -> Path:
    """A virtual environment with the wheel installed and its base requirements, taken with
    everything they require from this environment (the suite runs offline)."""
    home = Path(tmp_path_factory.mktemp("auditor"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    site = next((home / "lib").glob("python3*/site-packages"))
    pip(["install", "--no-deps", "--no-index", "--target", str(site)], wheel)
    pending, copied = [r.name for r in base_requirements(wheel)], set()
    while pending:
        distribution = metadata.distribution(pending.pop())
        if distribution.metadata["Name"].lower() in copied:
            continue
        copied.add(distribution.metadata["Name"].lower())
        for file in distribution.files or []:
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(str(distribution.locate_file(file))), target)
        for text in distribution.requires or []:
            needed = Requirement(text)
            if needed.marker is None or needed.marker.evaluate({"extra": ""}):
                pending.append(needed.name)
    assert not copied & SERVER
    return home / "bin" / "python"


def run(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-I", *args], capture_output=True, text=True, cwd="/", timeout=120
    )


@pytest.fixture
def export(ledger, tmp_path) -> Path:
    ledger(12)
    services.checkpoint(origin="auditreg.test/ledger")
    path = Path(tmp_path) / "ledger.jsonl"
    call_command("export_ledger", "--out", str(path), stdout=io.StringIO())
    return path


def test_the_auditor_environment_has_no_server_package(auditor_python):
    for module in ("django", "rest_framework", "celery", "psycopg", "weasyprint"):
        assert run(auditor_python, "-c", f"import {module}").returncode != 0, module


@pytest.mark.django_db
def test_the_auditor_verifies_an_export_with_both_documented_commands(auditor_python, export):
    verified = run(auditor_python, "-m", "auditreg.ledger.verify", str(export))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ledger intact: 12 entries" in verified.stdout
    client = run(auditor_python, "-m", "auditreg.client", "verify", str(export))
    assert client.returncode == 0, client.stdout + client.stderr
    assert "ledger intact: 12 entries" in client.stdout


def test_the_auditor_client_checks_a_pdf_with_pyhanko(auditor_python, tmp_path):
    not_signed = tmp_path / "report.pdf"
    not_signed.write_bytes(b"%PDF-1.7\n%%EOF\n")
    checked = run(auditor_python, "-m", "auditreg.client", "verify", str(not_signed))
    assert checked.returncode == 1, checked.stdout + checked.stderr  # 2: pyHanko missing
    assert "report NOT verified" in checked.stdout
    assert "usage: auditreg" in run(auditor_python, "-m", "auditreg.client", "--help").stdout
