"""Import runs, datasets, logged models and registered versions from an MLflow store."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from auditreg.accounts import services as accounts
from auditreg.accounts.domain import Role
from auditreg.accounts.models import Principal
from auditreg.accounts.services import SYSTEM
from auditreg.errors import DomainError
from auditreg.proofs.checks import ACTOR_ID
from auditreg.registry.domain import RiskTier

NOT_RECORDED = "imported from MLflow; {} not recorded"


class Command(BaseCommand):
    help = (
        "Import the runs (parameters, metrics, dataset inputs, logged models) and registered "
        "model versions of an MLflow tracking store. Idempotent: importing the same store "
        "again records nothing. Needs MLflow: pip install 'auditreg[mlflow]'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tracking-uri", required=True, help="e.g. sqlite:///mlflow.db or http://host:5000"
        )
        parser.add_argument("--experiment", help="import only this experiment (by name)")
        parser.add_argument(
            "--as",
            dest="actor",
            default="service:mlflow-import",
            help="the acting principal; a service is enrolled as a developer on first use",
        )
        parser.add_argument(
            "--risk-tier",
            default="medium",
            choices=[tier.value for tier in RiskTier],
            help="risk tier of a new model without an auditreg.risk_tier tag (default medium)",
        )
        parser.add_argument("--owner", default=NOT_RECORDED.format("owner"))
        parser.add_argument("--domain", default=NOT_RECORDED.format("domain"))
        parser.add_argument("--intended-purpose", default=NOT_RECORDED.format("intended purpose"))
        parser.add_argument("--limitations", default=NOT_RECORDED.format("known limitations"))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from auditreg.registry.importers import mlflow as mlflow_import
        except ImportError as exc:
            raise CommandError(
                f"MLflow is not installed ({exc}): pip install 'auditreg[mlflow]'"
            ) from None
        try:
            store = mlflow_import.read_store(options["tracking_uri"], options["experiment"])
        except mlflow_import.MlflowImportError as exc:
            raise CommandError(str(exc)) from None
        defaults = {field: options[field] for field in mlflow_import.MODEL_FIELDS}
        try:
            by = acting_principal(options["actor"])
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        tally = mlflow_import.record_store(store, defaults=defaults, by=by)
        for warning in store.warnings:
            self.stderr.write(f"warning: {warning}")
        for line in tally.summary():
            self.stdout.write(line)
        if tally.refused:
            for refusal in tally.refused:
                self.stderr.write(f"refused: {refusal}")
            raise CommandError(f"{len(tally.refused)} facts were refused; the others are recorded")


def acting_principal(actor_id: str) -> Principal:
    """The principal named by --as; a service principal is enrolled on first use."""
    if not ACTOR_ID.fullmatch(actor_id):
        raise DomainError(f"--as {actor_id!r} is not a principal such as service:mlflow-import")
    principal = Principal.objects.filter(actor_id=actor_id).first()
    if principal is None:
        kind, name = actor_id.split(":", 1)
        if kind != "service":
            raise DomainError(f"{actor_id} is not enrolled in the registry")
        principal = accounts.enroll_service(
            name=name, printed_name="MLflow import", roles=[Role.DEVELOPER], by=SYSTEM
        )
    accounts.require_role(principal, {Role.DEVELOPER}, "import from MLflow")
    return principal
