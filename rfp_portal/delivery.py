"""Delivering the outbox: send one stored message (at most once), and list those still waiting.

The worker's side of rfp_portal.outbox: the delivery task and the sweeper (rfp_portal.tasks)
call these; queue_mail() stores the messages and queues the task.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from rfp_portal.models import OutboxMessage


def deliver(message_id: int) -> bool:
    """Send one queued message. True if sent now; False if already sent or gone.

    The row lock makes two workers holding the same id send it once. A failed send is
    recorded on the message (and the error re-raised so the task retries with backoff).
    """
    failure: Exception | None = None
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update()
            .filter(
                pk=message_id,
                state__in=[OutboxMessage.State.QUEUED, OutboxMessage.State.FAILED],
            )
            .first()
        )
        if message is None:
            return False
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers={**message.headers, "X-Idempotency-Key": message.idempotency_key},
        )
        if message.body_html:
            email.attach_alternative(message.body_html, "text/html")
        message.attempts += 1
        try:
            email.send()
        except Exception as exc:
            failure = exc
            message.state = OutboxMessage.State.FAILED
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        else:
            message.state = OutboxMessage.State.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
        message.save(update_fields=["state", "attempts", "sent_at", "last_error"])
    if failure is not None:
        raise failure
    return True


def pending_ids(limit: int = 500) -> list[int]:
    return list(
        OutboxMessage.objects.filter(
            state__in=[OutboxMessage.State.QUEUED, OutboxMessage.State.FAILED]
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
