"""Public questions and answers: asked before the cut-off, answered by staff, published to all."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from proposals.addenda import people_concerned
from proposals.models import RFP, Question
from rfp_portal import audit, deadlines, outbox
from rfp_portal.audit import AuditAction


class QuestionRefused(Exception):
    pass


def questions_open(rfp: RFP, now: datetime) -> bool:
    """Questions are taken until the deadline (the question cut-off defaults to it)."""
    return rfp.is_published and deadlines.is_before_deadline(now, rfp.deadline_instant)


@transaction.atomic
def ask(*, rfp: RFP, user, text: str, now: datetime, request=None) -> Question:
    if not questions_open(rfp, now):
        raise QuestionRefused(_("Questions are no longer taken for this RFP."))
    text = text.strip()
    if not text:
        raise QuestionRefused(_("Write your question first."))
    question = Question.objects.create(rfp=rfp, asker=user, text=text, asked_at=now)
    audit.record(
        action=AuditAction.QUESTION_ASKED, actor=user, obj=question, request=request, at=now
    )
    return question


@transaction.atomic
def answer(
    *, question: Question, staff_user, answer_text: str, publish: bool, now: datetime, request=None
) -> Question:
    question = Question.objects.select_for_update().select_related("rfp").get(pk=question.pk)
    if publish and not answer_text.strip():
        raise QuestionRefused(_("Write the answer before publishing it."))
    question.answer = answer_text.strip()
    question.answered_at = now
    question.answered_by = staff_user
    question.state = Question.State.ANSWERED if publish else Question.State.DECLINED
    question.save()
    audit.record(
        action=AuditAction.QUESTION_ANSWERED if publish else AuditAction.QUESTION_DECLINED,
        actor=staff_user,
        obj=question,
        request=request,
        at=now,
    )
    if publish:
        rfp = question.rfp
        for user in people_concerned(rfp):
            ctx = {"question": question, "rfp": rfp, "user": user, "site_url": settings.SITE_URL}
            outbox.queue_templated_mail(
                to=user.email,
                template="proposals/email/answer",
                context=ctx,
                idempotency_key=f"answer:{question.pk}:{user.pk}",
                # Sent to the teams as well as to the interested: the list tells who bid.
                rfp=rfp,
                about_bidder=True,
            )
    return question
