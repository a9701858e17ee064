"""Addenda: every change to a published RFP is numbered, dated, explained and acknowledged."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from proposals.models import (
    RFP,
    Addendum,
    AddendumAcknowledgement,
    Feature,
    Interest,
    Proposal,
    ProposalMember,
)
from rfp_portal import audit, deadlines, outbox
from rfp_portal.audit import AuditAction

# The RFP fields an addendum may change, with the label readers see.
EDITABLE_FIELDS = {
    "title": _("Title"),
    "summary": _("Summary"),
    "body_markdown": _("Body"),
    "deadline_date": _("Deadline date"),
    "deadline_zone": _("Deadline time zone"),
}


class AddendumRefused(Exception):
    pass


def unacknowledged_addenda(rfp: RFP, user) -> QuerySet[Addendum]:
    """Addenda this user has not acknowledged and must before their next submit.

    Only addenda published after the user's team started its proposal count: someone who
    started later read the RFP as amended.
    """
    if not user.is_authenticated:
        return Addendum.objects.none()
    # One query: the team's start time is a subquery (no team, no start: no addenda).
    started = (
        Proposal.objects.filter(rfp=rfp, members__user=user)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    return rfp.addenda.filter(published_at__gt=Subquery(started)).exclude(
        acknowledgements__user=user
    )


@transaction.atomic
def acknowledge(*, addendum: Addendum, user, now: datetime, request=None) -> bool:
    _, created = AddendumAcknowledgement.objects.get_or_create(
        addendum=addendum, user=user, defaults={"at": now}
    )
    if created:
        audit.record(
            action=AuditAction.ADDENDUM_ACKNOWLEDGED,
            actor=user,
            obj=addendum,
            request=request,
            at=now,
        )
    return created


def _text(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


@transaction.atomic
def publish_addendum(
    *,
    rfp: RFP,
    changes: dict[str, object],
    change_note: str,
    actor,
    now: datetime,
    part_changes: dict[str, dict[str, object]] | None = None,
    request=None,
) -> Addendum:
    """Apply changes to a published RFP as addendum N+1 and tell everyone concerned.

    changes: the RFP's own fields (EDITABLE_FIELDS). part_changes: its parts, keyed
    "feature:<id>", "criterion:<id>" or "timeline:<id>", each {field: new value} with the
    fields of PART_FIELDS. Everything is validated before anything is saved.
    """
    rfp = RFP.objects.select_for_update().get(pk=rfp.pk)
    if not change_note.strip():
        raise AddendumRefused(_("Say what changed and why: the change note is required."))
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise AddendumRefused(_("These fields cannot be changed by an addendum: %s") % unknown)
    recorded = {}
    for name, value in changes.items():
        before = getattr(rfp, name)
        if _text(before) != _text(value):
            recorded[name] = {
                "label": str(EDITABLE_FIELDS[name]),
                "before": _text(before),
                "after": _text(value),
            }
            setattr(rfp, name, value)
    changed_parts = _apply_part_changes(rfp, part_changes or {}, recorded)
    if not recorded:
        raise AddendumRefused(_("Nothing changed: an addendum needs at least one change."))
    deadline_before = rfp.deadline_instant
    if "deadline_zone" in recorded and not deadlines.is_valid_zone(rfp.deadline_zone):
        raise AddendumRefused(_("Choose a time zone from the list."))
    from proposals.services import compute_deadline

    compute_deadline(rfp)
    moved = rfp.deadline_instant != deadline_before
    if moved and rfp.opened_at is not None:
        raise AddendumRefused(
            _("Proposals have been opened already; the deadline can no longer change.")
        )
    if moved and not deadlines.is_before_deadline(now, rfp.deadline_instant):
        raise AddendumRefused(_("The new deadline must lie in the future."))
    rfp.save()
    for part in changed_parts:
        part.save()
    number = (rfp.addenda.aggregate(n=Max("number"))["n"] or 0) + 1
    addendum = Addendum.objects.create(
        rfp=rfp,
        number=number,
        published_at=now,
        published_by=actor,
        change_note=change_note.strip(),
        changes=recorded,
        deadline_before=deadline_before if moved else None,
        deadline_after=rfp.deadline_instant if moved else None,
    )
    audit.record(
        action=AuditAction.ADDENDUM_PUBLISHED,
        actor=actor,
        obj=addendum,
        request=request,
        at=now,
        details={"fields": sorted(recorded), "deadline_moved": moved},
    )
    _notify(addendum)
    return addendum


# What an addendum may change in an RFP's parts, with the words readers see.
PART_FIELDS = {
    "feature": {"budget": _("budget"), "cap": _("cap")},
    "criterion": {"name": _("name"), "questions": _("guiding questions")},
    "timeline": {"date": _("date"), "label": _("label")},
}


def _part_objects(rfp: RFP) -> dict[str, object]:
    parts: dict[str, object] = {}
    for feature in Feature.objects.filter(milestone__rfp=rfp):
        parts[f"feature:{feature.pk}"] = feature
    for criterion in rfp.criteria.all():
        parts[f"criterion:{criterion.pk}"] = criterion
    for entry in rfp.timeline.all():
        parts[f"timeline:{entry.pk}"] = entry
    return parts


def _shown(value) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return _text(value)


def _apply_part_changes(rfp: RFP, part_changes: dict, recorded: dict) -> list:
    parts = _part_objects(rfp)
    changed = []
    for key, fields in part_changes.items():
        part = parts.get(key)
        if part is None:
            raise AddendumRefused(_("That part does not belong to this RFP."))
        kind = key.split(":", 1)[0]
        touched = False
        for field, value in fields.items():
            if field not in PART_FIELDS[kind]:
                raise AddendumRefused(_("That part cannot be changed by an addendum."))
            before = getattr(part, field)
            if _shown(before) == _shown(value):
                continue
            recorded[f"{key}:{field}"] = {
                "label": f"{part} — {PART_FIELDS[kind][field]}",
                "before": _shown(before),
                "after": _shown(value),
            }
            setattr(part, field, value)
            touched = True
        if touched:
            try:
                part.full_clean()
            except ValidationError as exc:
                raise AddendumRefused(
                    _("%(part)s: %(errors)s") % {"part": part, "errors": "; ".join(exc.messages)}
                ) from exc
            changed.append(part)
    return changed


def people_concerned(rfp: RFP):
    """Everyone with a draft or submission, and everyone who registered interest.

    Two `pk__in` subqueries rather than a `.union()`: SQLite refuses a compound statement of
    querysets that carry the User model's ordering, and this form runs on both databases.
    """
    from rfp_portal.models import User

    return User.objects.filter(
        Q(pk__in=ProposalMember.objects.filter(proposal__rfp=rfp).values("user"))
        | Q(pk__in=Interest.objects.filter(rfp=rfp).values("user"))
    ).order_by("pk")


def _notify(addendum: Addendum) -> None:
    rfp = addendum.rfp
    for user in people_concerned(rfp):
        ctx = {"addendum": addendum, "rfp": rfp, "user": user, "site_url": settings.SITE_URL}
        outbox.queue_templated_mail(
            to=user.email,
            template="proposals/email/addendum",
            context=ctx,
            idempotency_key=f"addendum:{addendum.pk}:{user.pk}",
            # Sent to the teams as well as to the interested: the list tells who bid.
            rfp=rfp,
            about_bidder=True,
        )


def register_interest(*, rfp: RFP, user, now: datetime, request=None) -> bool:
    _, created = Interest.objects.get_or_create(rfp=rfp, user=user, defaults={"created_at": now})
    if created:
        audit.record(
            action=AuditAction.RFP_INTEREST_REGISTERED, actor=user, obj=rfp, request=request, at=now
        )
    return created
