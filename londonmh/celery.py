"""The Celery app. Configuration lives in settings (CELERY_*); see docs/running.md."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "londonmh.settings")

app = Celery("londonmh")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages with their own tasks module (autodiscovery looks only at each app's top level).
app.autodiscover_tasks(["actionplan.voice", "commissioning.schedules", "commissioning.narrative"])
