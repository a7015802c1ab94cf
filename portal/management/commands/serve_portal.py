"""Serve the portal for the demo: a Celery worker (with the checkpoint schedule) in a child
process for report requests and verification runs, and Django's development server.

Development only: `runserver` is not a production server (use gunicorn behind a proxy).
"""

import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.accounts.models import Principal
from auditreg.registry import rules
from auditreg.registry.management.commands.seed_demo import DEMO_PASSWORD, PEOPLE


class Command(BaseCommand):
    help = (
        "Serve the portal with a Celery worker beside it, and print the demo logins. "
        "Development only; stops with Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address:port to serve on")
        parser.add_argument("--no-worker", action="store_true", help="do not start a worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("serve_portal is for development: set DEBUG=1")
        self.print_logins(options["addr"])
        worker = None if options["no_worker"] else self.start_worker()
        # A plain `kill` (SIGTERM) stops the worker too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", options["addr"], use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)

    def print_logins(self, addr: str) -> None:
        self.stdout.write(f"\nThe portal: http://{addr}/")
        enrolled = set(
            Principal.objects.filter(kind="person", active=True).values_list("actor_id", flat=True)
        )
        demo = [person for person in PEOPLE if f"user:{person[0]}" in enrolled]
        if demo:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, name, role, _ in demo:
                self.stdout.write(f"  {username:<6} {name:<24} {rules.role_words(role)}")
        self.stdout.write("")

    def start_worker(self) -> subprocess.Popen[bytes]:
        schedule = settings.DATA_DIR / "celerybeat-schedule"
        command = [sys.executable, "-m", "celery", "-A", "auditreg.celery", "--quiet", "worker"]
        command += ["--beat", "--schedule", str(schedule), "--concurrency", "1"]
        command += ["--loglevel", "WARNING"]
        return subprocess.Popen(command)
