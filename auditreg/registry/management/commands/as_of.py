"""Print what was in production and authorized, on whose signatures, at a moment."""

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from auditreg.accounts.services import SYSTEM
from auditreg.errors import DomainError
from auditreg.registry.models import RegisteredModel, UseCase
from auditreg.registry.queries import as_of, format_registry_at


class Command(BaseCommand):
    help = "Answer from the ledger's projection: the registry as it stood at a moment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--at",
            help="ISO 8601 moment, e.g. 2026-03-31T17:00:00-04:00 (default: now); a date alone "
            "means the end of that day in the organisation's time zone",
        )
        parser.add_argument("--model", help="only this model (slug)")
        parser.add_argument("--use-case", help="only this use case (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        moment = parse_moment(options["at"]) if options["at"] else timezone.now()
        try:
            model = _get(RegisteredModel, options["model"])
            use_case = _get(UseCase, options["use_case"])
            snapshot = as_of(moment, by=SYSTEM, model=model, use_case=use_case)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(format_registry_at(snapshot))


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r} is not an ISO 8601 date or time") from None
    if len(text) == 10:  # a date: the end of that day
        moment = moment.replace(hour=23, minute=59, second=59, microsecond=999999)
    return moment if moment.tzinfo else timezone.make_aware(moment)


def _get(model: Any, slug: str | None) -> Any:
    if slug is None:
        return None
    try:
        return model.objects.get(slug=slug)
    except model.DoesNotExist:
        raise CommandError(f"there is no {model._meta.verbose_name} {slug!r}") from None
