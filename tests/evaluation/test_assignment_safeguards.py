"""Hand assignment with the safeguards automatic assignment has (issue 16, point 5): the same
reviewer twice refused, nothing after publication (or while sealed), and a likely conflict (the
planner's rule: e-mail domain, organisation, co-authorship) answered with a warning that must
be confirmed, the override audited with its reason."""

import pytest
from django.urls import reverse

from evaluation import services
from evaluation.assignment_planner import Person, ProposalTeam, plan_assignments
from evaluation.models import Assignment, PoolMember
from proposals.models import ProposalMember
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.factories import UserFactory
from tests.helpers.lifecycle import decide, pass_deadline, publish
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.reviews import make_reviewer

ASSIGNED_MAIL = "evaluation/email/assigned"

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(evaluation_setup):
    pass_deadline(evaluation_setup["rfp"])
    open_now(evaluation_setup["rfp"])
    return evaluation_setup


def pooled(rfp, email, organisation=""):
    user = make_reviewer(email, organisation)
    PoolMember.objects.create(rfp=rfp, user=user)
    return user


def post_assign(client, s, proposal, reviewer, **extra):
    return client.post(
        reverse("staff_assign", args=[s["rfp"].slug]),
        {"proposal": proposal.pk, "reviewer": reviewer.pk, **extra},
        follow=True,
    )


def active(proposal, reviewer):
    return Assignment.objects.filter(
        proposal=proposal, reviewer=reviewer, removed_at__isnull=True
    ).exists()


def test_no_conflict_is_assigned_at_once(staff_client, opened):
    s = opened
    reviewer = s["reviewers"][0]
    response = post_assign(staff_client, s, s["alpha"], reviewer)
    assert active(s["alpha"], reviewer)
    assert "rev0@uni0.example.edu is assigned to Alpha proposal." in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.ASSIGNMENT_CONFLICT_CONFIRMED).exists()


def test_the_same_reviewer_twice_is_refused(staff_client, opened):
    s = opened
    reviewer = s["reviewers"][0]
    post_assign(staff_client, s, s["alpha"], reviewer)
    mails = OutboxMessage.objects.count()
    response = post_assign(staff_client, s, s["alpha"], reviewer)
    assert "rev0@uni0.example.edu is already assigned to this proposal." in (
        response.content.decode()
    )
    assert Assignment.objects.filter(proposal=s["alpha"], reviewer=reviewer).count() == 1
    assert OutboxMessage.objects.count() == mails
    # The page no longer offers them for that proposal (nothing offered that is refused).
    page = staff_client.get(reverse("staff_evaluation", args=[s["rfp"].slug])).content.decode()
    select = page.split(f'id="assign-{s["alpha"].pk}"')[1].split("</select>")[0]
    assert f'value="{reviewer.pk}"' not in select


def test_a_reviewer_who_declared_a_conflict_is_refused(staff_client, opened, staff):
    s = opened
    reviewer = s["reviewers"][1]
    assignment = services.assign(
        proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=s["rfp"].deadline_instant
    )
    services.declare_conflict(
        assignment=assignment,
        user=reviewer,
        conflict=True,
        reason="My former employer.",
        now=s["rfp"].deadline_instant,
    )
    response = post_assign(staff_client, s, s["alpha"], reviewer, confirm="1")
    assert "This reviewer declared a conflict with this proposal." in response.content.decode()
    assert not active(s["alpha"], reviewer)


def test_after_publication_refused_and_not_offered(staff_client, opened, staff):
    s = opened
    decide(s["alpha"], staff)
    decide(s["beta"], staff)
    publish(s["rfp"], staff)
    reviewer = s["reviewers"][2]
    response = post_assign(staff_client, s, s["alpha"], reviewer)
    assert "Decisions are published: assignments can no longer change." in (
        response.content.decode()
    )
    assert not Assignment.objects.filter(reviewer=reviewer).exists()
    page = staff_client.get(reverse("staff_evaluation", args=[s["rfp"].slug])).content.decode()
    assert reverse("staff_assign", args=[s["rfp"].slug]) not in page
    assert reverse("staff_auto_assign", args=[s["rfp"].slug]) not in page
    assert "Decisions are published: assignments can no longer change." in page
    # Automatic assignment is refused too (it was a 500 before: nothing caught the refusal).
    response = staff_client.post(
        reverse("staff_auto_assign", args=[s["rfp"].slug]), {"auto-per_proposal": 2}, follow=True
    )
    assert "Decisions are published" in response.content.decode()
    assert not Assignment.objects.filter(reviewer=reviewer).exists()


def test_while_sealed_refused(staff_client, evaluation_setup):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    response = post_assign(staff_client, s, s["alpha"], reviewer)
    assert "Proposals are sealed until the deadline" in response.content.decode()
    assert "Alpha proposal" not in response.content.decode()
    assert not Assignment.objects.exists()


def _warned_then_confirmed(client, s, reviewer, expected_warning):
    response = post_assign(client, s, s["alpha"], reviewer)
    text = response.content.decode()
    assert response.status_code == 200
    assert expected_warning in text
    assert 'name="confirm" value="1"' in text
    assert not active(s["alpha"], reviewer)
    # The assignment mail (a reviewer who bid on another proposal also has the final log head's).
    assert not OutboxMessage.objects.filter(to=reviewer.email, template=ASSIGNED_MAIL).exists()

    response = post_assign(client, s, s["alpha"], reviewer, confirm="1")
    assert active(s["alpha"], reviewer)
    event = AuditEvent.objects.get(action=AuditAction.ASSIGNMENT_CONFLICT_CONFIRMED)
    assert event.details == {"reviewer": reviewer.email, "reason": expected_warning}
    assert event.object_id == str(s["alpha"].pk)
    assert AuditEvent.objects.filter(action=AuditAction.ASSIGNMENT_CREATED).count() == 1
    assert OutboxMessage.objects.filter(to=reviewer.email, template=ASSIGNED_MAIL).count() == 1


def test_same_mail_domain_warns_then_confirm_assigns_and_audits(staff_client, opened):
    s = opened
    reviewer = pooled(s["rfp"], "insider@alpha-team.example.io")
    _warned_then_confirmed(
        staff_client,
        s,
        reviewer,
        "insider@alpha-team.example.io shares the e-mail domain alpha-team.example.io "
        "with the team member alpha@alpha-team.example.io.",
    )


def test_same_organisation_warns_then_confirm_assigns_and_audits(staff_client, opened):
    s = opened
    reviewer = pooled(s["rfp"], "someone@elsewhere.example.org", "  alpha ")
    _warned_then_confirmed(
        staff_client,
        s,
        reviewer,
        "someone@elsewhere.example.org shares the organisation Alpha "
        "with the team member alpha@alpha-team.example.io.",
    )


def test_coauthor_warns_then_confirm_assigns_and_audits(staff_client, evaluation_setup):
    s = evaluation_setup
    reviewer = pooled(s["rfp"], "friend@gmail.com")
    # The reviewer and Alpha's owner were on a team together, for another proposal.
    other = submitted_proposal(
        s["rfp"], UserFactory(email="third@third.example.net"), "Third proposal"
    )
    ProposalMember.objects.create(proposal=other, user=reviewer, role="coauthor")
    ProposalMember.objects.create(proposal=other, user=s["alpha_owner"], role="coauthor")
    pass_deadline(s["rfp"])
    open_now(s["rfp"])
    _warned_then_confirmed(
        staff_client,
        s,
        reviewer,
        "friend@gmail.com and the team member alpha@alpha-team.example.io "
        "have co-authored a proposal.",
    )


def test_the_evaluation_page_marks_likely_conflicts(staff_client, opened):
    s = opened
    pooled(s["rfp"], "insider@alpha-team.example.io")
    page = staff_client.get(reverse("staff_evaluation", args=[s["rfp"].slug])).content.decode()
    alpha = page.split(f'id="assign-{s["alpha"].pk}"')[1].split("</select>")[0]
    beta = page.split(f'id="assign-{s["beta"].pk}"')[1].split("</select>")[0]
    assert "insider@alpha-team.example.io (likely conflict)" in alpha
    assert "insider@alpha-team.example.io (likely conflict)" not in beta


def test_coauthors_are_avoided_by_the_planner_too():
    """One rule: the planner avoids a co-author of someone on the team."""
    team = ProposalTeam(1, (Person(1, "lead@team.example.io"),))
    coauthor = Person(10, "pat@gmail.com", coauthors=frozenset({1}))
    stranger = Person(11, "sam@gmail.com")
    plan = plan_assignments([team], [coauthor, stranger], per_proposal=2)
    assert plan.new == [(1, 11)]
    assert plan.avoided == [(1, 10, "co-author of lead@team.example.io on another proposal")]
