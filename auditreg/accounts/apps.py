from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "auditreg.accounts"
    label = "accounts"
    verbose_name = "people, machines and their credentials"
    default_auto_field = "django.db.models.BigAutoField"
