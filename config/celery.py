"""The Celery app. All configuration comes from Django settings (CELERY_* names; see docs/jobs.md).

Start a worker with `.venv/bin/celery -A config worker -Q reaper,ml,default -c 1` and the scheduler with
`.venv/bin/celery -A config beat`. With no REDIS_URL, tasks run eagerly in the calling process.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shopanalytics")
# Everything comes from Django settings under the CELERY_ namespace.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
