from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "auditreg.ledger"
    label = "ledger"
    verbose_name = "Ledger"
