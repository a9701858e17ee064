"""Each background task on a real Celery worker over the local Redis broker.

Opening at the deadline, review reminders, and staff exports (the decision report, and a bundle
with a corrupt proposer PDF that is reported while the rest is produced).
"""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery.signals import task_postrun
from django.core.files.storage import default_storage
from django.utils import timezone
from pypdf import PdfReader

from evaluation import export_requests, services
from evaluation.models import Export
from proposals.models import RFP, Reminder
from rfp_portal import deadlines
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.helpers.proposals import open_now
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@contextmanager
def finished_tasks():
    """{task id: final state} of the tasks the in-process worker finishes meanwhile."""
    finished: dict[str, str] = {}

    def record(sender=None, task_id=None, state=None, **kwargs):
        finished[task_id] = state

    task_postrun.connect(record, weak=False)
    try:
        yield finished
    finally:
        task_postrun.disconnect(record)


def _deadline_passed(rfp: RFP) -> None:
    """Move the RFP's deadline two days into the past, as time passing would."""
    day = timezone.now().date() - timedelta(days=2)
    RFP.objects.filter(pk=rfp.pk).update(
        deadline_date=day, deadline_instant=deadlines.deadline_instant(day, rfp.deadline_zone)
    )


def test_opening_on_a_worker_opens_once_audits_and_mails_the_assigned_reviewers(
    worker, evaluation_setup, staff
):
    from proposals.tasks import open_due_rfps

    s = evaluation_setup
    assigned = s["reviewers"][0]
    services.assign(proposal=s["alpha"], reviewer=assigned, staff_user=staff, now=timezone.now())
    _deadline_passed(s["rfp"])
    with finished_tasks() as finished:
        first = open_due_rfps.delay()
        # Beat fires again before the first finished: nothing more happens.
        second = open_due_rfps.delay()
        # Both runs are over (no result backend: the worker's own signal tells) before counting.
        assert wait_until(lambda: {first.id, second.id} <= finished.keys())
    assert finished[first.id] == finished[second.id] == "SUCCESS"
    assert RFP.objects.get(pk=s["rfp"].pk).opened_at is not None
    assert AuditEvent.objects.filter(action="rfp.opened").count() == 1
    opened_mails = OutboxMessage.objects.filter(template="proposals/email/opened")
    assert opened_mails.count() == 1 and opened_mails.get().to == assigned.email
    assert wait_until(lambda: opened_mails.filter(state="sent").count() == 1)


def test_review_reminders_on_a_worker_go_once_to_reviewers_who_have_not_submitted(
    worker, evaluation_setup, staff
):
    from evaluation.tasks import send_reminders

    s = evaluation_setup
    waiting = s["reviewers"][0]
    services.assign(proposal=s["alpha"], reviewer=waiting, staff_user=staff, now=timezone.now())
    open_now(s["rfp"])
    due = deadlines.review_due_instant(s["rfp"].review_due)
    at = deadlines.to_utc_iso(due - timedelta(days=1, minutes=-1))
    send_reminders.delay(at=at)
    send_reminders.delay(at=at)
    assert wait_until(
        lambda: Reminder.objects.filter(kind=Reminder.Kind.REVIEW, skipped=False).count() == 1
    )
    assert wait_until(lambda: OutboxMessage.objects.filter(to=waiting.email, state="sent").exists())
    reminder = Reminder.objects.get(kind=Reminder.Kind.REVIEW, skipped=False)
    assert reminder.user == waiting


def test_the_decision_report_is_rendered_on_a_worker_and_stored(worker, evaluation_setup, staff):
    rfp = evaluation_setup["rfp"]
    open_now(rfp)
    export = export_requests.request_export(rfp=rfp, kind="report", user=staff, now=timezone.now())
    assert wait_until(lambda: Export.objects.get(pk=export.pk).state == "done", timeout=60)
    export.refresh_from_db()
    assert export.attempts == 1
    reader = PdfReader(default_storage.open(export.file.name, "rb"))
    assert rfp.title in reader.pages[0].extract_text()
    assert AuditEvent.objects.filter(action="export.finished").count() == 1


def test_a_corrupt_proposer_pdf_is_reported_and_the_rest_still_produced_on_a_worker(
    worker, evaluation_setup, staff
):
    import zipfile

    s = evaluation_setup
    open_now(s["rfp"])
    with default_storage.open(s["beta"].versions.get().document.name, "wb") as handle:
        handle.write(b"%PDF-1.4 damaged after it was received")
    export = export_requests.request_export(
        rfp=s["rfp"], kind="bundle", user=staff, now=timezone.now()
    )
    assert wait_until(
        lambda: Export.objects.get(pk=export.pk).state in ("done", "failed"), timeout=60
    )
    export.refresh_from_db()
    assert export.state == "done"
    assert [p["title"] for p in export.problems] == ["Beta proposal"]
    names = zipfile.ZipFile(default_storage.open(export.file.name, "rb")).namelist()
    assert f"{s['alpha'].pk:04d}-summary-and-proposal.pdf" in names
    assert f"{s['beta'].pk:04d}-as-received.pdf" in names and "PROBLEMS.txt" in names
