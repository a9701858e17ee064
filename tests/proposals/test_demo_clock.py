"""`manage.py demo_deadline_passes`: the demo's deadline passes now; refused outside the demo."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from proposals import demo_clock, submission
from proposals.models import RFP
from proposals.services import compute_deadline
from rfp_portal.models import AuditEvent
from tests.factories import RFPFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("demo_deadline_passes", *args, stdout=out)
    return out.getvalue()


def unchanged(rfp: RFP) -> bool:
    stored = RFP.objects.get(pk=rfp.pk)
    return (
        stored.deadline_instant == rfp.deadline_instant
        and stored.opened_at is None
        and not AuditEvent.objects.filter(action="rfp.demo_deadline_moved").exists()
    )


def test_refused_in_production(open_rfp, settings):
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="production"):
        run(open_rfp.slug)
    assert unchanged(open_rfp)


def test_refused_for_an_rfp_that_is_not_a_demo_rfp(open_rfp):
    other = RFPFactory(slug="real-call-2026")
    with pytest.raises(CommandError, match="not a demo RFP"):
        run(other.slug)
    assert unchanged(other)
    assert unchanged(open_rfp)


def test_refused_for_a_demo_rfp_that_is_not_loaded(db):
    assert "pypi-2019-q4" in demo_clock.demo_slugs()
    with pytest.raises(CommandError, match="load_demo"):
        run("pypi-2019-q4")


def test_moves_the_deadline_to_the_current_minute_and_opens_the_rfp(draft, proposer):
    rfp = draft.rfp
    old_deadline = rfp.deadline_instant
    submission.submit_proposal(
        proposal=draft, user=proposer, expected_edit=draft.edit_count, now=timezone.now()
    )
    before = timezone.now()

    output = run(rfp.slug)

    rfp.refresh_from_db()
    after = timezone.now()
    # The deadline is entered as a minute in UTC, and computing it again gives the same instant:
    # the start of the minute the command ran in, so at or just before "now".
    assert rfp.deadline_zone == "UTC" and not rfp.deadline_end_of_day
    assert compute_deadline(rfp) == rfp.deadline_instant
    assert rfp.deadline_instant.second == 0 and rfp.deadline_instant.microsecond == 0
    assert before - timedelta(minutes=1) < rfp.deadline_instant <= after
    assert rfp.deadline_instant < old_deadline
    assert before <= rfp.opened_at <= after
    assert rfp.review_due > rfp.deadline_date
    moved = AuditEvent.objects.get(action="rfp.demo_deadline_moved", object_id=str(rfp.pk))
    assert moved.details["new_deadline_utc"] == rfp.deadline_instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    opened = AuditEvent.objects.get(action="rfp.opened", object_id=str(rfp.pk))
    assert opened.details == {"submitted": 1}
    assert f"Moved the deadline of {rfp.slug}" in output
    assert "Opened pypi-2019-q4: its 1 submitted proposal(s)" in output

    # The submit is now refused as after any deadline, and a second run says it has passed.
    draft.refresh_from_db()
    assert not rfp.accepts_submissions_at(timezone.now())
    with pytest.raises(CommandError, match="has passed already"):
        run(rfp.slug)


def test_grace_is_passed_too_and_a_review_due_date_before_it_moves_after_it(open_rfp):
    now = datetime(2030, 3, 4, 12, 34, 56, tzinfo=UTC)
    open_rfp.grace_seconds = 90
    open_rfp.review_due = now.date() - timedelta(days=1)
    open_rfp.save()

    result = demo_clock.deadline_passes(slug=open_rfp.slug, now=now)

    assert result.new_deadline == datetime(2030, 3, 4, 12, 33, tzinfo=UTC)
    assert result.opened
    assert result.rfp.opened_at == now
    assert result.review_due == now.date() + demo_clock.REVIEW_PERIOD
