"""Thin Celery tasks for cross-cutting work: ids in, a service call inside, idempotent."""

from celery import shared_task

from rfp_portal import delivery


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def deliver_outbox_message(self, message_id: int) -> bool:
    return delivery.deliver(message_id)


@shared_task(acks_late=True)
def sweep_outbox() -> int:
    """Send whatever is still queued (written while the broker was down, or failed before)."""
    sent = 0
    for message_id in delivery.pending_ids():
        try:
            sent += delivery.deliver(message_id)
        except Exception:  # noqa: S112  the failure is recorded on the message; try the next
            continue
    return sent
