"""Rebuild the registry from the ledger alone, or check the live tables against it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.registry import replay
from auditreg.registry.projection import ProjectionError


class Command(BaseCommand):
    help = (
        "Replay every ledger entry into an empty registry. With --check, compare the result "
        "with the live tables and exit non-zero on any difference; without it, replace the "
        "tables with the rebuilt state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="compare only; change nothing (exit 1 on any difference)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = replay.check() if options["check"] else replay.rebuild()
        except ProjectionError as exc:
            raise CommandError(f"replay failed: {exc}") from None
        for line in (result.anomalies + result.differences)[: replay.MAX_REPORTED]:
            self.stderr.write(line)
        summary = f"{result.entries} entries replayed into {result.rows} registry rows"
        if not options["check"]:
            self.stdout.write(f"registry rebuilt: {summary}")
            return
        if not result.clean:
            raise CommandError(
                f"registry does NOT match the ledger: {len(result.differences)} differences, "
                f"{len(result.anomalies)} anomalies ({summary})"
            )
        self.stdout.write(f"registry matches the ledger: {summary}")
