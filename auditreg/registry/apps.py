from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "auditreg.registry"
    label = "registry"
    verbose_name = "model registry"
    default_auto_field = "django.db.models.BigAutoField"
