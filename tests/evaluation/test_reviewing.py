"""Access rules of the evaluation (rule 5) and the review flow, on PostgreSQL."""

import tomllib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation import rules, services
from evaluation.models import Assignment, PoolMember, Review
from proposals import demo
from proposals import services as rfp_services
from proposals.models import Criterion
from rfp_portal import deadlines, permissions
from rfp_portal.models import AuditEvent
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.reviews import (
    assessments,
    declare_no_conflict,
    make_reviewer,
    ready_to_review,
    save_review,
)

pytestmark = pytest.mark.django_db


def test_assignment_before_opening_reveals_nothing(client, evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    s["assign"](s["alpha"], reviewer, staff)
    client.force_login(reviewer)
    assert s["alpha"].title not in client.get(reverse("reviewer_home")).content.decode()
    assert client.get(reverse("review_conflict", args=[s["alpha"].pk])).status_code == 404
    assert not rules.can_review(reviewer, s["alpha"])


def test_content_only_after_declaring_no_conflict(client, evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    client.force_login(reviewer)
    queue = client.get(reverse("reviewer_home")).content.decode()
    # Listed by number until declared: the title is content too.
    assert f"Proposal #{s['alpha'].pk}" in queue
    assert "Alpha proposal" not in queue and "Beta proposal" not in queue
    # Before declaring: the review page sends to the declaration; the PDF is refused.
    assert client.get(reverse("review", args=[s["alpha"].pk])).url == reverse(
        "review_conflict", args=[s["alpha"].pk]
    )
    assert client.get(reverse("version_document", args=[s["alpha"].pk, 1])).status_code == 404
    conflict_page = client.get(reverse("review_conflict", args=[s["alpha"].pk])).content.decode()
    assert "Alpha" in conflict_page  # the team is shown, to judge the conflict
    assert "ten years of Python packaging" not in conflict_page  # but no content
    assert "Alpha proposal" not in conflict_page
    client.post(reverse("review_conflict", args=[s["alpha"].pk]), {"decision": "none"})
    assert "Alpha proposal" in client.get(reverse("reviewer_home")).content.decode()
    page = client.get(reverse("review", args=[s["alpha"].pk])).content.decode()
    assert "ten years of Python packaging" in page
    assert client.get(reverse("version_document", args=[s["alpha"].pk, 1])).status_code == 200
    assert AuditEvent.objects.filter(action="proposal.version_viewed", actor=reviewer).exists()


def test_declared_conflict_removes_the_assignment_and_access(client, evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][1]
    s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    client.force_login(reviewer)
    response = client.post(
        reverse("review_conflict", args=[s["alpha"].pk]),
        {"decision": "conflict", "reason": "I advised this team last year."},
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get(reviewer=reviewer)
    assert assignment.conflict == "declared" and assignment.removed_at is not None
    assert client.get(reverse("review", args=[s["alpha"].pk])).status_code == 404
    assert "Alpha proposal" not in client.get(reverse("reviewer_home")).content.decode()
    # Staff see the declaration; auto-assignment never re-assigns it.
    plan = services.plan_for(s["rfp"], per_proposal=3)
    assert (s["alpha"].pk, reviewer.pk) not in plan.new
    with pytest.raises(services.EvaluationError, match="declared a conflict"):
        s["assign"](s["alpha"], reviewer, staff)


def test_conflict_without_reason_is_refused(client, evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][1]
    s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    client.force_login(reviewer)
    response = client.post(
        reverse("review_conflict", args=[s["alpha"].pk]), {"decision": "conflict", "reason": ""}
    )
    assert (
        response.status_code == 400
        and "Say briefly what the conflict is" in response.content.decode()
    )
    assert Assignment.objects.get(reviewer=reviewer).conflict == "undeclared"


def test_unassigned_reviewer_gets_404_and_an_audit_event(client, evaluation_setup, staff):
    s = evaluation_setup
    open_now(s["rfp"])
    outsider = s["reviewers"][2]
    client.force_login(outsider)
    for name in ("review", "review_conflict"):
        assert client.get(reverse(name, args=[s["alpha"].pk])).status_code == 404
    assert (
        client.post(reverse("review", args=[s["alpha"].pk]), {"action": "submit"}).status_code
        == 404
    )
    assert AuditEvent.objects.filter(action="review.access_refused", actor=outsider).count() == 3


def test_other_reviews_hidden_until_own_submitted(evaluation_setup, staff):
    s = evaluation_setup
    first, second = s["reviewers"][:2]
    for reviewer in (first, second):
        s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    for reviewer in (first, second):
        assignment = Assignment.objects.get(reviewer=reviewer)
        declare_no_conflict(assignment, reviewer)
    a1 = Assignment.objects.get(reviewer=first)
    save_review(a1, first, assessments(s["rfp"]), submit=True, comment="Good")
    from proposals.models import Proposal

    alpha = Proposal.objects.select_related("rfp").get(pk=s["alpha"].pk)  # as a request sees it
    assert not rules.can_see_other_reviews(second, alpha)
    assert rules.can_see_other_reviews(first, alpha)
    assert rules.can_see_other_reviews(staff, alpha)
    s["rfp"].reviewers_see_others_first = True
    s["rfp"].save()
    alpha = Proposal.objects.select_related("rfp").get(pk=s["alpha"].pk)
    assert rules.can_see_other_reviews(second, alpha)


def test_score_outside_the_scale_is_refused_and_nothing_saved(evaluation_setup, staff):
    s = evaluation_setup
    reviewer, assignment = ready_to_review(s, staff)
    bad = assessments(s["rfp"], 6)
    with pytest.raises(services.EvaluationError, match="between 0 and 5"):
        save_review(assignment, reviewer, bad)
    assert not Review.objects.exists()


def test_incomplete_review_cannot_be_submitted_but_can_be_saved(evaluation_setup, staff):
    s = evaluation_setup
    reviewer, assignment = ready_to_review(s, staff)
    partial = [a for a in assessments(s["rfp"]) if a.criterion.key != "cost"]
    save_review(assignment, reviewer, partial)
    with pytest.raises(services.EvaluationError, match="Cost"):
        save_review(assignment, reviewer, partial, submit=True)
    assert Review.objects.get().state == "draft"


def test_review_after_due_date_is_refused_until_staff_reopen(evaluation_setup, staff):
    s = evaluation_setup
    rfp = s["rfp"]
    reviewer, assignment = ready_to_review(s, staff)
    review = save_review(assignment, reviewer, assessments(rfp), submit=True)
    late = deadlines.review_due_instant(rfp.review_due) + timedelta(seconds=1)
    with pytest.raises(services.EvaluationError, match="due date has passed"):
        save_review(assignment, reviewer, assessments(rfp, 2), submit=True, now=late)
    services.reopen_review(review=review, staff_user=staff, now=late)
    save_review(assignment, reviewer, assessments(rfp, 2), submit=True, comment="Changed", now=late)
    review.refresh_from_db()
    assert review.state == "submitted" and review.overall_comment == "Changed"
    assert review.assessments.filter(criterion__kind=Criterion.Kind.SCORED, score=2).count() == 3


def test_removing_a_reviewer_drops_drafts_and_marks_submitted_reviews(evaluation_setup, staff):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    a_alpha = s["assign"](s["alpha"], reviewer, staff)
    a_beta = s["assign"](s["beta"], reviewer, staff)
    open_now(s["rfp"])
    for assignment in (a_alpha, a_beta):
        declare_no_conflict(assignment, reviewer)
    save_review(a_alpha, reviewer, assessments(s["rfp"]), submit=True)
    save_review(a_beta, reviewer, assessments(s["rfp"]))
    services.remove_from_pool(rfp=s["rfp"], reviewer=reviewer, staff_user=staff, now=timezone.now())
    assert Review.objects.get(assignment=a_alpha).withdrawn_reviewer
    assert not Review.objects.filter(assignment=a_beta).exists()
    assert not Assignment.objects.filter(reviewer=reviewer, removed_at__isnull=True).exists()


def test_a_removed_reviewer_cannot_rejoin_with_the_old_invitation_only_a_new_one(
    evaluation_setup, staff
):
    s = evaluation_setup
    newcomer = make_reviewer("late@uni9.example.edu", "Uni 9")
    start = timezone.now()
    old = services.invite_reviewer(rfp=s["rfp"], email=newcomer.email, staff_user=staff, now=start)
    services.accept_reviewer_invitation(invitation=old, user=newcomer, now=start)
    services.remove_from_pool(
        rfp=s["rfp"], reviewer=newcomer, staff_user=staff, now=start + timedelta(minutes=1)
    )
    with pytest.raises(services.EvaluationError, match="removed"):
        services.accept_reviewer_invitation(
            invitation=old, user=newcomer, now=start + timedelta(minutes=2)
        )
    assert PoolMember.objects.get(rfp=s["rfp"], user=newcomer).removed_at is not None
    again = services.invite_reviewer(
        rfp=s["rfp"], email=newcomer.email, staff_user=staff, now=start + timedelta(minutes=3)
    )
    services.accept_reviewer_invitation(
        invitation=again, user=newcomer, now=start + timedelta(minutes=4)
    )
    assert PoolMember.objects.get(rfp=s["rfp"], user=newcomer).removed_at is None


def another_open_rfp(slug: str, title: str):
    """A second RFP, loaded like the open_rfp fixture's but under its own slug and title."""
    data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q4.toml").read_text())
    data["slug"], data["title"] = slug, title
    now = timezone.now()
    shift = rfp_services.demo_shift(data, today=now.date())
    return rfp_services.load_rfp(data, shift=shift, now=now - timedelta(days=1)).rfp


def test_reviewer_never_sees_another_rfps_proposals(evaluation_setup, staff, client):
    s = evaluation_setup
    reviewer = s["reviewers"][0]  # in the first RFP's pool only
    other_rfp = another_open_rfp("other-rfp", "Another RFP")
    gamma_owner = UserFactory(email="gamma@gamma-team.example.io", organisation="Gamma")
    gamma = submitted_proposal(other_rfp, gamma_owner, "Gamma proposal")
    # The other RFP has its own pool and its own assigned reviewer.
    other_reviewer = make_reviewer("other@uni8.example.edu", "Uni 8")
    PoolMember.objects.create(rfp=other_rfp, user=other_reviewer)
    services.assign(proposal=gamma, reviewer=other_reviewer, staff_user=staff, now=timezone.now())
    # The reviewer is assigned in the first RFP and has declared no conflict there.
    assignment = s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    open_now(other_rfp)
    assert other_rfp.opened_at is not None  # refused below for being another RFP's, not sealed
    declare_no_conflict(assignment, reviewer)
    client.force_login(reviewer)
    # The reviewer's own proposal is reachable...
    assert client.get(reverse("review", args=[s["alpha"].pk])).status_code == 200
    assert client.get(reverse("proposal_version", args=[s["alpha"].pk, 1])).status_code == 200
    # ...the other RFP's is not, by any of the reviewer's pages.
    for name, args in (
        ("review", [gamma.pk]),
        ("review_conflict", [gamma.pk]),
        ("review_scorecard", [gamma.pk]),
        ("proposal_version", [gamma.pk, 1]),
        ("version_document", [gamma.pk, 1]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert "Gamma" not in client.get(reverse("reviewer_home")).content.decode()


def test_proposer_never_sees_reviews_or_reviewer_pages(evaluation_setup, staff, client):
    s = evaluation_setup
    client.force_login(s["alpha_owner"])
    assert client.get(reverse("reviewer_home")).status_code == 403
    assert client.get(reverse("review", args=[s["alpha"].pk])).status_code == 403


def test_staff_invite_and_reviewer_accepts_and_gets_the_role(client, evaluation_setup, staff):
    import re

    from rfp_portal.models import OutboxMessage
    from tests.factories import UserFactory

    s = evaluation_setup
    client.force_login(staff)
    client.post(
        reverse("staff_invite_reviewer", args=[s["rfp"].slug]),
        {"invite-email": "new@rev.example.edu"},
    )
    invitation_mail = OutboxMessage.objects.get(to="new@rev.example.edu")
    link = re.search(r"https?://\S+/reviewers/join/\S+/", invitation_mail.body_text).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    newcomer = UserFactory(email="new@rev.example.edu")
    client.force_login(newcomer)
    assert client.post(path).status_code == 302
    assert permissions.has_role(newcomer, permissions.Role.REVIEWER)
    assert services.pool_of(s["rfp"]).filter(pk=newcomer.pk).exists()
    # MFA is then required before any reviewer page.
    assert client.get(reverse("reviewer_home")).url == reverse("mfa_index")


def test_staff_auto_assign_preview_then_apply(client, evaluation_setup, staff):
    s = evaluation_setup
    open_now(s["rfp"])
    client.force_login(staff)
    url = reverse("staff_evaluation", args=[s["rfp"].slug])
    preview = client.get(url + "?auto-per_proposal=2").content.decode()
    assert "Proposed assignments" in preview and "Alpha proposal →" in preview
    assert not Assignment.objects.exists()
    client.post(reverse("staff_auto_assign", args=[s["rfp"].slug]), {"auto-per_proposal": 2})
    assert Assignment.objects.count() == 4
    loads = [Assignment.objects.filter(reviewer=r).count() for r in s["reviewers"]]
    assert max(loads) - min(loads) <= 1


def test_clarification_thread_between_evaluator_and_team_only(
    client, evaluation_setup, staff, django_capture_on_commit_callbacks
):
    from django.core import mail

    from evaluation.models import Message

    s = evaluation_setup
    reviewer = s["reviewers"][0]
    assignment = s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    url = reverse("proposal_clarifications", args=[s["alpha"].pk])
    client.force_login(reviewer)
    assert client.get(url).status_code == 404  # no conflict declared yet
    declare_no_conflict(assignment, reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"text": "Who does the TUF work?"})
    assert any(s["alpha_owner"].email in m.to for m in mail.outbox)
    client.force_login(s["alpha_owner"])
    page = client.get(url).content.decode()
    assert "Who does the TUF work?" in page and reviewer.email not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"text": "Our lead maintainer."})
    assert Message.objects.filter(from_team=True).count() == 1
    assert any(reviewer.email in m.to for m in mail.outbox)
    client.force_login(s["reviewers"][1])  # not assigned
    assert client.get(url).status_code == 404
    other_owner = s["beta"].owner
    client.force_login(other_owner)
    assert client.get(url).status_code == 404
    assert AuditEvent.objects.filter(action="clarification.access_refused").count() == 3


def test_discussion_only_after_submitting_own_review(client, evaluation_setup, staff):
    s = evaluation_setup
    reviewer, assignment = ready_to_review(s, staff)
    client.force_login(reviewer)
    url = reverse("review_discussion", args=[s["alpha"].pk])
    assert client.post(url, {"text": "Early thoughts"}).status_code == 404
    save_review(assignment, reviewer, assessments(s["rfp"]), submit=True)
    assert client.post(url, {"text": "After my review"}).status_code == 302
    page = client.get(reverse("review", args=[s["alpha"].pk])).content.decode()
    assert "After my review" in page


def test_blind_assignment_before_opening_shows_counts_not_titles(client, evaluation_setup, staff):
    s = evaluation_setup
    client.force_login(staff)
    url = reverse("staff_evaluation", args=[s["rfp"].slug])
    page = client.get(url + "?auto-per_proposal=1").content.decode()
    assert "2 proposals are submitted so far" in page and "1 new assignment" not in page
    assert "Alpha proposal" not in page and "Beta proposal" not in page
    client.post(reverse("staff_auto_assign", args=[s["rfp"].slug]), {"auto-per_proposal": 1})
    assert Assignment.objects.count() == 2
    reviewer = Assignment.objects.first().reviewer
    client.force_login(reviewer)
    queue = client.get(reverse("reviewer_home")).content.decode()
    assert "No proposals are assigned to you yet" in queue
    assert "Alpha proposal" not in queue and "Beta proposal" not in queue


def test_review_autosave_saves_drafts_and_never_touches_a_submitted_review(
    client, evaluation_setup, staff
):
    s = evaluation_setup
    reviewer, assignment = ready_to_review(s, staff)
    client.force_login(reviewer)
    experience = s["rfp"].criteria.get(key="experience")
    url = reverse("review_autosave", args=[s["alpha"].pk])
    body = client.post(url, {f"c{experience.pk}": "4", "overall_comment": "typing"}).content
    assert b"saved automatically" in body
    review = Review.objects.get()
    assert review.state == "draft" and review.overall_comment == "typing"
    assert review.assessments.get(criterion=experience).score == 4
    save_review(assignment, reviewer, assessments(s["rfp"]), submit=True, comment="final")
    body = client.post(url, {"overall_comment": "changed"}).content
    assert b"only by submitting again" in body
    review.refresh_from_db()
    assert review.overall_comment == "final" and review.state == "submitted"


def test_opening_tells_reviewers_assigned_before_it_once(evaluation_setup, staff):
    from rfp_portal.models import OutboxMessage

    s = evaluation_setup
    reviewer = s["reviewers"][0]
    services.assign(proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now())
    services.assign(proposal=s["beta"], reviewer=reviewer, staff_user=staff, now=timezone.now())
    open_now(s["rfp"])
    open_now(s["rfp"])
    opened = OutboxMessage.objects.filter(template="proposals/email/opened")
    assert [m.to for m in opened] == [reviewer.email]
