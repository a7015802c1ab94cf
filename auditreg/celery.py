"""The Celery application. Workers: `celery -A auditreg.celery worker`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auditreg.settings")

app = Celery("auditreg")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
