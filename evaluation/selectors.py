"""Reads of the evaluation that depend on who asks (rule 5 lives in rfp_portal.permissions)."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404

from evaluation.models import Assessment, Assignment, Review
from proposals.models import Proposal, SubmissionVersion
from rfp_portal import audit, permissions


def queue_of(user) -> list[Assignment]:
    """The reviewer's active assignments on opened RFPs, with their review if any."""
    if not permissions.is_reviewer(user):
        return []
    rows = (
        Assignment.objects.filter(reviewer=user, removed_at__isnull=True)
        .select_related("proposal__rfp")
        .prefetch_related(Prefetch("review", queryset=Review.objects.all()))
        .order_by("proposal__rfp__review_due", "proposal_id")
    )
    # Assignments made before opening reveal nothing, not even that they exist.
    return [a for a in rows if not permissions.is_sealed(a.proposal.rfp)]


def review_of(assignment: Assignment) -> Review | None:
    try:
        return assignment.review
    except Review.DoesNotExist:
        return None


def assignment_for(request, proposal_id: int) -> Assignment:
    """The requester's own active assignment to a proposal, or 404 (and an audit event)."""
    proposal = Proposal.objects.select_related("rfp").filter(pk=proposal_id).first()
    assignment = (
        permissions.assignment_of(request.user, proposal)
        if proposal is not None and permissions.is_reviewer(request.user)
        else None
    )
    if assignment is None or permissions.is_sealed(proposal.rfp):
        audit.record(
            action="review.access_refused",
            request=request,
            details={"path": request.path, "proposal_id": proposal_id},
        )
        raise Http404
    return assignment


def latest_version(proposal: Proposal) -> SubmissionVersion | None:
    return proposal.versions.order_by("-number").first()


def other_reviews(user, proposal: Proposal) -> list[Review]:
    """Submitted reviews of others, only if the user may see them (rule 5)."""
    if not permissions.can_see_other_reviews(user, proposal):
        return []
    return list(
        Review.objects.filter(assignment__proposal=proposal, state=Review.State.SUBMITTED)
        .exclude(assignment__reviewer=user)
        .select_related("assignment__reviewer")
        .prefetch_related(
            Prefetch("assessments", queryset=Assessment.objects.select_related("criterion"))
        )
    )


def thread_proposal(request, pk: int) -> Proposal:
    """A proposal whose clarification thread the requester may use, or 404 (audited)."""
    proposal = Proposal.objects.select_related("rfp").filter(pk=pk).first()
    if proposal is None or not permissions.can_use_clarifications(request.user, proposal):
        audit.record(
            action="clarification.access_refused",
            request=request,
            details={"path": request.path, "proposal_id": pk},
        )
        raise Http404
    return proposal
