"""Thin Celery tasks for proposals."""

from celery import shared_task
from django.utils import timezone

from proposals import receipts, services


@shared_task(acks_late=True)
def open_due_rfps() -> list[str]:
    """Open RFPs whose cut-off has passed. Idempotent: an opened RFP is never opened again."""
    return [rfp.slug for rfp in services.open_due_rfps(now=timezone.now())]


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=3)
def render_receipt(version_id: int) -> str:
    """Render and store a submission's receipt PDF; a second run finds it stored."""
    return receipts.store_receipt_pdf(version_id)
