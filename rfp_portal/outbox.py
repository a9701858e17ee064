"""The mail outbox: every e-mail is stored first, in the caller's transaction, then delivered.

queue_mail() writes the message and, once the transaction commits, asks Celery to deliver it
(rfp_portal.queueing). If the broker is unreachable the message simply waits: the periodic
sweeper delivers it later. A message is identified by its idempotency key, so queueing the same
mail twice stores one. Sending a stored message is rfp_portal.delivery's work.

queue_templated_mail() is how the portal's own mails are written: it renders the templates
(templates/<app>/email/), puts the portal's mark on the subject and queues the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string

from rfp_portal import tasks
from rfp_portal.models import OutboxMessage
from rfp_portal.queueing import enqueue_on_commit

if TYPE_CHECKING:
    from proposals.models import RFP


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
        enqueue_on_commit(tasks.deliver_outbox_message, message.pk)
    return message


def queue_templated_mail(
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    idempotency_key: str,
    subject: str | None = None,
    headers: dict[str, str] | None = None,
    fresh: bool = False,
    rfp: RFP | None = None,
    about_bidder: bool = False,
) -> OutboxMessage:
    """Render one of the portal's mails and queue it (see queue_mail for the other arguments).

    template names the mail without an extension ("proposals/email/receipt"): the body is
    `<template>.txt` rendered with context. The subject is `subject` when the caller has
    already translated it, else `<template>_subject.txt` rendered with the same context, on
    one line. Either way it carries the prefix allauth puts on the account mails
    (ACCOUNT_EMAIL_SUBJECT_PREFIX), so every mail the portal sends is marked alike. The mail
    is written in the language active when this is called.
    """
    if subject is None:
        subject = render_to_string(f"{template}_subject.txt", context).strip()
    return queue_mail(
        to=to,
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body_text=render_to_string(f"{template}.txt", context),
        template=template,
        idempotency_key=idempotency_key,
        headers=headers,
        fresh=fresh,
        rfp=rfp,
        about_bidder=about_bidder,
    )
