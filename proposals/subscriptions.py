"""E-mail subscriptions to new RFPs: double opt-in, one-click unsubscribe in every mail."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from proposals.models import RFP, Subscription
from rfp_portal import audit, outbox, tokens
from rfp_portal.audit import AuditAction

SALT = "proposals.subscription"
CONFIRM_MAX_AGE = 7 * 24 * 3600


class SubscriptionError(Exception):
    pass


def token_for(subscription: Subscription, purpose: str) -> str:
    return tokens.make({"s": subscription.pk, "p": purpose}, salt=SALT)


def from_token(token: str, purpose: str, *, max_age: int | None = None) -> Subscription:
    subscription, data = tokens.load(
        token,
        salt=SALT,
        max_age=max_age,
        queryset=Subscription.objects.all(),
        id_key="s",
        error=SubscriptionError,
        expired=_("This link has expired. Subscribe again."),
        invalid=_("This link is not valid."),
    )
    if subscription is None or data.get("p") != purpose:
        raise SubscriptionError(_("This link is not valid."))
    return subscription


def _link(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, args=[token])


@transaction.atomic
def subscribe(*, email: str, now: datetime) -> Subscription:
    """Ask for confirmation. The same answer whether or not the address is known (no leak)."""
    email = email.strip().lower()
    subscription, _created = Subscription.objects.get_or_create(
        email=email, defaults={"created_at": now}
    )
    if subscription.active:
        return subscription
    if subscription.unsubscribed_at:
        subscription.unsubscribed_at = None
        subscription.confirmed_at = None
        subscription.save(update_fields=["unsubscribed_at", "confirmed_at"])
    ctx = {"link": _link("subscription_confirm", token_for(subscription, "confirm"))}
    outbox.queue_templated_mail(
        to=email,
        subject=_("Confirm your subscription to new RFPs"),
        template="proposals/email/subscription_confirm",
        context=ctx,
        # One confirmation per address per hour at most: repeated requests add nothing.
        idempotency_key=f"subscribe:{subscription.pk}:{now:%Y%m%d%H}",
    )
    return subscription


@transaction.atomic
def confirm(*, subscription: Subscription, now: datetime) -> None:
    if subscription.confirmed_at is None or subscription.unsubscribed_at is not None:
        subscription.confirmed_at = now
        subscription.unsubscribed_at = None
        subscription.save(update_fields=["confirmed_at", "unsubscribed_at"])
        audit.record(action=AuditAction.SUBSCRIPTION_CONFIRMED, obj=subscription, at=now)


@transaction.atomic
def unsubscribe(*, subscription: Subscription, now: datetime) -> None:
    if subscription.unsubscribed_at is None:
        subscription.unsubscribed_at = now
        subscription.save(update_fields=["unsubscribed_at"])
        audit.record(action=AuditAction.SUBSCRIPTION_ENDED, obj=subscription, at=now)


def announcement_recipients():
    """Who is mailed when an RFP is published: every confirmed, not ended, subscription (the
    publish confirmation page counts these, announce() mails them)."""
    return Subscription.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)


def announce(rfp: RFP) -> int:
    """Queue "a new RFP is published" to every confirmed subscriber (once per RFP each)."""
    sent = 0
    for subscription in announcement_recipients():
        unsubscribe_link = _link("subscription_unsubscribe", token_for(subscription, "stop"))
        ctx = {
            "rfp": rfp,
            "site_url": settings.SITE_URL,
            "unsubscribe_link": unsubscribe_link,
        }
        outbox.queue_templated_mail(
            to=subscription.email,
            subject=_("New Request for Proposals: %(title)s") % {"title": rfp.title},
            template="proposals/email/new_rfp",
            context=ctx,
            idempotency_key=f"new-rfp:{rfp.pk}:{subscription.pk}",
            rfp=rfp,
            headers={
                "List-Unsubscribe": f"<{unsubscribe_link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        sent += 1
    return sent
