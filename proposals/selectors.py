"""Reads of RFPs that depend on who is asking and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from proposals import rules
from proposals.budget import total_limit
from proposals.models import RFP, Feature, Milestone, Proposal, SubmissionVersion
from rfp_portal import audit, permissions
from rfp_portal.audit import AuditAction
from rfp_portal.formatting import money


def published_rfps() -> QuerySet[RFP]:
    return RFP.objects.filter(status=RFP.Status.PUBLISHED)


def rfps_visible_to(user) -> QuerySet[RFP]:
    if rules.can_manage_rfps(user):
        return RFP.objects.all()
    return published_rfps()


@dataclass(frozen=True)
class RFPListing:
    open: list[RFP]
    upcoming: list[RFP]
    past: list[RFP]


def rfp_listing(*, now: datetime) -> RFPListing:
    """Published RFPs, grouped as the home page shows them."""
    open_, upcoming, past = [], [], []
    for rfp in published_rfps().order_by("deadline_instant"):
        if rfp.submissions_open_at and now < rfp.submissions_open_at:
            upcoming.append(rfp)
        elif rfp.accepts_submissions_at(now):
            open_.append(rfp)
        else:
            past.append(rfp)
    past.sort(key=lambda r: r.deadline_instant, reverse=True)
    return RFPListing(open=open_, upcoming=upcoming, past=past)


def rfp_for_page(user, slug: str) -> RFP:
    """An RFP with everything its page shows, or 404 if the user may not see it."""
    rfp = (
        rfps_visible_to(user)
        .prefetch_related(
            "timeline",
            "elements",
            "criteria",
            Prefetch(
                "milestones",
                queryset=Milestone.objects.prefetch_related(
                    Prefetch("features", queryset=Feature.objects.order_by("position", "id"))
                ),
            ),
        )
        .filter(slug=slug)
        .first()
    )
    if rfp is None:
        raise Http404
    return rfp


@dataclass(frozen=True)
class ScopeTotals:
    budget: Decimal
    cap: Decimal
    # What all awards together may come to (budget.total_limit): the RFP's own total cap if it
    # publishes one, else the sum of the feature budgets.
    overall_cap: Decimal


def scope_totals(rfp: RFP) -> ScopeTotals:
    """Totals over the prefetched milestones and features (no extra queries)."""
    budget = Decimal(0)
    cap = Decimal(0)
    for milestone in rfp.milestones.all():
        for feature in milestone.features.all():
            budget += feature.budget
            cap += feature.cap
    return ScopeTotals(budget=budget, cap=cap, overall_cap=total_limit(budget, rfp.total_cap))


# --- Proposals ------------------------------------------------------------------------------


def proposals_of(user):
    """The user's own proposals (as owner or co-author), newest first, with what lists show."""
    from proposals.models import Proposal

    if not user.is_authenticated:
        return Proposal.objects.none()
    return (
        Proposal.objects.filter(members__user=user)
        .select_related("rfp")
        .prefetch_related("versions")
        .order_by("-updated_at")
    )


def team_proposal(request, pk: int):
    """A proposal the requester is on the team of, or 404 (and an audit event: no guessing)."""
    proposal = (
        Proposal.objects.select_related("rfp")
        .annotate(viewer_team_role=rules.team_role_subquery(request.user))
        .filter(pk=pk)
        .first()
    )
    if proposal is not None:
        rules.remember_team_role(proposal, request.user, proposal.viewer_team_role)
    if proposal is None or not rules.is_on_team(request.user, proposal):
        raise audit.refuse(
            request,
            AuditAction.PROPOSAL_ACCESS_REFUSED,
            details={"path": request.path, "proposal_id": pk},
        )
    return proposal


def team_version(request, pk: int, number: int):
    """A submission version of one of the requester's team's proposals, or 404 (audited).

    For what only the team gets, such as the receipt: evaluators read versions, not receipts.
    """
    proposal = team_proposal(request, pk)
    version = (
        proposal.versions.select_related("proposal__rfp", "submitted_by")
        .filter(number=number)
        .first()
    )
    if version is None:
        raise Http404
    return version


def readable_version(request, pk: int, number: int):
    """A submission version the requester may read (team; staff once opened), or 404.

    Reads by anyone outside the team are audit events (rule 9).
    """
    version = (
        SubmissionVersion.objects.select_related("proposal__rfp", "submitted_by")
        .annotate(viewer_team_role=rules.team_role_subquery(request.user, "proposal_id"))
        .filter(proposal_id=pk, number=number)
        .first()
    )
    if version is not None:
        rules.remember_team_role(version.proposal, request.user, version.viewer_team_role)
    if version is None or not rules.can_read_submissions(request.user, version.proposal):
        raise audit.refuse(
            request,
            AuditAction.PROPOSAL_ACCESS_REFUSED,
            details={"path": request.path, "proposal_id": pk},
        )
    if not rules.is_on_team(request.user, version.proposal):
        audit.record(
            action=AuditAction.PROPOSAL_VERSION_VIEWED,
            request=request,
            obj=version.proposal,
            details={"version": version.number, "path": request.path},
        )
    return version


def proposal_counts(rfp_ids) -> dict[int, dict[str, int]]:
    """Counts per RFP and state: what staff may see of sealed RFPs."""
    from django.db.models import Count

    from proposals.models import Proposal

    counts: dict[int, dict[str, int]] = {}
    rows = (
        Proposal.objects.filter(rfp_id__in=rfp_ids)
        .values("rfp_id", "state")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts.setdefault(row["rfp_id"], {})[row["state"]] = row["n"]
    return counts


def proposals_visible_to(user):
    """Proposals whose content the user may read: their team's, and (staff) opened RFPs'."""
    from django.db.models import Q

    from proposals.models import Proposal

    if not user.is_authenticated:
        return Proposal.objects.none()
    own = Q(members__user=user)
    if permissions.is_staff_member(user):
        opened = Q(rfp__opened_at__isnull=False) | Q(rfp__sealed=False)
        return Proposal.objects.filter(own | opened).distinct()
    return Proposal.objects.filter(own).distinct()


def readable_answers(rfp, fields: dict) -> list[dict]:
    """A version's answers laid out by element, with feature names, for display."""
    from proposals.models import Feature, ProposalElement

    features = {
        str(f.pk): f for f in Feature.objects.filter(milestone__rfp=rfp).select_related("milestone")
    }
    milestones = {str(m.pk): m.name for m in rfp.milestones.all()}
    rows = []
    for element in rfp.elements.all():
        value = fields.get(element.key)
        row = {"element": element, "kind": element.kind, "value": value, "names": [], "items": []}
        if element.kind == ProposalElement.Kind.MILESTONE_CHOICE:
            row["names"] = [milestones.get(str(m), str(m)) for m in value or []]
        elif isinstance(value, dict):
            amounts = element.kind == ProposalElement.Kind.PER_FEATURE_AMOUNT
            row["items"] = [
                (
                    features[fid].name if fid in features else fid,
                    money(text, rfp.currency) if amounts else text,
                )
                for fid, text in value.items()
                if str(text).strip()
            ]
        rows.append(row)
    return rows


def open_question_counts(rfp_ids) -> dict[int, int]:
    from django.db.models import Count

    from proposals.models import Question

    rows = (
        Question.objects.filter(rfp_id__in=rfp_ids, state=Question.State.OPEN)
        .values("rfp_id")
        .annotate(n=Count("id"))
    )
    return {row["rfp_id"]: row["n"] for row in rows}


def published_answers(rfp):
    from proposals.models import Question

    return rfp.questions.filter(state=Question.State.ANSWERED).order_by("answered_at")


def questions_of(rfp, user):
    if not user.is_authenticated:
        return rfp.questions.none()
    return rfp.questions.filter(asker=user).order_by("-asked_at")
