from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "auditreg.api"
    label = "api"

    def ready(self) -> None:
        from auditreg.api import schema  # noqa: F401  (registers the OpenAPI extensions)
