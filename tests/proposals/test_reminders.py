"""Deadline and review reminders: due offsets, exactly once, around extensions and zones."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from proposals import addenda, reminders, submission
from proposals.models import Reminder
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.proposals import complete_answers, open_now, pdf_upload
from tests.helpers.reviews import declare_no_conflict, save_review

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def drafting(open_rfp, proposer):
    submission.start_proposal(rfp=open_rfp, user=proposer, title="Draft", now=timezone.now())
    return proposer


def mails(kind="deadline"):
    return OutboxMessage.objects.filter(template=f"proposals/email/{kind}_reminder")


def test_nothing_is_due_long_before_the_deadline(open_rfp, drafting):
    assert reminders.plan(now=open_rfp.deadline_instant - 10 * DAY) == []


def test_the_7_day_reminder_goes_once_to_drafting_teams_and_interested_people(open_rfp, drafting):
    interested = UserFactory()
    addenda.register_interest(rfp=open_rfp, user=interested, now=timezone.now())
    at = open_rfp.deadline_instant - 7 * DAY + timedelta(minutes=1)
    assert reminders.send_due(now=at) == 2
    assert reminders.send_due(now=at + timedelta(minutes=5)) == 0
    assert sorted(m.to for m in mails()) == sorted([drafting.email, interested.email])
    assert "7 days left" in mails().first().subject


def test_a_submitted_team_gets_no_deadline_reminder(open_rfp, drafting):
    proposal = submission.save_draft(
        proposal=open_rfp.proposals.get(),
        user=drafting,
        title="Draft",
        fields=complete_answers(open_rfp),
        document=pdf_upload(),
        expected_edit=0,
        now=timezone.now(),
    )
    submission.submit_proposal(
        proposal=proposal, user=drafting, expected_edit=proposal.edit_count, now=timezone.now()
    )
    addenda.register_interest(rfp=open_rfp, user=drafting, now=timezone.now())
    assert reminders.send_due(now=open_rfp.deadline_instant - DAY + timedelta(minutes=1)) == 0


def test_late_joiners_get_only_the_latest_due_reminder_and_the_rest_are_skipped(open_rfp, drafting):
    at = open_rfp.deadline_instant - 2 * DAY + timedelta(hours=1)  # 7-day moment long past
    assert reminders.send_due(now=at) == 1
    assert "2 days left" in mails().get().subject
    assert Reminder.objects.get(offset_seconds=7 * 86_400).skipped
    assert reminders.send_due(now=at + timedelta(hours=2)) == 0


def test_each_offset_in_turn_then_nothing_after_the_deadline(open_rfp, drafting):
    deadline = open_rfp.deadline_instant
    for moment, expected in [
        (deadline - 7 * DAY, "7 days"),
        (deadline - 2 * DAY, "2 days"),
        (deadline - DAY, "1 day"),
        (deadline - timedelta(hours=1), "1 hour"),
    ]:
        assert reminders.send_due(now=moment + timedelta(seconds=30)) == 1
        assert expected in mails().order_by("-created_at", "-id").first().subject
    assert reminders.send_due(now=deadline + timedelta(seconds=1)) == 0
    assert mails().count() == 4


def test_after_an_extension_reminders_follow_the_new_instant_and_none_repeat(
    open_rfp, drafting, staff
):
    deadline = open_rfp.deadline_instant
    reminders.send_due(now=deadline - DAY + timedelta(minutes=1))  # "1 day" for the old instant
    addenda.publish_addendum(
        rfp=open_rfp,
        changes={"deadline_date": open_rfp.deadline_date + timedelta(days=7)},
        change_note="One more week.",
        actor=staff,
        now=deadline - DAY + timedelta(minutes=2),
    )
    open_rfp.refresh_from_db()
    new = open_rfp.deadline_instant
    # Right after the extension nothing is due: the new instant is 8 days away.
    assert reminders.send_due(now=deadline - DAY + timedelta(minutes=3)) == 0
    # Then each offset of the new instant, once; the old instant's reminders never repeat.
    for moment in (new - 7 * DAY, new - 2 * DAY, new - DAY):
        assert reminders.send_due(now=moment + timedelta(minutes=1)) == 1
        assert reminders.send_due(now=moment + timedelta(minutes=6)) == 0
    subjects = [m.subject for m in mails().order_by("created_at", "id")]
    assert [s.split(" left")[0].split("] ")[1] for s in subjects] == [
        "1 day",
        "7 days",
        "2 days",
        "1 day",
    ]


def test_reminder_gives_the_deadline_in_aoe_utc_and_the_recipients_zone(open_rfp, drafting):
    drafting.time_zone = "Asia/Tokyo"
    drafting.save()
    reminders.send_due(now=open_rfp.deadline_instant - DAY + timedelta(minutes=1))
    body = mails().get().body_text
    assert "AoE (UTC\u221212:00)" in body and " UTC" in body and "Asia/Tokyo" in body


def test_dry_run_lists_and_sends_nothing(open_rfp, drafting, capsys, monkeypatch):
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: open_rfp.deadline_instant - DAY + timedelta(minutes=1)
    )
    call_command("send_reminders", "--dry-run")
    out = capsys.readouterr().out
    assert drafting.email in out and "1 reminder(s) due; none sent" in out
    assert not Reminder.objects.exists() and not mails().exists()
    call_command("send_reminders")
    assert mails().count() == 1


def test_review_reminders_go_to_reviewers_with_unsubmitted_reviews(evaluation_setup, staff):
    from evaluation import reminders as evaluation_reminders
    from evaluation import services
    from rfp_portal import deadlines

    s = evaluation_setup
    waiting, done = s["reviewers"][:2]
    for reviewer in (waiting, done):
        services.assign(
            proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now()
        )
    open_now(s["rfp"])
    assignment = declare_no_conflict(s["alpha"].assignments.get(reviewer=done), done)
    save_review(
        assignment,
        done,
        [
            services.AssessmentInput(c, None if c.is_gate else 3, "pass" if c.is_gate else "", "")
            for c in s["rfp"].criteria.all()
        ],
        submit=True,
    )
    due = deadlines.review_due_instant(s["rfp"].review_due)
    assert evaluation_reminders.send_all_due(now=due - DAY + timedelta(minutes=1)) == 1
    assert mails("review").get().to == waiting.email
