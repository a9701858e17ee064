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

# The beat schedule lives here, in code, so every deployment runs the same periodic work.
app.conf.beat_schedule = {
    "sweep-outbox": {"task": "rfp_portal.tasks.sweep_outbox", "schedule": 60.0},
    # Exports requested while the broker was down are queued again once they are stranded.
    "sweep-exports": {"task": "evaluation.tasks.sweep_exports", "schedule": 60.0},
    # Opening is checked every 30 s, so sealed proposals open within a minute of the cut-off.
    "open-due-rfps": {"task": "proposals.tasks.open_due_rfps", "schedule": 30.0},
    # Reminders are checked every 5 minutes: the 1-hour reminder leaves 55 minutes or more.
    "send-reminders": {"task": "evaluation.tasks.send_reminders", "schedule": 300.0},
    # A signed head for every transparency log that grew (proposals.transparency), and the
    # RFC 3161 timestamps of heads still without one (a TSA that failed is retried here).
    "publish-tree-heads": {"task": "proposals.tasks.publish_tree_heads", "schedule": 300.0},
}
