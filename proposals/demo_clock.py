"""Demo only: let a demo RFP's deadline pass now, so its evaluation can be tried at once.

The open demo RFP's deadline lies 14 days ahead of the day the demo was loaded. To walk the
reviewer and staff journeys without waiting, `manage.py demo_deadline_passes <slug>` moves the
deadline to the current minute (in UTC, no longer "end of day") and opens the RFP exactly as a
real deadline does (proposals.services.open_due_rfps). It refuses in production and for any RFP
that is not one of the demo's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import transaction

from proposals import demo, services
from proposals.models import RFP
from rfp_portal import audit, deadlines
from rfp_portal.audit import AuditAction

# A review due date that the move would leave at or before the new deadline is put this far
# after it, so reviewers have time (and the "review due" rules keep making sense).
REVIEW_PERIOD = timedelta(days=7)


class DemoClockRefused(Exception):
    """The deadline of this RFP may not be moved here (production, or not a demo RFP)."""


@dataclass(frozen=True)
class DeadlinePassed:
    rfp: RFP
    old_deadline: datetime
    new_deadline: datetime
    old_review_due: date | None
    review_due: date | None
    opened: bool


def demo_slugs() -> set[str]:
    """The slugs of the demo's RFP files (proposals/demo_data/rfps/*.toml)."""
    return {services.read_rfp_file(path)["slug"] for path in demo.demo_files()}


@transaction.atomic
def deadline_passes(*, slug: str, now: datetime, actor=None) -> DeadlinePassed:
    """Move the demo RFP's deadline to the minute `now` is in, then open due RFPs at `now`.

    The new deadline is the start of that minute (less the RFP's grace, so deadline + grace has
    passed too): compute_deadline() then gives an instant at or just before `now`, and opening
    follows the same rule as at a real deadline.
    """
    if settings.DJANGO_ENV == "production":
        raise DemoClockRefused(
            "Refused: DJANGO_ENV is production. Moving a deadline by command exists for the demo "
            "only; a real deadline changes only by addendum."
        )
    known = demo_slugs()
    if slug not in known:
        raise DemoClockRefused(
            f"Refused: {slug!r} is not a demo RFP (demo RFPs: {', '.join(sorted(known))})."
        )
    rfp = RFP.objects.select_for_update().filter(slug=slug).first()
    if rfp is None:
        raise DemoClockRefused(f"The demo RFP {slug!r} is not loaded: run manage.py load_demo.")
    if not rfp.is_published:
        raise DemoClockRefused(f"The demo RFP {slug!r} is not published; nothing to open.")
    if rfp.opened_at is not None:
        raise DemoClockRefused(
            f"The deadline of {slug!r} has passed already: it was opened at "
            f"{deadlines.to_utc_iso(rfp.opened_at)}."
        )

    old_deadline = rfp.deadline_instant
    old_review_due = rfp.review_due
    moment = (now - timedelta(seconds=rfp.grace_seconds)).astimezone(UTC)
    moment = moment.replace(second=0, microsecond=0)
    rfp.deadline_zone = deadlines.UTC_ZONE_NAME
    rfp.deadline_end_of_day = False
    rfp.deadline_date = moment.date()
    rfp.deadline_time = moment.time().replace(tzinfo=None)
    services.compute_deadline(rfp)
    if rfp.review_due is not None and rfp.review_due <= rfp.deadline_date:
        rfp.review_due = rfp.deadline_date + REVIEW_PERIOD
    rfp.save(
        update_fields=[
            "deadline_zone",
            "deadline_end_of_day",
            "deadline_date",
            "deadline_time",
            "deadline_instant",
            "review_due",
            "updated_at",
        ]
    )
    audit.record(
        action=AuditAction.RFP_DEMO_DEADLINE_MOVED,
        actor=actor,
        obj=rfp,
        at=now,
        details={
            "old_deadline_utc": deadlines.to_utc_iso(old_deadline),
            "new_deadline_utc": deadlines.to_utc_iso(rfp.deadline_instant),
            "review_due": rfp.review_due.isoformat() if rfp.review_due else None,
        },
    )
    opened = services.open_due_rfps(now=now)
    rfp.refresh_from_db()
    return DeadlinePassed(
        rfp=rfp,
        old_deadline=old_deadline,
        new_deadline=rfp.deadline_instant,
        old_review_due=old_review_due,
        review_due=rfp.review_due,
        opened=any(o.pk == rfp.pk for o in opened),
    )
