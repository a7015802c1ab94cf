"""Check the live tables against the ledger (the default), or rebuild them from it."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.facts import replay
from auditreg.facts.kernel import ProjectionError


class Command(BaseCommand):
    help = (
        "Replay every ledger entry into an empty registry and compare the result with the live "
        "tables (exit 1 on any difference). --rebuild --yes replaces the tables with the "
        "rebuilt state instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="compare only; change nothing (the default, accepted for scripts)",
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="replace the registry's and the lineage's tables with the rebuilt state",
        )
        parser.add_argument(
            "--yes", action="store_true", help="confirm --rebuild: it rewrites every table"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rebuild"] and options["check"]:
            raise CommandError("--check and --rebuild exclude each other")
        if options["rebuild"] and not options["yes"]:
            raise CommandError(
                "--rebuild rewrites every registry and lineage table from the ledger; "
                "add --yes to do it (nothing was changed)"
            )
        try:
            result = replay.rebuild() if options["rebuild"] else replay.check()
        except ProjectionError as exc:
            raise CommandError(f"replay failed: {exc}") from None
        for line in (result.anomalies + result.differences)[: replay.MAX_REPORTED]:
            self.stderr.write(line)
        summary = f"{result.entries} entries replayed into {result.rows} registry rows"
        if options["rebuild"]:
            self.stdout.write(f"registry rebuilt: {summary}")
            return
        if not result.clean:
            raise CommandError(
                f"registry does NOT match the ledger: {len(result.differences)} differences, "
                f"{len(result.anomalies)} anomalies ({summary})"
            )
        self.stdout.write(f"registry matches the ledger: {summary}")
