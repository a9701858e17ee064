"""Reads of the evaluation that depend on who asks (rule 5 lives in evaluation.rules)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from evaluation import rules
from evaluation.models import (
    Assessment,
    Assignment,
    Decision,
    Export,
    Review,
    ReviewerInvitation,
)
from proposals import rules as proposal_rules
from proposals.models import RFP, Feature, Proposal, SubmissionVersion
from rfp_portal import audit, permissions
from rfp_portal.audit import AuditAction


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
    return [a for a in rows if not proposal_rules.is_sealed(a.proposal.rfp)]


def review_of(assignment: Assignment) -> Review | None:
    try:
        return assignment.review
    except Review.DoesNotExist:
        return None


def assessments_of(review: Review) -> QuerySet[Assessment]:
    """A review's assessments with their criterion, in the RFP's order of criteria."""
    return review.assessments.select_related("criterion").order_by("criterion__position")


def assignment_for(request, proposal_id: int) -> Assignment:
    """The requester's own active assignment to a proposal, or 404 (and an audit event)."""
    proposal = Proposal.objects.select_related("rfp").filter(pk=proposal_id).first()
    assignment = (
        rules.assignment_of(request.user, proposal)
        if proposal is not None and permissions.is_reviewer(request.user)
        else None
    )
    if assignment is None or proposal_rules.is_sealed(proposal.rfp):
        raise audit.refuse(
            request,
            AuditAction.REVIEW_ACCESS_REFUSED,
            details={"path": request.path, "proposal_id": proposal_id},
        )
    return assignment


def latest_version(proposal: Proposal) -> SubmissionVersion | None:
    return proposal.versions.order_by("-number").first()


def other_reviews(user, proposal: Proposal) -> list[Review]:
    """Submitted reviews of others, only if the user may see them (rule 5)."""
    if not rules.can_see_other_reviews(user, proposal):
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
    if proposal is None or not rules.can_use_clarifications(request.user, proposal):
        raise audit.refuse(
            request,
            AuditAction.CLARIFICATION_ACCESS_REFUSED,
            details={"path": request.path, "proposal_id": pk},
        )
    return proposal


def discussion_proposal(request, proposal_id: int) -> Proposal:
    """A proposal whose evaluators' discussion the requester may join, or 404 (audited if the
    proposal exists)."""
    proposal = get_object_or_404(Proposal.objects.select_related("rfp"), pk=proposal_id)
    if not rules.can_discuss(request.user, proposal):
        raise audit.refuse(
            request, AuditAction.DISCUSSION_ACCESS_REFUSED, details={"proposal_id": proposal_id}
        )
    return proposal


def team_of(proposal: Proposal):
    """The proposal's team members with their accounts (the conflict page names them)."""
    return proposal.members.select_related("user")


# --- Staff: an RFP the staff member may see (proposals.selectors.rfp_for_page) ---------------


def assignments_by_proposal(rfp: RFP) -> dict[int, list[Assignment]]:
    """The RFP's assignments with their reviewer and review, by proposal id."""
    assignments = (
        Assignment.objects.filter(proposal__rfp=rfp)
        .select_related("reviewer", "proposal")
        .prefetch_related("review")
        .order_by("proposal_id", "reviewer__email")
    )
    by_proposal: dict[int, list[Assignment]] = {}
    for assignment in assignments:
        by_proposal.setdefault(assignment.proposal_id, []).append(assignment)
    return by_proposal


def pending_invitations(rfp: RFP) -> QuerySet[ReviewerInvitation]:
    """Reviewer invitations of the RFP not accepted yet."""
    return rfp.reviewer_invitations.filter(accepted_at__isnull=True)


def review_in(rfp: RFP, review_id: int) -> Review:
    """A review of one of the RFP's proposals, or 404."""
    return get_object_or_404(
        Review.objects.select_related("assignment__proposal", "assignment__reviewer"),
        pk=review_id,
        assignment__proposal__rfp=rfp,
    )


def decidable_proposal(rfp: RFP, proposal_id: int) -> Proposal:
    """A submitted proposal of an opened RFP, to decide on, or 404."""
    proposal = get_object_or_404(
        Proposal.objects.select_related("rfp"),
        pk=proposal_id,
        rfp=rfp,
        state=Proposal.State.SUBMITTED,
    )
    if proposal_rules.is_sealed(rfp):
        raise Http404
    return proposal


def decision_of(proposal: Proposal) -> Decision | None:
    try:
        return proposal.decision
    except Decision.DoesNotExist:
        return None


def award_features(rfp: RFP) -> list[Feature]:
    """The features a decision can award, in the order the RFP lists them."""
    return list(
        Feature.objects.filter(milestone__rfp=rfp).order_by("milestone__position", "position")
    )


def recent_exports(rfp: RFP, *, limit: int = 30) -> QuerySet[Export]:
    return rfp.exports.select_related("requested_by")[:limit]


def export_in(rfp: RFP, export_id: int) -> Export:
    """One of the RFP's exports, or 404."""
    return get_object_or_404(rfp.exports, pk=export_id)


def downloadable_export(request, rfp: RFP, export_id: int) -> Export:
    """A finished export of an opened RFP, with its file, or 404; the download is audited."""
    export = get_object_or_404(rfp.exports, pk=export_id, state=Export.State.DONE)
    if proposal_rules.is_sealed(rfp) or not export.file:
        raise Http404
    audit.record(
        action=AuditAction.EXPORT_DOWNLOADED,
        request=request,
        obj=rfp,
        details={"export": export.pk, "kind": export.kind},
    )
    return export
