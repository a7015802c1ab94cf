import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.errors import DomainError
from auditreg.ledger.integrity import verify_database
from auditreg.ledger.verify import LedgerBroken


class Command(BaseCommand):
    help = (
        "Verify the whole ledger: recompute every hash, link and Merkle subtree, check seq "
        "and time order and every checkpoint's signature and root. Exit 0 when intact; "
        "otherwise exit 1 with one line naming the first bad seq."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="no progress lines")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            if not options["quiet"]:
                elapsed = time.monotonic() - started
                sys.stderr.write(f"verified {done:,} of {total:,} entries ({elapsed:.0f} s)\n")

        try:
            verdict = verify_database(progress)
        except LedgerBroken as exc:
            raise CommandError(f"ledger NOT intact: {exc}", returncode=1) from None
        except DomainError as exc:
            raise CommandError(f"cannot verify: {exc}", returncode=2) from None
        self.stdout.write(verdict.summary())
