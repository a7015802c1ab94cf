from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from auditreg.ledger.export import export_ledger


class Command(BaseCommand):
    help = (
        "Write the ledger's entries, signed checkpoints and public keys to a JSON Lines file "
        "that `python -m auditreg.proofs.export FILE` verifies offline."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["out"]
        temporary = path.with_name(path.name + ".partial")
        with temporary.open("wb") as out:
            count = export_ledger(out)
        temporary.replace(path)
        self.stdout.write(f"exported {count} entries to {path}")
