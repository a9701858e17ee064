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


# --- A panel whose reviewers differ in leniency (calibration is usable) --------------------------

SCORED = ("experience", "cost", "process")
# Each reviewer (index in the setup's pool) reads three of the four proposals; the first is a
# point more generous than the second, the third a point harsher.
PANELS = {0: (0, 1, 2), 1: (1, 2, 3), 2: (0, 2, 3)}
BASE = {0: 4, 1: 2, 2: 3, 3: 1}
LENIENT = {0: 1, 1: 0, 2: -1}


def biased_panel(s, staff, *, deadline_passed: bool = False):
    """The evaluation setup's RFP with Gamma and Delta besides Alpha and Beta, each read by
    three reviewers of different leniency (PANELS), opened (after its deadline with
    `deadline_passed`) and every review submitted: (the four proposals read again, in PANELS'
    order, and the assignments by (reviewer index, proposal index))."""
    from tests.factories import UserFactory
    from tests.helpers.lifecycle import pass_deadline
    from tests.helpers.proposals import submitted_proposal

    rfp = s["rfp"]
    gamma = submitted_proposal(rfp, UserFactory(email="gamma@gamma.example.io"), "Gamma")
    delta = submitted_proposal(rfp, UserFactory(email="delta@delta.example.io"), "Delta")
    proposals = [s["alpha"], s["beta"], gamma, delta]
    assigned = {
        (r, p): s["assign"](proposals[p], s["reviewers"][r], staff)
        for r, panel in PANELS.items()
        for p in panel
    }
    if deadline_passed:
        pass_deadline(rfp)
    open_now(rfp)
    for (r, p), assignment in assigned.items():
        reviewer = s["reviewers"][r]
        declare_no_conflict(assignment, reviewer)
        scores = {
            key: max(0, min(5, BASE[p] + LENIENT[r] + offset)) for offset, key in enumerate(SCORED)
        }
        save_review(assignment, reviewer, assessments(rfp, scores=scores), submit=True)
    # Read again: the instances assigned above remember the RFP as it was before opening.
    from proposals.models import Proposal

    return [Proposal.objects.get(pk=p.pk) for p in proposals], assigned
