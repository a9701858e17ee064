"""The outbox stores every mail first and sends each idempotency key once."""

import pytest
from django.core import mail

from rfp_portal import delivery, outbox
from rfp_portal.models import OutboxMessage
from rfp_portal.tasks import sweep_outbox

pytestmark = pytest.mark.django_db


def queue(key="k1"):
    return outbox.queue_mail(
        to="a@example.com", subject="Hello", body_text="Body", idempotency_key=key
    )


def test_same_idempotency_key_stores_one_message(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue()
        second = queue()
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1


def test_deliver_twice_sends_once():
    message = queue()
    assert delivery.deliver(message.pk) is True
    assert delivery.deliver(message.pk) is False
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.state == "sent" and message.attempts == 1 and message.sent_at


def test_failed_send_is_recorded_and_swept_later(settings):
    message = queue()
    settings.MAILERS = {"default": {"BACKEND": "tests.rfp_portal.failing_backend.EmailBackend"}}
    with pytest.raises(ConnectionRefusedError):
        delivery.deliver(message.pk)
    message.refresh_from_db()
    assert message.state == "failed" and "ConnectionRefusedError" in message.last_error
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert sweep_outbox() == 1
    message.refresh_from_db()
    assert message.state == "sent" and message.attempts == 2


def test_a_templated_mail_is_rendered_and_its_subject_marked_as_the_portals():
    message = outbox.queue_templated_mail(
        to="a@example.com",
        template="proposals/email/subscription_confirm",
        context={"link": "https://rfp.example/confirm/x/"},
        subject="Confirm",
        idempotency_key="k-templated",
    )
    assert message.subject == "[RFP Portal] Confirm"
    assert "https://rfp.example/confirm/x/" in message.body_text
    assert message.body_html == ""
    assert message.template == "proposals/email/subscription_confirm"


def test_a_templated_mail_without_a_subject_renders_its_subject_template():
    message = outbox.queue_templated_mail(
        to="a@example.com",
        template="proposals/email/invitation",
        context={
            "rfp": {"title": "Better <packaging>"},
            "owner": {"email": "owner@example.com"},
            "link": "https://rfp.example/accept/x/",
        },
        idempotency_key="k-templated-subject",
    )
    assert (
        message.subject == "[RFP Portal] Invitation to co-author a proposal to Better <packaging>"
    )
    assert 'owner@example.com invites you to co-author a proposal to "Better <packaging>".' in (
        message.body_text
    )
