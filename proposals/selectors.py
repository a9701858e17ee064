"""Reads of RFPs that depend on who is asking and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from proposals.models import RFP, Feature, Milestone
from rfp_portal import permissions


def published_rfps() -> QuerySet[RFP]:
    return RFP.objects.filter(status=RFP.Status.PUBLISHED)


def rfps_visible_to(user) -> QuerySet[RFP]:
    if permissions.can_manage_rfps(user):
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
    # The RFP's own overall cap if it publishes one, else the sum of feature caps.
    overall_cap: Decimal


def scope_totals(rfp: RFP) -> ScopeTotals:
    """Totals over the prefetched milestones and features (no extra queries)."""
    budget = Decimal(0)
    cap = Decimal(0)
    for milestone in rfp.milestones.all():
        for feature in milestone.features.all():
            budget += feature.budget
            cap += feature.cap
    return ScopeTotals(budget=budget, cap=cap, overall_cap=rfp.total_cap or cap)
