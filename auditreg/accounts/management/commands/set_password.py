"""Set an enrolled person's password at the console, recorded in the ledger.

Django's own `changepassword` leaves no record, so a password it sets neither signs in nor
signs (see `accounts.lockout`); this is the console's way to set one that does.
"""

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.accounts import services as accounts
from auditreg.accounts.models import Principal
from auditreg.accounts.services import SYSTEM
from auditreg.errors import DomainError


class Command(BaseCommand):
    help = "Set an enrolled person's password; the ledger records who set it and why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="why, e.g. a ticket reference")
        parser.add_argument(
            "--stdin", action="store_true", help="read the password from standard input"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        person = Principal.objects.filter(actor_id=f"user:{options['username']}").first()
        if person is None:
            raise CommandError(f"user:{options['username']} is not enrolled")
        password = self._read(options["stdin"])
        try:
            validate_password(password)
            accounts.set_password(
                person=person, password=password, reason=options["reason"], by=SYSTEM
            )
        except (ValidationError, DomainError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from None
        self.stdout.write(f"password of {person} set and recorded")

    @staticmethod
    def _read(from_stdin: bool) -> str:
        if from_stdin:
            return sys.stdin.readline().rstrip("\n")
        first = getpass.getpass("New password: ")
        if first != getpass.getpass("Again: "):
            raise CommandError("the two passwords differ; nothing was set")
        return first
