"""The outbox stores every mail first and sends each idempotency key once."""

import pytest
from django.core import mail

from rfp_portal import outbox
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
    assert outbox.deliver(message.pk) is True
    assert outbox.deliver(message.pk) is False
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.state == "sent" and message.attempts == 1 and message.sent_at


def test_failed_send_is_recorded_and_swept_later(settings):
    message = queue()
    settings.MAILERS = {"default": {"BACKEND": "tests.rfp_portal.failing_backend.EmailBackend"}}
    with pytest.raises(ConnectionRefusedError):
        outbox.deliver(message.pk)
    message.refresh_from_db()
    assert message.state == "failed" and "ConnectionRefusedError" in message.last_error
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert sweep_outbox() == 1
    message.refresh_from_db()
    assert message.state == "sent" and message.attempts == 2
