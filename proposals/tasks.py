"""Thin Celery tasks for proposals."""

from celery import shared_task
from django.utils import timezone

from proposals import receipts, services, transparency


@shared_task(acks_late=True)
def open_due_rfps() -> list[str]:
    """Open RFPs whose cut-off has passed. Idempotent: an opened RFP is never opened again."""
    return [rfp.slug for rfp in services.open_due_rfps(now=timezone.now())]


@shared_task(acks_late=True)
def publish_tree_heads() -> int:
    """Sign a head for every transparency log that grew since its last head, then retry the
    RFC 3161 timestamps of heads still without one (transparency.stamp_pending)."""
    made = transparency.publish_heads(now=timezone.now())
    transparency.stamp_pending()
    return made


@shared_task(acks_late=True)
def stamp_tree_head(head_id: int) -> bool:
    """Add the TSA's token to a head, after its commit; idempotent (a head with a token is left
    as it is). A failing TSA is logged, not retried here: publish_tree_heads retries."""
    return transparency.stamp_head_logged(head_id)


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=3)
def render_receipt(version_id: int) -> str:
    """Render and store a submission's receipt PDF; a second run finds it stored."""
    return receipts.store_receipt_pdf(version_id)
