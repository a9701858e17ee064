"""Outbox delivery by a real Celery worker over the local Redis broker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import transaction

from rfp_portal import outbox
from rfp_portal.celery import app
from rfp_portal.models import OutboxMessage
from tests.helpers.broker import BROKER, DEAD_BROKER, broker_answers, flush_broker
from tests.helpers.proposals import complete_answers, pdf_upload
from tests.helpers.required_services import require_or_skip
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_worker_delivers_queued_mail_once_after_commit(worker):
    with transaction.atomic():
        message = outbox.queue_mail(
            to="worker@example.com", subject="Via Redis", body_text="x", idempotency_key="w-1"
        )
        outbox.queue_mail(
            to="worker@example.com", subject="Via Redis", body_text="x", idempotency_key="w-1"
        )
    assert wait_until(lambda: OutboxMessage.objects.get(pk=message.pk).state == "sent")
    time.sleep(0.5)
    assert [m.subject for m in mail.outbox] == ["Via Redis"]


def test_broker_down_does_not_break_the_caller_and_mail_waits_in_outbox(broker_conf):
    broker_conf(DEAD_BROKER)
    started = time.monotonic()
    with transaction.atomic():
        message = outbox.queue_mail(
            to="later@example.com", subject="Later", body_text="x", idempotency_key="down-1"
        )
    assert time.monotonic() - started < 10
    message.refresh_from_db()
    assert message.state == "queued"
    assert mail.outbox == []
    # Once delivery runs again (the sweeper), it goes out.
    from rfp_portal.tasks import sweep_outbox

    assert sweep_outbox() == 1
    assert [m.subject for m in mail.outbox] == ["Later"]


def test_the_same_reminder_task_twice_on_a_real_worker_sends_one_mail(worker, open_rfp, proposer):
    from datetime import timedelta

    from django.utils import timezone

    from evaluation.tasks import send_reminders
    from proposals import submission
    from proposals.models import Reminder
    from rfp_portal import deadlines

    submission.start_proposal(rfp=open_rfp, user=proposer, title="Draft", now=timezone.now())
    moment = open_rfp.deadline_instant - timedelta(days=1) + timedelta(minutes=1)
    at = deadlines.to_utc_iso(moment)
    send_reminders.delay(at=at)
    send_reminders.delay(at=at)  # the same sweep again: a beat restart, a redelivery
    assert wait_until(lambda: Reminder.objects.filter(skipped=False).count() == 1)
    assert wait_until(
        lambda: (
            OutboxMessage.objects.filter(
                template="proposals/email/deadline_reminder", state="sent"
            ).count()
            == 1
        )
    )
    time.sleep(1.5)  # give a second delivery every chance to happen
    assert Reminder.objects.filter(skipped=False).count() == 1
    assert len([m for m in mail.outbox if "left" in m.subject]) == 1


def test_submit_while_the_broker_is_down_succeeds_and_the_receipt_goes_out_later(
    broker_conf, open_rfp, proposer
):
    from django.utils import timezone

    from proposals import submission
    from rfp_portal.tasks import sweep_outbox

    if not broker_answers(BROKER):
        require_or_skip(f"Redis does not answer at {BROKER}")
    broker_conf(DEAD_BROKER)
    proposal = submission.start_proposal(rfp=open_rfp, user=proposer, title="P", now=timezone.now())
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="P",
        fields=complete_answers(open_rfp),
        document=pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    result = submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    )
    assert result.created  # the submit succeeded with the broker down
    receipt = OutboxMessage.objects.get(idempotency_key__startswith="receipt:")
    assert receipt.state == "queued" and mail.outbox == []

    broker_conf(BROKER)  # the broker is back; beat's sweeper runs on a real worker
    flush_broker()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sweep_outbox.delay()
        assert wait_until(lambda: OutboxMessage.objects.get(pk=receipt.pk).state == "sent")
        sweep_outbox.delay()
        time.sleep(1)
    assert [m.subject for m in mail.outbox].count(receipt.subject) == 1


def test_a_submit_has_its_receipt_pdf_rendered_and_stored_by_the_worker(worker, open_rfp, proposer):
    from django.core.files.storage import default_storage
    from django.utils import timezone
    from pypdf import PdfReader

    from proposals import receipts, submission

    proposal = submission.start_proposal(rfp=open_rfp, user=proposer, title="P", now=timezone.now())
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="P",
        fields=complete_answers(open_rfp),
        document=pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    version = submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    ).version
    name = receipts.receipt_pdf_name(version)
    assert wait_until(lambda: default_storage.exists(name), timeout=30)
    text = PdfReader(default_storage.open(name, "rb")).pages[0].extract_text()
    assert version.receipt_code in text
    assert wait_until(
        lambda: OutboxMessage.objects.filter(
            idempotency_key=f"receipt:{version.pk}:{proposer.pk}", state="sent"
        ).exists()
    )
