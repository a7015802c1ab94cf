import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.ledger.models import VerificationRun
from auditreg.ledger.verification import perform_verification, start_verification


class Command(BaseCommand):
    help = (
        "Verify the whole ledger: recompute every hash, link and Merkle subtree, check seq "
        "and time order and every checkpoint's signature and root. Exit 0 when intact; "
        "otherwise exit 1 with one line naming the first bad seq. The result is recorded "
        "with the other verification runs (the portal lists them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="no progress lines")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if not options["quiet"]:
                elapsed = time.monotonic() - started
                sys.stderr.write(f"verified {done:,} of {total:,} entries ({elapsed:.0f} s)\n")

        run = start_verification(by=VerificationRun.COMMAND)
        run = perform_verification(run.pk, progress)
        if run.status == VerificationRun.BROKEN:
            raise CommandError(f"ledger NOT intact: {run.summary}", returncode=1)
        if run.status == VerificationRun.ERROR:
            raise CommandError(f"cannot verify: {run.reason}", returncode=2)
        self.stdout.write(run.summary)
