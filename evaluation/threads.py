"""Clarification requests (evaluators ↔ one team) and the evaluators' discussion."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from evaluation import rules
from evaluation.models import Assignment, Message
from proposals import rules as proposal_rules
from proposals.models import Proposal
from rfp_portal import audit, outbox
from rfp_portal.audit import AuditAction

TEXT_LIMIT = 10_000


class ThreadError(Exception):
    pass


def _clean(text: str) -> str:
    text = text.strip()
    if not text:
        raise ThreadError(_("Write a message first."))
    if len(text) > TEXT_LIMIT:
        raise ThreadError(_("Keep a message under 10,000 characters."))
    return text


@transaction.atomic
def post_clarification(*, proposal: Proposal, user, text: str, now: datetime, request=None):
    """An evaluator asks, or the team answers; the other side is told by e-mail."""
    if not rules.can_use_clarifications(user, proposal):
        raise PermissionDenied
    from_team = proposal_rules.is_on_team(user, proposal)
    message = Message.objects.create(
        proposal=proposal,
        kind=Message.Kind.CLARIFICATION,
        author=user,
        from_team=from_team,
        text=_clean(text),
        at=now,
    )
    if from_team:
        recipients = [
            a.reviewer
            for a in Assignment.objects.filter(
                proposal=proposal, removed_at__isnull=True, conflict=Assignment.Conflict.NONE
            ).select_related("reviewer")
        ]
        template = "evaluation/email/clarification_answer"
    else:
        recipients = [m.user for m in proposal.members.select_related("user")]
        template = "evaluation/email/clarification_request"
    for person in recipients:
        if person.pk == user.pk:
            continue
        ctx = {"proposal": proposal, "rfp": proposal.rfp, "site_url": settings.SITE_URL}
        outbox.queue_templated_mail(
            to=person.email,
            template=template,
            context=ctx,
            idempotency_key=f"clarification:{message.pk}:{person.pk}",
            rfp=proposal.rfp,
            about_bidder=True,
        )
    audit.record(
        action=AuditAction.CLARIFICATION_ANSWERED
        if from_team
        else AuditAction.CLARIFICATION_REQUESTED,
        actor=user,
        obj=proposal,
        request=request,
        at=now,
        details={"message": message.pk},
    )
    return message


@transaction.atomic
def post_discussion(*, proposal: Proposal, user, text: str, now: datetime, request=None):
    if not rules.can_discuss(user, proposal):
        raise PermissionDenied
    message = Message.objects.create(
        proposal=proposal, kind=Message.Kind.DISCUSSION, author=user, text=_clean(text), at=now
    )
    audit.record(
        action=AuditAction.DISCUSSION_POSTED, actor=user, obj=proposal, request=request, at=now
    )
    return message


def clarifications(proposal: Proposal):
    return proposal.messages.filter(kind=Message.Kind.CLARIFICATION).select_related("author")


def discussion(proposal: Proposal):
    return proposal.messages.filter(kind=Message.Kind.DISCUSSION).select_related("author")
