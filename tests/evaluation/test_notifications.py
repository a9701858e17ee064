"""Mails of the evaluation: reviewers are told of new assignments (one mail per reviewer and
batch), staff of declared conflicts; and the review queue's promise of that mail."""

import re
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from evaluation import services
from evaluation.models import Assignment, PoolMember
from rfp_portal import deadlines, permissions
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.mfa import TOTP_SECRET
from tests.helpers.proposals import open_now

pytestmark = pytest.mark.django_db

ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def assigned_mails():
    return OutboxMessage.objects.filter(template="evaluation/email/assigned").order_by("pk")


def conflict_mails():
    return OutboxMessage.objects.filter(template="evaluation/email/conflict_declared")


def test_a_hand_assignment_after_opening_mails_the_reviewer_once(evaluation_setup, staff, settings):
    s = evaluation_setup
    open_now(s["rfp"])
    reviewer = s["reviewers"][0]
    s["assign"](s["alpha"], reviewer, staff)
    s["assign"](s["alpha"], reviewer, staff)  # already assigned: nothing new, nothing sent
    [mail] = assigned_mails()
    assert mail.to == reviewer.email
    assert mail.subject == f"[RFP Portal] 1 proposal to review: {s['rfp'].title}"
    assert f'1 proposal to "{s["rfp"].title}" has been assigned to you' in mail.body_text
    assert settings.SITE_URL + reverse("reviewer_home") in mail.body_text
    # The due date for people, in AoE and UTC; never a raw ISO instant.
    due = deadlines.review_due_instant(s["rfp"].review_due)
    assert deadlines.format_deadline(due, "AoE") in mail.body_text
    assert deadlines.format_deadline(due, "UTC") in mail.body_text
    assert not ISO_INSTANT.search(mail.body_text)
    # No title or team before the reviewer declares no conflict (the queue says "Proposal #N").
    text = mail.subject + mail.body_text
    assert "Alpha proposal" not in text and s["alpha_owner"].email not in text


def test_the_due_date_is_also_written_in_the_reviewers_own_zone(evaluation_setup, staff):
    s = evaluation_setup
    open_now(s["rfp"])
    reviewer = s["reviewers"][0]
    reviewer.time_zone = "Europe/Madrid"
    reviewer.save(update_fields=["time_zone"])
    s["assign"](s["alpha"], reviewer, staff)
    due = deadlines.review_due_instant(s["rfp"].review_due)
    assert deadlines.format_deadline(due, "Europe/Madrid") in assigned_mails().get().body_text


def test_applying_the_plan_mails_each_reviewer_once_for_all_their_new_assignments(
    client, evaluation_setup, staff
):
    s = evaluation_setup
    open_now(s["rfp"])
    client.force_login(staff)
    url = reverse("staff_auto_assign", args=[s["rfp"].slug])
    client.post(url, {"auto-per_proposal": 2})
    made = Assignment.objects.count()
    assert made == 4
    mails = list(assigned_mails())
    per_reviewer = {
        r.email: Assignment.objects.filter(reviewer=r).count()
        for r in s["reviewers"]
        if Assignment.objects.filter(reviewer=r).exists()
    }
    assert sorted(m.to for m in mails) == sorted(per_reviewer)  # one mail each, not one per row
    for mail in mails:
        n = per_reviewer[mail.to]
        noun = "proposal" if n == 1 else "proposals"
        assert f"{n} {noun} to review: {s['rfp'].title}" in mail.subject
    # Replaying the form makes nothing new and sends nothing.
    client.post(url, {"auto-per_proposal": 2})
    assert Assignment.objects.count() == made and assigned_mails().count() == len(mails)


def test_a_batch_is_mailed_once_and_a_later_new_batch_again(evaluation_setup, staff):
    s = evaluation_setup
    open_now(s["rfp"])
    reviewer = s["reviewers"][0]
    now = timezone.now()
    assignment = services.assign(proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=now)
    # The same batch written again (a replay) is the same message.
    services._mail_new_assignments(s["rfp"], [assignment], now=now)
    assert assigned_mails().count() == 1
    # Removed from the pool, invited back and assigned again later: a new batch, a new mail,
    # although the assignment row (and its id) is the one from before.
    services.remove_from_pool(rfp=s["rfp"], reviewer=reviewer, staff_user=staff, now=now)
    PoolMember.objects.filter(rfp=s["rfp"], user=reviewer).update(removed_at=None)
    again = services.assign(
        proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=now + timedelta(hours=1)
    )
    assert again.pk == assignment.pk
    assert assigned_mails().count() == 2


def test_assignments_while_sealed_mail_nothing_until_the_opening_notice(
    client, evaluation_setup, staff
):
    s = evaluation_setup
    client.force_login(staff)
    client.post(reverse("staff_auto_assign", args=[s["rfp"].slug]), {"auto-per_proposal": 1})
    s["assign"](s["beta"], s["reviewers"][2], staff)
    assert Assignment.objects.count() == 3
    assert not assigned_mails().exists()
    open_now(s["rfp"])
    opened = OutboxMessage.objects.filter(template="proposals/email/opened")
    assert sorted(m.to for m in opened) == sorted(
        {a.reviewer.email for a in Assignment.objects.select_related("reviewer")}
    )
    assert not assigned_mails().exists()


def test_a_declared_conflict_tells_every_staff_member_once(
    client, evaluation_setup, staff, settings
):
    s = evaluation_setup
    second = UserFactory(roles=[permissions.Role.STAFF], is_staff=True)
    TOTP.activate(second, TOTP_SECRET)
    UserFactory(roles=[permissions.Role.STAFF], is_active=False)  # a former staff member
    reviewer, other = s["reviewers"][0], s["reviewers"][1]
    s["assign"](s["alpha"], reviewer, staff)
    s["assign"](s["beta"], other, staff)
    open_now(s["rfp"])
    client.force_login(other)
    client.post(reverse("review_conflict", args=[s["beta"].pk]), {"decision": "none"})
    assert not conflict_mails().exists()  # "no conflict" is not news for staff
    client.force_login(reviewer)
    reason = "I advised this team's lead last year & still do."
    response = client.post(
        reverse("review_conflict", args=[s["alpha"].pk]), {"decision": "conflict", "reason": reason}
    )
    assert response.status_code == 302
    mails = list(conflict_mails())
    assert sorted(m.to for m in mails) == sorted([staff.email, second.email])
    link = settings.SITE_URL + reverse("staff_evaluation", args=[s["rfp"].slug])
    for mail in mails:
        assert f"Proposal #{s['alpha'].pk}" in mail.subject and s["rfp"].title in mail.subject
        text = mail.body_text
        assert reviewer.get_full_name() in text and reviewer.email in text
        assert f'Proposal #{s["alpha"].pk}, "Alpha proposal"' in text
        assert reason in text  # as written: a plain-text mail is not HTML-escaped
        assert link in text
    # Replayed: refused (the assignment has ended) and nothing more is sent.
    with pytest.raises(PermissionDenied):
        services.declare_conflict(
            assignment=Assignment.objects.get(reviewer=reviewer),
            user=reviewer,
            conflict=True,
            reason=reason,
            now=timezone.now(),
        )
    assert conflict_mails().count() == 2


def test_a_staff_member_who_declares_a_conflict_is_not_told_of_it(evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    permissions.grant_role(reviewer, permissions.Role.STAFF)
    s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    services.declare_conflict(
        assignment=Assignment.objects.get(reviewer=reviewer),
        user=reviewer,
        conflict=True,
        reason="Former colleague.",
        now=timezone.now(),
    )
    assert [m.to for m in conflict_mails()] == [staff.email]


def test_no_conflict_can_be_declared_before_opening(evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    assignment = s["assign"](s["alpha"], reviewer, staff)
    with pytest.raises(PermissionDenied):
        services.declare_conflict(
            assignment=assignment,
            user=reviewer,
            conflict=True,
            reason="I know them.",
            now=timezone.now(),
        )
    assignment.refresh_from_db()
    assert assignment.conflict == Assignment.Conflict.UNDECLARED
    assert not conflict_mails().exists()


def test_the_queue_promises_the_mail_and_writes_the_due_date_for_people(
    client, evaluation_setup, staff
):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    client.force_login(reviewer)
    empty = client.get(reverse("reviewer_home")).content.decode()
    assert "you will get an e-mail with a link to this page" in empty
    assert "the e-mail is sent, only once they are opened" in empty
    s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    queue = client.get(reverse("reviewer_home")).content.decode()
    due = deadlines.review_due_instant(s["rfp"].review_due)
    assert deadlines.format_deadline(due, "AoE") in queue
    assert f'datetime="{deadlines.to_utc_iso(due)}"' in queue
    assert f">{deadlines.to_utc_iso(due)}<" not in queue


def test_the_preliminary_status_is_mailed_to_every_team_once(evaluation_setup, staff):
    """The dashboard promises: "Preliminary status (optional), e-mailed to every team once"."""
    from evaluation import decisions

    s = evaluation_setup
    open_now(s["rfp"])
    sent = decisions.send_preliminary(
        rfp=s["rfp"], staff_user=staff, message="Decisions in two weeks.", now=timezone.now()
    )
    mails = OutboxMessage.objects.filter(template="evaluation/email/preliminary")
    teams = {s["alpha"].owner.email, s["beta"].owner.email}
    assert sent == 2 and {m.to for m in mails} == teams
    with pytest.raises(decisions.DecisionError):
        decisions.send_preliminary(
            rfp=s["rfp"], staff_user=staff, message="Again.", now=timezone.now()
        )
    assert mails.count() == 2
