"""Who may act: the roles people and machines hold, what an API token may do on top of
them, and the shape of a username. Pure code (no Django)."""

import re
from enum import StrEnum


class Role(StrEnum):
    DEVELOPER = "developer"
    VALIDATOR = "validator"
    APPROVER = "approver"
    MODEL_RISK_COMMITTEE = "model_risk_committee"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        """The role in words, as pages and reports print it."""
        return self.value.replace("_", " ")


class Scope(StrEnum):
    """What an API token may do, on top of its service principal's roles."""

    INGEST = "ingest"
    READ = "read"


USERNAME = re.compile(r"[a-z][a-z0-9_.-]{0,62}")
