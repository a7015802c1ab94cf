"""`manage.py serve_portal`, the end of `make demo`: the portal answers, the demo logins are
printed, and stopping the server stops the worker it started."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_settings_and_commands import ROOT, manage


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, seconds: float = 60) -> int:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return int(answer.status)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def workers_under(data_dir: Path) -> list[str]:
    """Command lines of running Celery workers whose schedule file is in `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "auditreg.celery" in line and str(data_dir) in line:
            found.append(line)
    return found


@pytest.mark.slow
def test_serve_portal_prints_the_logins_serves_and_stops_its_worker(tmp_path):
    env = {"DEBUG": "1", "AUDITREG_DATA_DIR": str(tmp_path)}
    for command in (["migrate", "-v0"], ["init_keys"], ["seed_demo"]):
        assert manage(env, *command).returncode == 0
    port = free_port()
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full.pop("DJANGO_SETTINGS_MODULE", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve_portal", "--addr", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**full, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/login") == 200
        assert workers_under(tmp_path), "no worker was started beside the server"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert f"http://127.0.0.1:{port}/" in output
    assert "Demo logins (password for all: auditreg-demo)" in output
    assert "olga" in output and "auditor" in output
    deadline = time.monotonic() + 30
    while workers_under(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert workers_under(tmp_path) == []
