"""The Celery app. Configuration lives in settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "buurtgesprek.settings")

# The project package is not an installed app, so autodiscovery would miss its tasks.
app = Celery("buurtgesprek", include=["buurtgesprek.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
