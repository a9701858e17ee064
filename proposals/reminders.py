"""Deadline reminders, and the rules every reminder follows: each is sent exactly once per
(person, RFP, offset, instant).

A sweep (Celery beat, or `manage.py send_reminders`) looks at every open RFP and sends these,
then the review reminders (evaluation.reminders, which uses the rules below). For each person
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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from proposals.models import RFP, Proposal, Reminder
from rfp_portal import deadlines, outbox
from rfp_portal.models import User


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


def due_offset(offsets: list[int], due: datetime, now: datetime) -> tuple[int | None, tuple]:
    """The latest offset whose moment has come (and the earlier ones, to skip); none at or
    after `due`."""
    if not deadlines.is_before_deadline(now, due):
        return None, ()
    reached = sorted(
        (o for o in offsets if not deadlines.is_before_deadline(now, due - timedelta(seconds=o))),
        reverse=True,
    )
    if not reached:
        return None, ()
    return reached[-1], tuple(reached[:-1])


def recorded(*, now: datetime) -> set[tuple]:
    """The reminders recorded (sent or skipped) for recent instants, as
    (rfp_id, user_id, kind, offset_seconds, due_instant) keys."""
    return set(
        Reminder.objects.filter(due_instant__gt=now - timedelta(days=60)).values_list(
            "rfp_id", "user_id", "kind", "offset_seconds", "due_instant"
        )
    )


def deadline_recipients(rfp: RFP):
    """Teams with an unsubmitted draft, and people who registered interest without a
    submission of their own."""
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


def plan(*, now: datetime) -> list[Planned]:
    """Who would get which deadline reminder now (without sending anything)."""
    planned: list[Planned] = []
    done = recorded(now=now)
    for rfp in RFP.objects.filter(status=RFP.Status.PUBLISHED, opened_at__isnull=True):
        offset, skipped = due_offset(rfp.reminder_offsets or [], rfp.deadline_instant, now)
        if offset is not None:
            for user in deadline_recipients(rfp):
                key = (rfp.pk, user.pk, Reminder.Kind.DEADLINE, offset, rfp.deadline_instant)
                if key not in done:
                    planned.append(
                        Planned(
                            rfp, user, Reminder.Kind.DEADLINE, offset, rfp.deadline_instant, skipped
                        )
                    )
    return planned


def send(item: Planned, now: datetime, *, template: str, subject: str, about_bidder: bool) -> bool:
    """Record and queue one reminder; False if another sweep got there first.

    `subject` is translated text with %(left)s (the offset in words) and %(title)s (the RFP's);
    about_bidder: see outbox.queue_mail.
    """
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
                # A proposal deadline in the zone staff chose; reviews are due AoE.
                "views": deadlines.deadline_views(
                    item.due_instant,
                    zone,
                    item.rfp.deadline_zone if item.kind == Reminder.Kind.DEADLINE else None,
                ),
                "site_url": settings.SITE_URL,
            }
            outbox.queue_templated_mail(
                to=item.user.email,
                subject=subject % {"left": ctx["left"], "title": item.rfp.title},
                template=template,
                context=ctx,
                idempotency_key=(
                    f"reminder:{item.kind}:{item.rfp.pk}:{item.user.pk}:{item.offset_seconds}:"
                    f"{deadlines.to_utc_iso(item.due_instant)}"
                ),
                rfp=item.rfp,
                about_bidder=about_bidder,
            )
    except IntegrityError:
        return False
    return True


def send_due(*, now: datetime) -> int:
    """Send every deadline reminder due now; safe to run concurrently and repeatedly."""
    subject = _("%(left)s left: %(title)s")
    return sum(
        send(
            item,
            now,
            template="proposals/email/deadline_reminder",
            subject=subject,
            # A deadline reminder goes to teams with a draft and to the interested who have
            # not submitted: who gets one, and who does not, tells who bid.
            about_bidder=True,
        )
        for item in plan(now=now)
    )
