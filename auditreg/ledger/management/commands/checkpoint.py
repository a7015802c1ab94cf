from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.errors import DomainError
from auditreg.ledger import services


class Command(BaseCommand):
    help = (
        "Sign a checkpoint (C2SP tlog-checkpoint) of the ledger's current tree size and root, "
        "store it, and print the signed note. Publish it outside the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help="also write the signed note to this file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            stored, created = services.checkpoint(origin=settings.AUDITREG_LEDGER_ORIGIN)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if created:
            self.stdout.write(f"signed checkpoint at tree size {stored.tree_size}:")
        else:
            self.stdout.write(
                f"no new entries; latest checkpoint is at tree size {stored.tree_size}:"
            )
        self.stdout.write(stored.note, ending="")
        if options["out"]:
            options["out"].write_text(stored.note)
