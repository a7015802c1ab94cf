from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class AuditregConfig(AppConfig):
    name = "auditreg"
    verbose_name = "auditreg"

    def ready(self) -> None:
        # Load the Celery app here rather than in auditreg/__init__.py: the offline ledger
        # verifier imports the auditreg package and must not need Celery or Django.
        from auditreg import celery  # noqa: F401

        make_embedded_folders()


def make_embedded_folders() -> None:
    """Create the folders the embedded mode writes to: the SQLite file's and those of the
    file-system broker, which neither SQLite nor kombu creates. Done at start-up, not in
    settings, so that reading the settings touches no disk."""
    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or ":memory:")
    in_a_file = name != ":memory:" and not name.startswith("file:")
    if database["ENGINE"] == "django.db.backends.sqlite3" and in_a_file:
        Path(name).parent.mkdir(parents=True, exist_ok=True)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(str(options[key])).mkdir(parents=True, exist_ok=True)
