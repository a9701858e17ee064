"""Reviewing through the product's services: a reviewer with a second factor, a declaration of
no conflict, the assessments of every criterion, and a saved (or submitted) review."""

from collections.abc import Callable, Mapping

from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from evaluation import services
from rfp_portal import permissions
from tests.factories import UserFactory
from tests.helpers.mfa import TOTP_SECRET
from tests.helpers.proposals import open_now


def make_reviewer(email, organisation=""):
    user = UserFactory(email=email, organisation=organisation, roles=[permissions.Role.REVIEWER])
    TOTP.activate(user, TOTP_SECRET)
    return user


def declare_no_conflict(assignment, reviewer):
    return services.declare_conflict(
        assignment=assignment, user=reviewer, conflict=False, reason="", now=timezone.now()
    )


def ready_to_review(setup, staff):
    """The evaluation setup's first reviewer assigned to Alpha, the RFP opened, and no conflict
    declared: (the reviewer, the assignment)."""
    reviewer = setup["reviewers"][0]
    assignment = setup["assign"](setup["alpha"], reviewer, staff)
    open_now(setup["rfp"])
    declare_no_conflict(assignment, reviewer)
    return reviewer, assignment


def submit_reviews(setup, staff, scores):
    """The evaluation setup's RFP opened, then for each proposal of `scores` (a proposal to one
    score per reviewer, in the order of the setup's reviewers) each of those reviewers assigned
    by staff, no conflict declared, and a review submitted that gives every scored criterion the
    reviewer's score and passes every gate."""
    rfp = setup["rfp"]
    open_now(rfp)
    for proposal, by_reviewer in scores.items():
        reviewers = setup["reviewers"][: len(by_reviewer)]
        for reviewer, score in zip(reviewers, by_reviewer, strict=True):
            assignment = setup["assign"](proposal, reviewer, staff)
            declare_no_conflict(assignment, reviewer)
            save_review(assignment, reviewer, assessments(rfp, score), submit=True)


def save_review(assignment, reviewer, assessments, *, submit=False, comment="", now=None):
    """The review saved (submitted with `submit`) at `now`, by default the present instant."""
    return services.save_review(
        assignment=assignment,
        user=reviewer,
        assessments=assessments,
        overall_comment=comment,
        submit=submit,
        now=now or timezone.now(),
    )


def assessments(
    rfp,
    score: int = 4,
    *,
    scores: Mapping[str, int] | None = None,
    verdict: str = "pass",
    comment: str | Callable = "",
) -> list[services.AssessmentInput]:
    """An assessment of each of the RFP's criteria: `verdict` for a gate, `score` for a scored
    one unless `scores` (criterion key to score) names it; `comment` is the text, or a function
    of the criterion that gives it."""
    scores = scores or {}
    return [
        services.AssessmentInput(
            criterion=c,
            score=None if c.is_gate else scores.get(c.key, score),
            verdict=verdict if c.is_gate else "",
            comment=comment(c) if callable(comment) else comment,
        )
        for c in rfp.criteria.all()
    ]
