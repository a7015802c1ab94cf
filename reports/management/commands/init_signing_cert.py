from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.errors import DomainError
from reports.certs import CA_CERT_FILE, CERT_FILE, create_dev_certificates, signing_dir


class Command(BaseCommand):
    help = (
        "Create a development CA and a document-signing certificate issued by it (ECDSA "
        "P-256) in AUDITREG_SIGNING_DIR, for signing PDF reports. Keeps existing files unless "
        "--rotate is given, which issues a new signing key and certificate from the same CA. "
        "Production uses its organisation's certificate instead (AUDITREG_SIGNING_KEY, "
        "AUDITREG_SIGNING_CERT, AUDITREG_SIGNING_CHAIN)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organisation", default="auditreg development", help="subject O of both certificates"
        )
        parser.add_argument(
            "--common-name",
            default="auditreg report signing",
            help="subject CN of the document-signing certificate",
        )
        parser.add_argument(
            "--rotate", action="store_true", help="replace the signing key and certificate"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = signing_dir()
        try:
            created = create_dev_certificates(
                directory,
                organisation=options["organisation"],
                common_name=options["common_name"],
                rotate=options["rotate"],
            )
        except (DomainError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
        if created:
            self.stdout.write(f"created document-signing certificate {directory / CERT_FILE}")
        else:
            self.stdout.write(f"document-signing certificate already present in {directory}")
        self.stdout.write(f"CA certificate (give it to verifiers): {directory / CA_CERT_FILE}")
