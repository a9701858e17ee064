"""Review reminders, and the sweep that sends every reminder that is due.

Review reminders go 2 days and 1 day before an opened RFP's review due date to reviewers whose
review is not submitted; like the deadline reminders (proposals.reminders, whose rules they
follow), each exactly once per (person, RFP, offset, instant). The sweep (Celery beat, or
`manage.py send_reminders`) sends the deadline reminders, then the review reminders.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _

from evaluation.models import Assignment, Review
from proposals import reminders as deadline_reminders
from proposals.models import RFP, Reminder
from rfp_portal import deadlines
from rfp_portal.models import User

REVIEW_OFFSETS = [2 * 86_400, 86_400]


def review_recipients(rfp: RFP):
    pending = Assignment.objects.filter(
        proposal__rfp=rfp,
        removed_at__isnull=True,
        conflict__in=[Assignment.Conflict.UNDECLARED, Assignment.Conflict.NONE],
    ).exclude(review__state=Review.State.SUBMITTED)
    return User.objects.filter(pk__in=pending.values("reviewer_id")).order_by("pk")


def plan(*, now: datetime) -> list[deadline_reminders.Planned]:
    """Who would get which review reminder now (without sending anything)."""
    planned: list[deadline_reminders.Planned] = []
    done = deadline_reminders.recorded(now=now)
    for rfp in RFP.objects.filter(opened_at__isnull=False, review_due__isnull=False):
        due = deadlines.review_due_instant(rfp.review_due)
        offset, skipped = deadline_reminders.due_offset(REVIEW_OFFSETS, due, now)
        if offset is None:
            continue
        for user in review_recipients(rfp):
            key = (rfp.pk, user.pk, Reminder.Kind.REVIEW, offset, due)
            if key not in done:
                planned.append(
                    deadline_reminders.Planned(
                        rfp, user, Reminder.Kind.REVIEW, offset, due, skipped
                    )
                )
    return planned


def send_due(*, now: datetime) -> int:
    """Send every review reminder due now; safe to run concurrently and repeatedly."""
    subject = _("Reviews due in %(left)s: %(title)s")
    return sum(
        deadline_reminders.send(
            item,
            now,
            template="proposals/email/review_reminder",
            subject=subject,
            about_bidder=False,
        )
        for item in plan(now=now)
    )


def plan_all(*, now: datetime) -> list[deadline_reminders.Planned]:
    """Every reminder due now, deadline reminders first (without sending anything)."""
    return deadline_reminders.plan(now=now) + plan(now=now)


def send_all_due(*, now: datetime) -> int:
    """The sweep: every deadline reminder due now, then every review reminder."""
    return deadline_reminders.send_due(now=now) + send_due(now=now)
