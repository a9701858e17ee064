"""The Celery application. Settings come from Django settings in the CELERY_ namespace.

Without a broker (no REDIS_URL/CELERY_BROKER_URL) settings.py turns on eager mode, so tasks run
in-process and the embedded demo needs no Redis.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rfp_portal.settings")

app = Celery("rfp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
