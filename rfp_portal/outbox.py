"""The mail outbox: every e-mail is stored first, in the caller's transaction, then delivered.

queue_mail() writes the message and, once the transaction commits, asks Celery to deliver it.
If the broker is unreachable the message simply waits: the periodic sweeper delivers it later.
A message is identified by its idempotency key, so queueing the same mail twice stores one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from rfp_portal.models import OutboxMessage

if TYPE_CHECKING:
    from proposals.models import RFP

log = logging.getLogger(__name__)


def queue_mail(
    *,
    to: str,
    subject: str,
    body_text: str,
    idempotency_key: str,
    body_html: str = "",
    template: str = "",
    headers: dict[str, str] | None = None,
    fresh: bool = False,
    rfp: RFP | None = None,
    about_bidder: bool = False,
) -> OutboxMessage:
    """Store a mail (once per idempotency key) and have it delivered after the commit.

    fresh=True says the key cannot exist yet because it names a row created in this same
    transaction (a new receipt's version): the message is inserted without looking first.

    rfp: the RFP the mail is about. about_bidder=True says that the mail, or merely its being
    sent to this address, tells who bid on it (a receipt, a co-author invitation, a reminder
    about a draft, an addendum or answer sent to the teams): until the RFP is opened the admin
    does not list it (rule 2; see rfp_portal.permissions.sealed_outbox_messages).
    """
    if about_bidder and rfp is None:
        raise ValueError("A mail about a bidder names the RFP whose opening unseals it.")
    fields = {
        "to": to,
        "subject": subject[:300],
        "body_text": body_text,
        "body_html": body_html,
        "template": template,
        "headers": headers or {},
        "rfp": rfp,
        "about_bidder": about_bidder,
    }
    if fresh:
        message = OutboxMessage.objects.create(idempotency_key=idempotency_key, **fields)
        created = True
    else:
        message, created = OutboxMessage.objects.get_or_create(
            idempotency_key=idempotency_key, defaults=fields
        )
    if created:
        transaction.on_commit(lambda: enqueue_delivery(message.pk))
    return message


def enqueue_delivery(message_id: int) -> None:
    from rfp_portal.tasks import deliver_outbox_message

    try:
        deliver_outbox_message.delay(message_id)
    except Exception:  # broker down: never break the request; the sweeper retries later
        log.warning(
            "Could not enqueue outbox message %s; the sweeper will send it.",
            message_id,
            exc_info=True,
        )


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
