"""The audit trail: record() is the only way an AuditEvent is written; nothing edits one.

What staff read of it is in words: every AuditAction has a translated label (`action.label`,
`action_label(code)`), and rfp_portal.audit_details turns an event's details into phrases.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.db import models
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from rfp_portal.models import AuditEvent


class AuditAction(StrEnum):
    """Every action the trail records, with the exact string stored in AuditEvent.action (the
    audit page filters by its prefix: keep the values, add members rather than rename)."""

    # Accounts (rfp_portal.accounts; allauth's signals in rfp_portal.signals)
    ACCOUNT_CREATED_BY_OPERATOR = "account.created_by_operator"
    ACCOUNT_SIGNED_UP = "account.signed_up"
    ACCOUNT_LOGGED_IN = "account.logged_in"
    ACCOUNT_LOGGED_OUT = "account.logged_out"
    ACCOUNT_EMAIL_CONFIRMED = "account.email_confirmed"
    ACCOUNT_PASSWORD_CHANGED = "account.password_changed"  # noqa: S105 (a name, no secret)
    ACCOUNT_MFA_ADDED = "account.mfa_added"
    ACCOUNT_MFA_REMOVED = "account.mfa_removed"

    # RFPs (proposals.services, proposals.rfp_files, proposals.addenda, proposals.demo_clock)
    RFP_CREATED = "rfp.created"
    RFP_SAVED = "rfp.saved"
    RFP_PUBLISHED = "rfp.published"
    RFP_OPENED = "rfp.opened"
    RFP_INTEREST_REGISTERED = "rfp.interest_registered"
    RFP_DEMO_DEADLINE_MOVED = "rfp.demo_deadline_moved"
    RFP_DUPLICATED = "rfp.duplicated"
    RFP_IMPORTED = "rfp.imported"
    RFP_EDITED = "rfp.edited"

    # Addenda (proposals.addenda). The sealing filter (proposals.rules.sealed_audit_events)
    # looks for ADDENDUM_ACKNOWLEDGED, as who acknowledged is who bid.
    ADDENDUM_PUBLISHED = "addendum.published"
    ADDENDUM_ACKNOWLEDGED = "addendum.acknowledged"

    # Public questions (proposals.questions) and e-mail subscriptions (proposals.subscriptions)
    QUESTION_ASKED = "question.asked"
    QUESTION_ANSWERED = "question.answered"
    QUESTION_DECLINED = "question.declined"
    SUBSCRIPTION_CONFIRMED = "subscription.confirmed"
    SUBSCRIPTION_ENDED = "subscription.ended"

    # Proposals (proposals.submission, proposals.selectors)
    PROPOSAL_STARTED = "proposal.started"
    PROPOSAL_DRAFT_SAVED = "proposal.draft_saved"
    PROPOSAL_SUBMITTED = "proposal.submitted"
    PROPOSAL_WITHDRAWN = "proposal.withdrawn"
    PROPOSAL_VERSION_VIEWED = "proposal.version_viewed"
    PROPOSAL_ACCESS_REFUSED = "proposal.access_refused"

    # Proposal teams (proposals.team)
    TEAM_INVITED = "team.invited"
    TEAM_JOINED = "team.joined"
    TEAM_REMOVED = "team.removed"
    TEAM_INVITATION_REVOKED = "team.invitation_revoked"

    # Reviewer pools, assignments and conflicts (evaluation.services)
    POOL_INVITED = "pool.invited"
    POOL_JOINED = "pool.joined"
    POOL_REMOVED = "pool.removed"
    ASSIGNMENT_CREATED = "assignment.created"
    ASSIGNMENT_CONFLICT_CONFIRMED = "assignment.conflict_confirmed"
    CONFLICT_DECLARED = "conflict.declared"
    CONFLICT_NONE = "conflict.none"

    # Reviews (evaluation.services, evaluation.selectors)
    REVIEW_SAVED = "review.saved"
    REVIEW_SUBMITTED = "review.submitted"
    REVIEW_REOPENED = "review.reopened"
    REVIEW_ACCESS_REFUSED = "review.access_refused"

    # Clarifications and the evaluators' discussion (evaluation.threads, evaluation.selectors)
    CLARIFICATION_REQUESTED = "clarification.requested"
    CLARIFICATION_ANSWERED = "clarification.answered"
    CLARIFICATION_ACCESS_REFUSED = "clarification.access_refused"
    DISCUSSION_POSTED = "discussion.posted"
    DISCUSSION_ACCESS_REFUSED = "discussion.access_refused"

    # Decisions (evaluation.decisions) and the staff dashboard (evaluation.views.staff)
    DECISION_RECORDED = "decision.recorded"
    DECISION_PRELIMINARY_SENT = "decision.preliminary_sent"
    DECISION_PUBLISHED = "decision.published"
    PLAN_ADOPTED = "plan.adopted"  # a funding plan filled in draft decisions (plan_adoption)
    DASHBOARD_VIEWED = "dashboard.viewed"

    # Lotteries at the funding line (evaluation.lottery): the seed's commitment, then the draw
    LOTTERY_COMMITTED = "lottery.committed"
    LOTTERY_DRAWN = "lottery.drawn"

    # Exports (evaluation.export_requests, evaluation.exports, evaluation.selectors, the
    # export_decision_report command)
    EXPORT_REQUESTED = "export.requested"
    EXPORT_FINISHED = "export.finished"
    EXPORT_DOWNLOADED = "export.downloaded"
    EXPORT_REPORT_WRITTEN = "export.report_written"

    @property
    def label(self) -> Promise:
        """What staff read: "Draft saved" for proposal.draft_saved (translated)."""
        return ACTION_LABELS[self]


ACTION_LABELS: dict[AuditAction, Promise] = {
    AuditAction.ACCOUNT_CREATED_BY_OPERATOR: gettext_lazy("Account created by an operator"),
    AuditAction.ACCOUNT_SIGNED_UP: gettext_lazy("Account created (sign-up)"),
    AuditAction.ACCOUNT_LOGGED_IN: gettext_lazy("Signed in"),
    AuditAction.ACCOUNT_LOGGED_OUT: gettext_lazy("Signed out"),
    AuditAction.ACCOUNT_EMAIL_CONFIRMED: gettext_lazy("E-mail address confirmed"),
    AuditAction.ACCOUNT_PASSWORD_CHANGED: gettext_lazy("Password changed"),
    AuditAction.ACCOUNT_MFA_ADDED: gettext_lazy("Two-factor authentication added"),
    AuditAction.ACCOUNT_MFA_REMOVED: gettext_lazy("Two-factor authentication removed"),
    AuditAction.RFP_CREATED: gettext_lazy("RFP created"),
    AuditAction.RFP_SAVED: gettext_lazy("RFP saved"),
    AuditAction.RFP_PUBLISHED: gettext_lazy("RFP published"),
    AuditAction.RFP_OPENED: gettext_lazy("RFP opened after its deadline"),
    AuditAction.RFP_INTEREST_REGISTERED: gettext_lazy("Interest in an RFP registered"),
    AuditAction.RFP_DEMO_DEADLINE_MOVED: gettext_lazy("Demo deadline moved"),
    AuditAction.RFP_DUPLICATED: gettext_lazy("RFP duplicated (a draft copy)"),
    AuditAction.RFP_IMPORTED: gettext_lazy("RFP imported from a file"),
    AuditAction.RFP_EDITED: gettext_lazy("Draft RFP edited"),
    AuditAction.ADDENDUM_PUBLISHED: gettext_lazy("Addendum published"),
    AuditAction.ADDENDUM_ACKNOWLEDGED: gettext_lazy("Addendum acknowledged"),
    AuditAction.QUESTION_ASKED: gettext_lazy("Question asked"),
    AuditAction.QUESTION_ANSWERED: gettext_lazy("Question answered"),
    AuditAction.QUESTION_DECLINED: gettext_lazy("Question declined"),
    AuditAction.SUBSCRIPTION_CONFIRMED: gettext_lazy("E-mail subscription confirmed"),
    AuditAction.SUBSCRIPTION_ENDED: gettext_lazy("E-mail subscription ended"),
    AuditAction.PROPOSAL_STARTED: gettext_lazy("Proposal started"),
    AuditAction.PROPOSAL_DRAFT_SAVED: gettext_lazy("Draft saved"),
    AuditAction.PROPOSAL_SUBMITTED: gettext_lazy("Proposal submitted"),
    AuditAction.PROPOSAL_WITHDRAWN: gettext_lazy("Proposal withdrawn"),
    AuditAction.PROPOSAL_VERSION_VIEWED: gettext_lazy("Submitted version read"),
    AuditAction.PROPOSAL_ACCESS_REFUSED: gettext_lazy("Access to a proposal refused"),
    AuditAction.TEAM_INVITED: gettext_lazy("Co-author invited"),
    AuditAction.TEAM_JOINED: gettext_lazy("Co-author joined the team"),
    AuditAction.TEAM_REMOVED: gettext_lazy("Co-author removed from the team"),
    AuditAction.TEAM_INVITATION_REVOKED: gettext_lazy("Co-author invitation revoked"),
    AuditAction.POOL_INVITED: gettext_lazy("Reviewer invited to the pool"),
    AuditAction.POOL_JOINED: gettext_lazy("Reviewer joined the pool"),
    AuditAction.POOL_REMOVED: gettext_lazy("Reviewer removed from the pool"),
    AuditAction.ASSIGNMENT_CREATED: gettext_lazy("Review assigned"),
    AuditAction.ASSIGNMENT_CONFLICT_CONFIRMED: gettext_lazy(
        "Review assigned despite a likely conflict"
    ),
    AuditAction.CONFLICT_DECLARED: gettext_lazy("Conflict of interest declared"),
    AuditAction.CONFLICT_NONE: gettext_lazy("No conflict of interest declared"),
    AuditAction.REVIEW_SAVED: gettext_lazy("Review draft saved"),
    AuditAction.REVIEW_SUBMITTED: gettext_lazy("Review submitted"),
    AuditAction.REVIEW_REOPENED: gettext_lazy("Review reopened"),
    AuditAction.REVIEW_ACCESS_REFUSED: gettext_lazy("Access to a review refused"),
    AuditAction.CLARIFICATION_REQUESTED: gettext_lazy("Clarification requested"),
    AuditAction.CLARIFICATION_ANSWERED: gettext_lazy("Clarification answered"),
    AuditAction.CLARIFICATION_ACCESS_REFUSED: gettext_lazy("Access to a clarification refused"),
    AuditAction.DISCUSSION_POSTED: gettext_lazy("Posted to the discussion"),
    AuditAction.DISCUSSION_ACCESS_REFUSED: gettext_lazy("Access to the discussion refused"),
    AuditAction.DECISION_RECORDED: gettext_lazy("Decision recorded"),
    AuditAction.DECISION_PRELIMINARY_SENT: gettext_lazy("Preliminary decisions sent"),
    AuditAction.DECISION_PUBLISHED: gettext_lazy("Decisions published"),
    AuditAction.PLAN_ADOPTED: gettext_lazy("Funding plan adopted as draft decisions"),
    AuditAction.DASHBOARD_VIEWED: gettext_lazy("Evaluation dashboard viewed"),
    AuditAction.LOTTERY_COMMITTED: gettext_lazy("Lottery seed committed"),
    AuditAction.LOTTERY_DRAWN: gettext_lazy("Lottery drawn"),
    AuditAction.EXPORT_REQUESTED: gettext_lazy("Export requested"),
    AuditAction.EXPORT_FINISHED: gettext_lazy("Export finished"),
    AuditAction.EXPORT_DOWNLOADED: gettext_lazy("Export downloaded"),
    AuditAction.EXPORT_REPORT_WRITTEN: gettext_lazy("Decision report written to a file"),
}


def action_label(code: str) -> str:
    """The label of a stored action code; an unknown code (from an older version) as stored."""
    try:
        return str(AuditAction(code).label)
    except ValueError:
        return code


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a known proxy sets it.
    return request.META.get("REMOTE_ADDR") or None


def object_label(obj: models.Model) -> str:
    """How the trail names an object: its audit_label() if it has one (a proposal's title is
    sealed content, and an event can never be edited once the proposal is opened), else str()."""
    label = getattr(obj, "audit_label", None)
    return label() if callable(label) else str(obj)


def record(
    *,
    action: AuditAction,
    actor: Any = None,
    obj: models.Model | None = None,
    request: HttpRequest | None = None,
    details: dict[str, Any] | None = None,
    at: Any = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it describes."""
    if actor is None and request is not None:
        actor = request.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=getattr(actor, "email", "") if actor else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_label=object_label(obj)[:300] if obj is not None else "",
        ip_address=client_ip(request),
        details=details or {},
        at=at or timezone.now(),
    )


def refuse(
    request: HttpRequest,
    action: AuditAction,
    obj: models.Model | None = None,
    *,
    details: dict[str, Any] | None = None,
) -> Http404:
    """Record a refused access and give the 404 to raise: a foreign object is not found (nothing
    leaks), and the trail still says who looked. Use as `raise audit.refuse(request, ...)`."""
    record(action=action, request=request, obj=obj, details=details)
    return Http404()


def sealed_counts(events: models.QuerySet[AuditEvent]) -> list[dict[str, Any]]:
    """What staff see of events about sealed proposals (rule 2: counts only): per action, the
    number of events and of proposals (none for an addendum's acknowledgements, which are
    about the addendum). `events` is annotated by proposals.rules.audit_events_for_staff.
    """
    return list(
        events.filter(sealed=True)
        .values("action")
        .annotate(
            events=models.Count("id"),
            proposals=models.Count(
                "object_id",
                distinct=True,
                filter=models.Q(object_type="proposals.proposal"),
            ),
        )
        .order_by("action")
    )
