"""Thin Celery tasks for proposals."""

from celery import shared_task
from django.utils import timezone

from proposals import submission


@shared_task(acks_late=True)
def open_due_rfps() -> list[str]:
    """Open RFPs whose cut-off has passed. Idempotent: an opened RFP is never opened again."""
    return [rfp.slug for rfp in submission.open_due_rfps(now=timezone.now())]


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=3)
def render_receipt(version_id: int) -> str:
    """Render and store a submission's receipt PDF; a second run finds it stored."""
    from proposals import receipts

    return receipts.store_receipt_pdf(version_id)


@shared_task(acks_late=True)
def send_reminders(at: str | None = None) -> int:
    """Due deadline and review reminders; a duplicate run sends nothing more.

    `at` (ISO 8601 UTC) replays a sweep as of that moment; beat passes nothing.
    """
    from proposals import reminders
    from rfp_portal import deadlines

    now = deadlines.parse_utc_iso(at) if at else timezone.now()
    return reminders.send_due(now=now)
