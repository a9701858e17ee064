"""Every write to RFPs: creating, saving (the deadline instant is computed here), publishing,
opening at the cut-off (rule 2), and loading an RFP described as TOML (the demo data and tests
use the same loader)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from proposals import signals
from proposals.models import (
    DEFAULT_SCALE_ANCHORS,
    RFP,
    Criterion,
    Feature,
    Milestone,
    Proposal,
    ProposalElement,
    TimelineEntry,
)
from rfp_portal import audit, deadlines
from rfp_portal.audit import AuditAction


def compute_deadline(rfp: RFP) -> datetime:
    """The one way an RFP's deadline instant is set: from date + zone (+ end of day)."""
    rfp.deadline_instant = deadlines.deadline_instant(
        rfp.deadline_date,
        rfp.deadline_zone,
        end_of_day=rfp.deadline_end_of_day,
        at=None if rfp.deadline_end_of_day else rfp.deadline_time,
    )
    return rfp.deadline_instant


@transaction.atomic
def save_rfp(*, rfp: RFP, actor: Any = None, request: Any = None) -> RFP:
    """Save an RFP's own fields (admin and staff forms call this), recomputing the deadline."""
    creating = rfp.pk is None
    was_published = (
        not creating and RFP.objects.filter(pk=rfp.pk, status=RFP.Status.PUBLISHED).exists()
    )
    compute_deadline(rfp)
    if rfp.is_published and rfp.published_at is None:
        rfp.published_at = timezone.now()
    rfp.full_clean()
    rfp.save()
    if rfp.is_published and not was_published:
        _announce(rfp, actor=actor, request=request)
    audit.record(
        action=AuditAction.RFP_CREATED if creating else AuditAction.RFP_SAVED,
        actor=actor,
        obj=rfp,
        request=request,
        details={"deadline_utc": deadlines.to_utc_iso(rfp.deadline_instant)},
    )
    return rfp


@transaction.atomic
def publish_rfp(*, rfp: RFP, actor: Any = None, request: Any = None, now: datetime) -> RFP:
    if rfp.is_published:
        return rfp
    rfp.status = RFP.Status.PUBLISHED
    rfp.published_at = now
    rfp.save(update_fields=["status", "published_at", "updated_at"])
    _announce(rfp, actor=actor, request=request)
    return rfp


def _announce(rfp: RFP, *, actor: Any, request: Any) -> None:
    from proposals.subscriptions import announce

    count = announce(rfp)
    audit.record(
        action=AuditAction.RFP_PUBLISHED,
        actor=actor,
        obj=rfp,
        request=request,
        details={"mailed": count},
    )


# --- Loading RFPs from TOML ----------------------------------------------------------------


class RFPFileError(ValueError):
    """A TOML description of an RFP is missing something or has a wrong value."""


@dataclass(frozen=True)
class LoadResult:
    rfp: RFP
    created: bool


def read_rfp_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RFPFileError(f"{path.name}: {exc}") from exc
    for key in ("slug", "title", "summary", "deadline", "milestones", "elements", "criteria"):
        if key not in data:
            raise RFPFileError(f"{path.name}: the key {key!r} is missing.")
    return data


def _month_start(text: str) -> date:
    year, month = text.split("-")
    return date(int(year), int(month), 1)


def _shift_month(day: date, delta: timedelta) -> date:
    shifted = day + delta
    return shifted.replace(day=1)


def demo_shift(data: dict[str, Any], *, today: date) -> timedelta:
    """How far an "open" demo RFP's dates move so its deadline lies open_days ahead."""
    demo = data.get("demo", {})
    if demo.get("state") != "open":
        return timedelta(0)
    deadline_day = date.fromisoformat(data["deadline"]["date"])
    return (today + timedelta(days=int(demo.get("open_days", 14)))) - deadline_day


@transaction.atomic
def load_rfp(data: dict[str, Any], *, shift: timedelta = timedelta(0), now: datetime) -> LoadResult:
    """Create an RFP with all its parts from a parsed TOML description.

    An RFP whose slug exists already is left exactly as it is (idempotent loading).
    """
    existing = RFP.objects.filter(slug=data["slug"]).first()
    if existing is not None:
        return LoadResult(existing, created=False)

    deadline = data["deadline"]
    try:
        zone = deadline.get("zone", deadlines.AOE_ZONE_NAME)
        deadlines.resolve_zone(zone)
        rfp = RFP(
            slug=data["slug"],
            title=data["title"],
            funder=data.get("funder", ""),
            issuer=data.get("issuer", ""),
            summary=data["summary"].strip(),
            body_markdown=data.get("body_markdown", "").strip(),
            currency=data.get("currency", "USD"),
            total_cap=Decimal(str(data["total_cap"])) if "total_cap" in data else None,
            deadline_date=date.fromisoformat(deadline["date"]) + shift,
            deadline_zone=zone,
            deadline_end_of_day=bool(deadline.get("end_of_day", True)),
            review_due=(date.fromisoformat(data["review_due"]) + shift)
            if data.get("review_due")
            else None,
            max_revisions=int(data.get("max_revisions", 3)),
            sealed=bool(data.get("sealed", True)),
            grace_seconds=int(data.get("grace_seconds", 0)),
            status=RFP.Status.PUBLISHED,
            published_at=now,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise RFPFileError(f"{data.get('slug', '?')}: {exc}") from exc
    save_rfp(rfp=rfp)

    for position, entry in enumerate(data.get("timeline", [])):
        if "month" in entry:
            when, precision = _shift_month(_month_start(entry["month"]), shift), "month"
        else:
            when, precision = date.fromisoformat(entry["date"]) + shift, "day"
        TimelineEntry.objects.create(
            rfp=rfp, date=when, precision=precision, label=entry["label"], position=position
        )
    for m_position, milestone_data in enumerate(data["milestones"]):
        milestone = Milestone.objects.create(
            rfp=rfp, name=milestone_data["name"], position=m_position
        )
        for f_position, feature in enumerate(milestone_data.get("features", [])):
            Feature.objects.create(
                milestone=milestone,
                name=feature["name"],
                budget=Decimal(str(feature["budget"])),
                cap=Decimal(str(feature["cap"])),
                tasks=list(feature.get("tasks", [])),
                position=f_position,
            )
    for position, element in enumerate(data["elements"]):
        ProposalElement.objects.create(
            rfp=rfp,
            key=element["key"],
            kind=element["kind"],
            label=element["label"],
            help=element.get("help", ""),
            required=bool(element.get("required", True)),
            position=position,
        )
    for position, criterion in enumerate(data["criteria"]):
        scored = criterion["kind"] == Criterion.Kind.SCORED
        Criterion.objects.create(
            rfp=rfp,
            key=criterion["key"],
            kind=criterion["kind"],
            name=criterion["name"],
            questions=list(criterion.get("questions", [])),
            # The PSF published no weights: equal weights unless the file says otherwise.
            weight=Decimal(str(criterion.get("weight", 1))) if scored else None,
            scale_min=int(criterion.get("scale_min", 0)),
            scale_max=int(criterion.get("scale_max", 5)),
            anchors={k: str(v) for k, v in DEFAULT_SCALE_ANCHORS.items()} if scored else {},
            position=position,
        )
    return LoadResult(rfp, created=True)


# --- Opening (rule 2) -----------------------------------------------------------------------


@transaction.atomic
def open_due_rfps(*, now: datetime) -> list[RFP]:
    """Open every RFP whose submission cut-off (deadline + grace) has passed.

    Opening at the cut-off, not the deadline, means no submission can arrive after opening.
    """
    opened = []
    for rfp in RFP.objects.select_for_update().filter(
        opened_at__isnull=True, status=RFP.Status.PUBLISHED
    ):
        if deadlines.is_before_deadline(now, rfp.deadline_instant, rfp.grace_seconds):
            continue
        rfp.opened_at = now
        rfp.save(update_fields=["opened_at", "updated_at"])
        audit.record(
            action=AuditAction.RFP_OPENED,
            obj=rfp,
            at=now,
            details={"submitted": rfp.proposals.filter(state=Proposal.State.SUBMITTED).count()},
        )
        # In this transaction: evaluation tells the reviewers assigned before opening.
        signals.rfp_opened.send(sender=RFP, rfp=rfp, now=now)
        opened.append(rfp)
    return opened
