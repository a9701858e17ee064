"""Subscriptions to new RFPs (double opt-in, one-click unsubscribe) and the frozen admin."""

import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from proposals import services, subscriptions
from proposals.models import Subscription
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.factories import (
    CriterionFactory,
    ElementFactory,
    FeatureFactory,
    MilestoneFactory,
    RFPFactory,
)
from tests.helpers.mfa import totp_code

pytestmark = pytest.mark.django_db


def test_double_opt_in_then_announcement_with_one_click_unsubscribe(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("subscribe"), {"email": "Fan@Example.org"})
    sub = Subscription.objects.get(email="fan@example.org")
    assert not sub.active
    # Not confirmed: a new RFP mails nobody.
    draft = RFPFactory(status="draft", published_at=None)
    draft.status = "published"
    services.save_rfp(rfp=draft)
    assert not OutboxMessage.objects.filter(template="proposals/email/new_rfp").exists()

    link = re.search(r"https?://\S+/subscribe/confirm/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 200
    sub.refresh_from_db()
    assert not sub.active  # a GET (e.g. a mail scanner) confirms nothing
    client.post(path)
    sub.refresh_from_db()
    assert sub.active

    other = RFPFactory(status="draft", published_at=None, title="Brand new RFP")
    other.status = "published"
    with django_capture_on_commit_callbacks(execute=True):
        services.save_rfp(rfp=other)
        services.save_rfp(rfp=other)  # saving again announces nothing more
    announcements = [m for m in mail.outbox if "Brand new RFP" in m.subject]
    assert len(announcements) == 1
    message = announcements[0]
    stop = re.search(r"<(\S+)>", message.extra_headers["List-Unsubscribe"]).group(1)
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    stop_path = "/" + stop.split("://", 1)[1].split("/", 1)[1]
    # One click: a POST without a CSRF token, as mail clients send it.
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(stop_path)
    assert response.status_code == 200
    sub.refresh_from_db()
    assert not sub.active


def test_subscribe_gives_the_same_answer_for_known_and_unknown_addresses(client):
    first = client.post(reverse("subscribe"), {"email": "a@example.org"}).content
    again = client.post(reverse("subscribe"), {"email": "a@example.org"}).content
    assert b"Check your inbox" in first and b"Check your inbox" in again


def test_tampered_links_are_refused(client):
    sub = Subscription.objects.create(email="x@example.org")
    token = subscriptions.token_for(sub, "confirm")
    assert client.get(reverse("subscription_confirm", args=[token + "A"])).status_code == 400
    # A confirm token cannot unsubscribe and vice versa.
    assert client.get(reverse("subscription_unsubscribe", args=[token])).status_code == 400


def test_published_rfp_content_is_read_only_in_the_admin(client, staff, password, open_rfp):
    client.post(reverse("account_login"), {"login": staff.email, "password": password})
    client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    page = client.get(reverse("admin:proposals_rfp_change", args=[open_rfp.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="title"' not in body and 'name="deadline_date"' not in body
    assert 'name="milestones-0-name"' not in body
    draft = RFPFactory(status="draft", published_at=None)
    body = client.get(reverse("admin:proposals_rfp_change", args=[draft.pk])).content.decode()
    assert 'name="title"' in body and 'name="deadline_date"' in body


def test_publishing_in_the_portal_computes_the_instant_and_announces(staff_client, staff):
    """The admin no longer publishes (its status is read-only, test_rfp_preview_and_open):
    the portal's Publish… page does, after "I understand"."""
    now = timezone.now()
    fans = ["fan1@example.org", "fan2@example.org"]
    for email in fans:
        Subscription.objects.create(email=email, confirmed_at=now)
    Subscription.objects.create(email="pending@example.org")  # never confirmed
    Subscription.objects.create(email="gone@example.org", confirmed_at=now, unsubscribed_at=now)
    rfp = RFPFactory(
        status="draft", published_at=None, deadline_zone="UTC", title="Portal-published RFP"
    )
    FeatureFactory(milestone=MilestoneFactory(rfp=rfp))
    ElementFactory(rfp=rfp)
    CriterionFactory(rfp=rfp)
    rfp.deadline_date = timezone.now().date()
    services.save_rfp(rfp=rfp, actor=staff)
    assert rfp.deadline_instant.hour == 0 and rfp.deadline_instant.date() > rfp.deadline_date
    publish = reverse("staff_rfp_publish", args=[rfp.slug])
    assert staff_client.post(publish, {"understood": "on"}).status_code == 302
    rfp.refresh_from_db()
    assert rfp.published_at is not None

    # Announced to the confirmed subscribers only, each mail naming the RFP and its page.
    announcements = OutboxMessage.objects.filter(template="proposals/email/new_rfp")
    assert sorted(announcements.values_list("to", flat=True)) == fans
    for message in announcements:
        assert message.subject == "[RFP Portal] New Request for Proposals: Portal-published RFP"
        assert "A new Request for Proposals is published: Portal-published RFP" in message.body_text
        assert rfp.get_absolute_url() in message.body_text
        assert message.rfp_id == rfp.pk
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    published = AuditEvent.objects.get(action="rfp.published")
    assert published.actor == staff and published.details == {"mailed": 2}

    # Publishing again announces nothing more, not even to someone who subscribed since.
    Subscription.objects.create(email="late@example.org", confirmed_at=timezone.now())
    services.save_rfp(rfp=rfp, actor=staff)
    services.publish_rfp(rfp=rfp, actor=staff, now=timezone.now())
    staff_client.post(publish, {"understood": "on"})
    assert sorted(announcements.values_list("to", flat=True)) == fans
    assert AuditEvent.objects.filter(action="rfp.published").count() == 1
