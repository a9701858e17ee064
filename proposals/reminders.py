"""Deadline and review reminders, each sent exactly once per (person, RFP, offset, instant).

A sweep (Celery beat, or `manage.py send_reminders`) looks at every open RFP. For each person
concerned, the offsets whose moment has come are considered; only the latest of them is sent
and the earlier ones are recorded as skipped, so someone who registers three days before the
deadline gets a "2 days left" reminder, not a stale "7 days left" one. After a deadline
extension the instant differs, so reminders for the new instant go out; an offset whose moment
for the new instant has already passed with a later one due is skipped, never sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from proposals.models import RFP, Proposal, Reminder
from rfp_portal import deadlines, outbox

REVIEW_OFFSETS = [2 * 86_400, 86_400]


@dataclass(frozen=True)
class Planned:
    rfp: RFP
    user: object
    kind: str
    offset_seconds: int
    due_instant: datetime
    skipped_offsets: tuple[int, ...]


def describe_offset(seconds: int) -> str:
    if seconds % 86_400 == 0:
        days = seconds // 86_400
        return ngettext("%(n)s day", "%(n)s days", days) % {"n": days}
    hours = max(1, seconds // 3_600)
    return ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours}


def _due_offset(offsets: list[int], due: datetime, now: datetime) -> tuple[int | None, tuple]:
    """The latest offset whose moment has come (and the earlier ones, to skip)."""
    reached = sorted((o for o in offsets if due - timedelta(seconds=o) <= now < due), reverse=True)
    if not reached:
        return None, ()
    return reached[-1], tuple(reached[:-1])


def deadline_recipients(rfp: RFP):
    """Teams with an unsubmitted draft, and people who registered interest without a
    submission of their own."""
    from rfp_portal.models import User

    submitted = Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED)
    drafting = User.objects.filter(
        proposal_memberships__proposal__rfp=rfp,
        proposal_memberships__proposal__state__in=[
            Proposal.State.DRAFT,
            Proposal.State.WITHDRAWN,
        ],
    )
    interested = User.objects.filter(interests__rfp=rfp).exclude(
        proposal_memberships__proposal__in=submitted
    )
    # Two pk__in subqueries, not a .union(): SQLite refuses ordered querysets in a compound
    # statement, and this form runs on both databases.
    return User.objects.filter(
        Q(pk__in=drafting.values("pk")) | Q(pk__in=interested.values("pk"))
    ).order_by("pk")


def review_recipients(rfp: RFP):
    from evaluation.models import Assignment
    from rfp_portal.models import User

    pending = Assignment.objects.filter(
        proposal__rfp=rfp, removed_at__isnull=True, conflict__in=["undeclared", "none"]
    ).exclude(review__state="submitted")
    return User.objects.filter(pk__in=pending.values("reviewer_id")).order_by("pk")


def plan(*, now: datetime) -> list[Planned]:
    """Who would get which reminder now (without sending anything)."""
    from evaluation.services import review_due_instant

    planned: list[Planned] = []
    done = set(
        Reminder.objects.filter(due_instant__gt=now - timedelta(days=60)).values_list(
            "rfp_id", "user_id", "kind", "offset_seconds", "due_instant"
        )
    )
    for rfp in RFP.objects.filter(status=RFP.Status.PUBLISHED, opened_at__isnull=True):
        offset, skipped = _due_offset(rfp.reminder_offsets or [], rfp.deadline_instant, now)
        if offset is not None:
            for user in deadline_recipients(rfp):
                key = (rfp.pk, user.pk, Reminder.Kind.DEADLINE, offset, rfp.deadline_instant)
                if key not in done:
                    planned.append(
                        Planned(
                            rfp, user, Reminder.Kind.DEADLINE, offset, rfp.deadline_instant, skipped
                        )
                    )
    for rfp in RFP.objects.filter(opened_at__isnull=False, review_due__isnull=False):
        due = review_due_instant(rfp)
        offset, skipped = _due_offset(REVIEW_OFFSETS, due, now)
        if offset is None:
            continue
        for user in review_recipients(rfp):
            key = (rfp.pk, user.pk, Reminder.Kind.REVIEW, offset, due)
            if key not in done:
                planned.append(Planned(rfp, user, Reminder.Kind.REVIEW, offset, due, skipped))
    return planned


def _send(item: Planned, now: datetime) -> bool:
    """Record and queue one reminder; False if another sweep got there first."""
    try:
        with transaction.atomic():
            Reminder.objects.create(
                rfp=item.rfp,
                user=item.user,
                kind=item.kind,
                offset_seconds=item.offset_seconds,
                due_instant=item.due_instant,
                created_at=now,
            )
            for skipped in item.skipped_offsets:
                Reminder.objects.get_or_create(
                    rfp=item.rfp,
                    user=item.user,
                    kind=item.kind,
                    offset_seconds=skipped,
                    due_instant=item.due_instant,
                    defaults={"skipped": True, "created_at": now},
                )
            zone = (
                item.user.time_zone if deadlines.is_valid_zone(item.user.time_zone or "") else None
            )
            ctx = {
                "rfp": item.rfp,
                "user": item.user,
                "left": describe_offset(item.offset_seconds),
                "views": deadlines.deadline_views(item.due_instant, zone),
                "site_url": settings.SITE_URL,
            }
            template = (
                "proposals/email/deadline_reminder"
                if item.kind == Reminder.Kind.DEADLINE
                else "proposals/email/review_reminder"
            )
            subject = (
                _("%(left)s left: %(title)s")
                if item.kind == Reminder.Kind.DEADLINE
                else _("Reviews due in %(left)s: %(title)s")
            ) % {"left": ctx["left"], "title": item.rfp.title}
            outbox.queue_mail(
                to=item.user.email,
                subject="[RFP Portal] " + subject,
                body_text=render_to_string(f"{template}.txt", ctx),
                template=template,
                idempotency_key=(
                    f"reminder:{item.kind}:{item.rfp.pk}:{item.user.pk}:{item.offset_seconds}:"
                    f"{deadlines.to_utc_iso(item.due_instant)}"
                ),
                rfp=item.rfp,
                # A deadline reminder goes to teams with a draft and to the interested who have
                # not submitted: who gets one, and who does not, tells who bid.
                about_bidder=item.kind == Reminder.Kind.DEADLINE,
            )
    except IntegrityError:
        return False
    return True


def send_due(*, now: datetime) -> int:
    """Send every reminder due now; safe to run concurrently and repeatedly."""
    return sum(_send(item, now) for item in plan(now=now))
