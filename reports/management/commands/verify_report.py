from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.errors import DomainError
from auditreg.ledger import services as ledger
from auditreg.ledger.keys import load_keyring
from auditreg.proofs.note import NoteError, VerifierKey, key_text
from auditreg.proofs.pdf import quiet_pyhanko, verify_pdf
from reports.certs import read_certificates, trust_roots


class DatabaseLedger:
    """This installation's ledger, read from its database."""

    def latest_note(self) -> str:
        latest = ledger.latest_checkpoint()
        if latest is None:
            raise DomainError("the ledger has no checkpoint")
        return latest.note

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        return ledger.consistency_proof(first, second)


class Command(BaseCommand):
    help = (
        "Verify a signed PDF report: one PAdES signature over the whole file (later updates "
        "only validation data) by a certificate issued under a trusted CA, the evidence "
        "bundle it carries (checkpoint signature, every inclusion proof), and that this "
        "ledger's latest checkpoint is consistent with the report's. Exit 0 with a summary; "
        "exit 1 listing every problem."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the signed report (PDF)")
        parser.add_argument(
            "--trust",
            action="append",
            default=[],
            type=Path,
            metavar="CA.pem",
            help="trusted CA certificate; repeat for more (default: the configured CA)",
        )
        parser.add_argument(
            "--key",
            action="append",
            default=[],
            metavar="VKEY",
            help="trusted ledger verifier key, or a file holding it (default: the keyring)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet_pyhanko()
        try:
            data = options["file"].read_bytes()
            roots = read_certificates(*options["trust"]) if options["trust"] else trust_roots()
            keys = _keys(options["key"]) if options["key"] else load_keyring()
        except (DomainError, OSError) as exc:
            raise CommandError(f"cannot verify: {exc}", returncode=2) from None
        verdict = verify_pdf(data, trust_roots=roots, keys=keys, ledger=DatabaseLedger())
        if not verdict.ok:
            raise CommandError(verdict.failures(), returncode=1)
        self.stdout.write(verdict.summary())


def _keys(values: list[str]) -> list[VerifierKey]:
    keys = []
    for value in values:
        text = key_text(value)
        try:
            keys.append(VerifierKey.parse(text))
        except NoteError as exc:
            raise DomainError(f"{value!r} is not a verifier key: {exc}") from None
    return keys
