from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.errors import DomainError
from auditreg.ledger.keys import SIGNER_FILE, create_signer, keys_dir


class Command(BaseCommand):
    help = (
        "Create the Ed25519 key that signs ledger checkpoints, in AUDITREG_KEYS_DIR. "
        "Keeps an existing key unless --rotate is given; a rotated-out key's public half "
        "stays in the keyring so old checkpoints still verify."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name",
            default=settings.AUDITREG_LEDGER_ORIGIN,
            help="key name shown in checkpoint signatures (default: the ledger origin)",
        )
        parser.add_argument("--rotate", action="store_true", help="replace the current signing key")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            signer, created = create_signer(options["name"], rotate=options["rotate"])
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        verifier = signer.verifier().encode()
        if created:
            self.stdout.write(f"created signing key {keys_dir() / SIGNER_FILE}")
        else:
            self.stdout.write(f"signing key already present at {keys_dir() / SIGNER_FILE}")
        self.stdout.write(f"public key (publish it for verifiers): {verifier}")
