"""Who may do what in the evaluation (rule 5): assignments, conflicts, who reads reviews,
clarifications and the discussion. Views, selectors and services ask here; sealing and the
team are proposals.rules', roles and MFA rfp_portal.permissions'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evaluation.models import Assignment, Review
from proposals.rules import is_on_team, is_sealed
from rfp_portal import deadlines
from rfp_portal.permissions import is_reviewer, is_staff_member

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AnonymousUser

    from proposals.models import RFP, Proposal
    from rfp_portal.models import User

    AnyUser = User | AnonymousUser


def assignment_of(user: AnyUser, proposal: Proposal) -> Assignment | None:
    """The user's active assignment to this proposal, or None (read once per object)."""
    if not user.is_authenticated:
        return None
    cache = proposal.__dict__.setdefault("_portal_assignments", {})
    if user.pk not in cache:
        cache[user.pk] = (
            Assignment.objects.filter(proposal=proposal, reviewer=user, removed_at__isnull=True)
            .select_related("proposal__rfp")
            .first()
        )
    return cache[user.pk]


def can_declare_conflict(user: AnyUser, proposal: Proposal) -> bool:
    return (
        is_reviewer(user)
        and not is_sealed(proposal.rfp)
        and assignment_of(user, proposal) is not None
    )


def can_review(user: AnyUser, proposal: Proposal) -> bool:
    """Assigned, active, opened, and declared no conflict: only then is content shown."""
    if not is_reviewer(user) or is_sealed(proposal.rfp):
        return False
    assignment = assignment_of(user, proposal)
    return assignment is not None and assignment.conflict == Assignment.Conflict.NONE


def review_closed_since(rfp: RFP, review: Review | None, now: datetime) -> datetime | None:
    """The instant a reviewer's review closed, or None while it may still be written.

    A review closes at the RFP's review due instant (the end of its review due date, AoE);
    staff can reopen one (services.reopen_review), which lets the reviewer edit it again until
    they submit it. The one rule the save refuses by (services.save_review) and the review page
    and queue show."""
    due = deadlines.review_due_instant(rfp.review_due)
    if due is None or (review is not None and review.reopened_at is not None):
        return None
    return None if deadlines.is_before_deadline(now, due) else due


def can_see_other_reviews(user: AnyUser, proposal: Proposal) -> bool:
    """Staff always (after opening); a reviewer after submitting their own, unless the RFP
    lets reviewers see others' reviews first."""
    if is_sealed(proposal.rfp):
        return False
    if is_staff_member(user):
        return True
    if not can_review(user, proposal):
        return False
    if proposal.rfp.reviewers_see_others_first:
        return True
    return Review.objects.filter(
        assignment=assignment_of(user, proposal), state=Review.State.SUBMITTED
    ).exists()


def is_evaluator_of(user: AnyUser, proposal: Proposal) -> bool:
    """Staff (after opening) or an assigned reviewer who declared no conflict."""
    if is_sealed(proposal.rfp):
        return False
    return is_staff_member(user) or can_review(user, proposal)


def can_use_clarifications(user: AnyUser, proposal: Proposal) -> bool:
    """The private thread between evaluators and one team (after the deadline)."""
    return is_evaluator_of(user, proposal) or (
        is_on_team(user, proposal) and not is_sealed(proposal.rfp)
    )


def can_discuss(user: AnyUser, proposal: Proposal) -> bool:
    """The evaluators' discussion: staff, and reviewers once they may see others' reviews."""
    return can_see_other_reviews(user, proposal)
