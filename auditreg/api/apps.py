from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "auditreg.api"
    label = "api"
