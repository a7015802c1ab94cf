"""Issue an API token to a service principal (enrolled on first use) and print it once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import SYSTEM
from auditreg.errors import DomainError


class Command(BaseCommand):
    help = (
        "Issue an API token to the service principal NAME, enrolling it (with the developer "
        "role) if it is new. The token is printed once; only its SHA-256 is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="service principal, e.g. trainer")
        parser.add_argument(
            "--scopes", required=True, help="comma-separated: ingest, read (e.g. ingest,read)"
        )
        parser.add_argument("--days", type=int, default=90, help="lifetime (default 90)")
        parser.add_argument("--label", default="", help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        scopes = [scope.strip() for scope in options["scopes"].split(",") if scope.strip()]
        try:
            principal = Principal.objects.filter(actor_id=f"service:{name}").first()
            if principal is None:
                principal = accounts.enroll_service(
                    name=name, printed_name=name, roles=[Role.DEVELOPER], by=SYSTEM
                )
            row, token = accounts.issue_token(
                principal=principal,
                name=options["label"] or f"{name} token",
                scopes=scopes,  # checked by the service
                days=options["days"],
                by=SYSTEM,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(
            f"token {row.prefix} for {principal.actor_id}, scopes {', '.join(row.scopes)}, "
            f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC; store it now, it is not shown again:"
        )
        self.stdout.write(token)
