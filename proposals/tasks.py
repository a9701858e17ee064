"""Thin Celery tasks for proposals."""

from celery import shared_task
from django.utils import timezone

from proposals import submission


@shared_task(acks_late=True)
def open_due_rfps() -> list[str]:
    """Open RFPs whose cut-off has passed. Idempotent: an opened RFP is never opened again."""
    return [rfp.slug for rfp in submission.open_due_rfps(now=timezone.now())]
