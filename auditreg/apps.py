from django.apps import AppConfig


class AuditregConfig(AppConfig):
    name = "auditreg"
    verbose_name = "auditreg"

    def ready(self) -> None:
        # Load the Celery app here rather than in auditreg/__init__.py: the offline ledger
        # verifier imports the auditreg package and must not need Celery or Django.
        from auditreg import celery  # noqa: F401
