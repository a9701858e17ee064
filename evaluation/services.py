"""Every write of the evaluation: reviewer pool, assignments, conflicts, reviews.

Each function is one atomic state change that writes its audit events and queues its mails.
Why one module of about 500 lines: the pool, assignments, conflicts and reviews share the
locks and invariants of one assignment row (a review exists only for a conflict-free, current
assignment), so their writes are read together; decisions and clarification threads, which
do not, live in decisions.py and threads.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from evaluation import decisions, rules
from evaluation.assignment_planner import (
    ConflictHint,
    Person,
    Plan,
    ProposalTeam,
    conflict_hint,
    plan_assignments,
)
from evaluation.models import Assessment, Assignment, PoolMember, Review, ReviewerInvitation
from proposals import rules as proposal_rules
from proposals.models import RFP, Criterion, Proposal, ProposalMember
from rfp_portal import audit, deadlines, outbox, permissions, tokens
from rfp_portal.audit import AuditAction

INVITE_SALT = "evaluation.reviewer-invitation"
INVITE_MAX_AGE = 21 * 24 * 3600


class EvaluationError(Exception):
    """A refused evaluation step; the message is for the person who asked."""


# --- Reviewer pool -------------------------------------------------------------------------


def invitation_token(invitation: ReviewerInvitation) -> str:
    return tokens.make({"i": invitation.pk, "e": invitation.email}, salt=INVITE_SALT)


def invitation_from_token(token: str) -> ReviewerInvitation:
    invitation, data = tokens.load(
        token,
        salt=INVITE_SALT,
        max_age=INVITE_MAX_AGE,
        queryset=ReviewerInvitation.objects.select_related("rfp"),
        id_key="i",
        error=EvaluationError,
        expired=_("This invitation has expired; ask the staff for a new one."),
        invalid=_("This invitation link is not valid."),
    )
    if invitation is None or invitation.email != data.get("e"):
        raise EvaluationError(_("This invitation link is not valid."))
    return invitation


@transaction.atomic
def invite_reviewer(*, rfp: RFP, email: str, staff_user, now: datetime, request=None):
    email = email.strip().lower()
    if PoolMember.objects.filter(
        rfp=rfp, user__email__iexact=email, removed_at__isnull=True
    ).exists():
        raise EvaluationError(_("%(email)s is already in the pool.") % {"email": email})
    invitation = ReviewerInvitation.objects.create(
        rfp=rfp, email=email, invited_by=staff_user, created_at=now
    )
    link = settings.SITE_URL + reverse("reviewer_invitation", args=[invitation_token(invitation)])
    ctx = {"rfp": rfp, "link": link, "staff": staff_user}
    outbox.queue_templated_mail(
        to=email,
        subject=_("Invitation to review proposals for %(title)s") % {"title": rfp.title},
        template="evaluation/email/reviewer_invitation",
        context=ctx,
        idempotency_key=f"reviewer-invitation:{invitation.pk}",
        rfp=rfp,
    )
    audit.record(
        action=AuditAction.POOL_INVITED,
        actor=staff_user,
        obj=rfp,
        request=request,
        at=now,
        details={"email": email},
    )
    return invitation


@transaction.atomic
def accept_reviewer_invitation(*, invitation: ReviewerInvitation, user, now, request=None):
    invitation = ReviewerInvitation.objects.select_for_update().get(pk=invitation.pk)
    if user.email.lower() != invitation.email.lower():
        raise EvaluationError(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    member, _new = PoolMember.objects.get_or_create(
        rfp=invitation.rfp, user=user, defaults={"added_at": now}
    )
    if member.removed_at is not None and invitation.created_at <= member.removed_at:
        # An invitation from before the removal does not undo it; a new one from staff does.
        raise EvaluationError(
            _("You were removed from this RFP's reviewers. Ask its staff for a new invitation.")
        )
    if member.removed_at is not None:
        member.removed_at = None
        member.save(update_fields=["removed_at"])
    if invitation.accepted_at is None:
        invitation.accepted_at = now
        invitation.save(update_fields=["accepted_at"])
    permissions.grant_role(user, permissions.Role.REVIEWER)
    audit.record(
        action=AuditAction.POOL_JOINED, actor=user, obj=invitation.rfp, request=request, at=now
    )
    return member


@transaction.atomic
def remove_from_pool(*, rfp: RFP, reviewer, staff_user, now, request=None) -> None:
    """Unsubmitted reviews go; submitted ones stay, marked."""
    PoolMember.objects.filter(rfp=rfp, user=reviewer).update(removed_at=now)
    assignments = Assignment.objects.filter(
        proposal__rfp=rfp, reviewer=reviewer, removed_at__isnull=True
    )
    Review.objects.filter(assignment__in=assignments, state=Review.State.DRAFT).delete()
    Review.objects.filter(assignment__in=assignments, state=Review.State.SUBMITTED).update(
        withdrawn_reviewer=True
    )
    assignments.update(removed_at=now)
    audit.record(
        action=AuditAction.POOL_REMOVED,
        actor=staff_user,
        obj=rfp,
        request=request,
        at=now,
        details={"reviewer": reviewer.email},
    )


def pool_of(rfp: RFP):
    from rfp_portal.models import User

    return User.objects.filter(
        pool_memberships__rfp=rfp, pool_memberships__removed_at__isnull=True
    ).order_by("email")


# --- Assignment ----------------------------------------------------------------------------


def _coauthors(user_ids) -> dict[int, frozenset[int]]:
    """Everyone each of these people has been on a proposal's team with (any RFP)."""
    mine = ProposalMember.objects.filter(user_id__in=list(user_ids)).values_list(
        "user_id", "proposal_id"
    )
    proposals_of: dict[int, set[int]] = {}
    for user_id, proposal_id in mine:
        proposals_of.setdefault(user_id, set()).add(proposal_id)
    teams: dict[int, set[int]] = {}
    wanted = {pk for pks in proposals_of.values() for pk in pks}
    for proposal_id, user_id in ProposalMember.objects.filter(proposal_id__in=wanted).values_list(
        "proposal_id", "user_id"
    ):
        teams.setdefault(proposal_id, set()).add(user_id)
    return {
        user_id: frozenset(set().union(*(teams[p] for p in pks)) - {user_id})
        for user_id, pks in proposals_of.items()
    }


def _reviewers_as_people(users) -> list[Person]:
    users = list(users)
    coauthors = _coauthors(u.pk for u in users)
    return [Person(u.pk, u.email, u.organisation, coauthors.get(u.pk, frozenset())) for u in users]


def _team(proposal: Proposal) -> ProposalTeam:
    return ProposalTeam(
        proposal.pk,
        tuple(Person(m.user_id, m.user.email, m.user.organisation) for m in proposal.members.all()),
    )


def assignable_proposals(rfp: RFP):
    return (
        Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED)
        .prefetch_related("members__user")
        .order_by("pk")
    )


def plan_for(rfp: RFP, *, per_proposal: int) -> Plan:
    teams = [_team(p) for p in assignable_proposals(rfp)]
    reviewers = _reviewers_as_people(pool_of(rfp))
    existing = Assignment.objects.filter(proposal__rfp=rfp, removed_at__isnull=True)
    declared = Assignment.objects.filter(
        proposal__rfp=rfp, conflict=Assignment.Conflict.DECLARED
    ).values_list("proposal_id", "reviewer_id")
    return plan_assignments(
        teams,
        reviewers,
        per_proposal=per_proposal,
        existing=set(existing.values_list("proposal_id", "reviewer_id")),
        declared_conflicts=set(declared),
    )


def _assign(
    *, proposal: Proposal, reviewer, staff_user, now, request=None
) -> tuple[Assignment, bool]:
    """The reviewer's active assignment to the proposal, and whether this call made it."""
    rfp = proposal.rfp
    if decisions.is_published(rfp):
        raise EvaluationError(_("Decisions are published: assignments can no longer change."))
    if not pool_of(rfp).filter(pk=reviewer.pk).exists():
        raise EvaluationError(_("Only reviewers in this RFP's pool can be assigned."))
    if proposal_rules.is_on_team(reviewer, proposal):
        raise EvaluationError(_("A member of the team cannot review their own proposal."))
    existing = Assignment.objects.filter(proposal=proposal, reviewer=reviewer).first()
    if existing is not None:
        if existing.conflict == Assignment.Conflict.DECLARED:
            raise EvaluationError(_("This reviewer declared a conflict with this proposal."))
        if existing.removed_at is None:
            return existing, False
        existing.removed_at = None
        existing.save(update_fields=["removed_at"])
        assignment = existing
    else:
        assignment = Assignment.objects.create(
            proposal=proposal, reviewer=reviewer, assigned_by=staff_user, assigned_at=now
        )
    audit.record(
        action=AuditAction.ASSIGNMENT_CREATED,
        actor=staff_user,
        obj=proposal,
        request=request,
        at=now,
        details={"reviewer": reviewer.email},
    )
    return assignment, True


@transaction.atomic
def assign(*, proposal: Proposal, reviewer, staff_user, now, request=None) -> Assignment:
    """Assign one reviewer by hand; a new assignment is one batch of one (one mail)."""
    assignment, new = _assign(
        proposal=proposal, reviewer=reviewer, staff_user=staff_user, now=now, request=request
    )
    if new:
        _mail_new_assignments(proposal.rfp, [assignment], now=now)
    return assignment


class LikelyConflict(EvaluationError):
    """A hand assignment that needs confirming: the planner's hint, in a sentence."""

    def __init__(self, hint: ConflictHint, reviewer_email: str):
        self.hint = hint
        super().__init__(hint.sentence(reviewer_email))


def likely_conflict_of(proposal: Proposal, reviewer) -> ConflictHint | None:
    """The planner's hint (assignment_planner.conflict_hint, the one rule) for one pair."""
    (person,) = _reviewers_as_people([reviewer])
    return conflict_hint(person, _team(proposal))


def hand_assignment_choices(rfp: RFP, proposals) -> dict[int, list[tuple[object, str]]]:
    """For each proposal, the pool reviewers a hand assignment may still name (not assigned
    now, no declared conflict), each with the likely-conflict warning staff will be asked to
    confirm ("" when none). Empty once decisions are published or while sealed."""
    if decisions.is_published(rfp) or proposal_rules.is_sealed(rfp):
        return {}
    pool = list(pool_of(rfp))
    people = {p.id: p for p in _reviewers_as_people(pool)}
    taken = set(
        Assignment.objects.filter(proposal__rfp=rfp)
        .filter(removed_at__isnull=True)
        .values_list("proposal_id", "reviewer_id")
    ) | set(
        Assignment.objects.filter(
            proposal__rfp=rfp, conflict=Assignment.Conflict.DECLARED
        ).values_list("proposal_id", "reviewer_id")
    )
    choices: dict[int, list[tuple[object, str]]] = {}
    for proposal in proposals:
        team = _team(proposal)
        member_ids = {m.id for m in team.members}
        rows = []
        for user in pool:
            if (proposal.pk, user.pk) in taken or user.pk in member_ids:
                continue
            hint = conflict_hint(people[user.pk], team)
            rows.append((user, hint.sentence(user.email) if hint else ""))
        choices[proposal.pk] = rows
    return choices


@transaction.atomic
def assign_by_hand(
    *, proposal: Proposal, reviewer, staff_user, now, confirm_conflict: bool, request=None
) -> Assignment:
    """Staff assign one reviewer by hand, with the safeguards automatic assignment has.

    Refused: while proposals are sealed (staff may not see them; automatic assignment works
    blind), once decisions are published, a reviewer assigned to it already, or one who
    declared a conflict with it. A likely conflict (the planner's rule) raises LikelyConflict
    unless confirmed; a confirmed one is assigned and the override audited with its reason.
    """
    rfp = proposal.rfp
    if proposal_rules.is_sealed(rfp):
        raise EvaluationError(
            _(
                "Proposals are sealed until the deadline: assign reviewers automatically now, "
                "or by hand once the RFP is opened."
            )
        )
    if decisions.is_published(rfp):
        raise EvaluationError(_("Decisions are published: assignments can no longer change."))
    if Assignment.objects.filter(
        proposal=proposal, reviewer=reviewer, removed_at__isnull=True
    ).exists():
        raise EvaluationError(
            _("%(email)s is already assigned to this proposal.") % {"email": reviewer.email}
        )
    hint = likely_conflict_of(proposal, reviewer)
    if hint is not None and not confirm_conflict:
        raise LikelyConflict(hint, reviewer.email)
    assignment = assign(
        proposal=proposal, reviewer=reviewer, staff_user=staff_user, now=now, request=request
    )
    if hint is not None:
        with translation.override(settings.LANGUAGE_CODE):
            reason = hint.sentence(reviewer.email)
        audit.record(
            action=AuditAction.ASSIGNMENT_CONFLICT_CONFIRMED,
            actor=staff_user,
            obj=proposal,
            request=request,
            at=now,
            details={"reviewer": reviewer.email, "reason": reason},
        )
    return assignment


@transaction.atomic
def apply_plan(*, rfp: RFP, plan: Plan, staff_user, now, request=None) -> int:
    """Make the plan's new assignments; each reviewer gets one mail for all of theirs."""
    reviewers = {u.pk: u for u in pool_of(rfp)}
    proposals = {p.pk: p for p in assignable_proposals(rfp)}
    made = []
    for proposal_id, reviewer_id in plan.new:
        if proposal_id in proposals and reviewer_id in reviewers:
            assignment, new = _assign(
                proposal=proposals[proposal_id],
                reviewer=reviewers[reviewer_id],
                staff_user=staff_user,
                now=now,
                request=request,
            )
            if new:
                made.append(assignment)
    _mail_new_assignments(rfp, made, now=now)
    return len(made)


def _mail_new_assignments(rfp: RFP, assignments: list[Assignment], *, now: datetime) -> None:
    """One mail per reviewer for one batch of new assignments: how many, for which RFP, when
    the reviews are due, and the link to the queue.

    Nothing while the RFP is sealed: reviewers see nothing before opening, not even that they
    are assigned, and the opening tells them (notify_reviewers_of_opening). The mail
    names no proposal: its title is shown only once the reviewer declares no conflict.
    The key names the reviewer and the batch (the new assignments' ids and the instant they
    were made: an assignment ended and made again later keeps its id), so a replay sends
    nothing twice.
    """
    if not assignments or proposal_rules.is_sealed(rfp):
        return
    batches: dict[int, list[Assignment]] = {}
    for assignment in assignments:
        batches.setdefault(assignment.reviewer_id, []).append(assignment)
    due = deadlines.review_due_instant(rfp.review_due)
    queue_link = settings.SITE_URL + reverse("reviewer_home")
    for reviewer_id, batch in sorted(batches.items()):
        reviewer = batch[0].reviewer
        ids = ",".join(str(pk) for pk in sorted(a.pk for a in batch))
        digest = hashlib.sha256(f"{deadlines.to_utc_iso(now)}|{ids}".encode()).hexdigest()[:32]
        zone = reviewer.time_zone if deadlines.is_valid_zone(reviewer.time_zone or "") else None
        ctx = {
            "rfp": rfp,
            "user": reviewer,
            "count": len(batch),
            "due_views": deadlines.deadline_views(due, zone) if due else [],
            "queue_link": queue_link,
        }
        outbox.queue_templated_mail(
            to=reviewer.email,
            subject=ngettext(
                "%(n)s proposal to review: %(title)s",
                "%(n)s proposals to review: %(title)s",
                len(batch),
            )
            % {"n": len(batch), "title": rfp.title},
            template="evaluation/email/assigned",
            context=ctx,
            idempotency_key=f"assigned:{rfp.pk}:{reviewer_id}:{digest}",
            rfp=rfp,
        )


def notify_reviewers_of_opening(*, rfp: RFP) -> None:
    """Reviewers assigned before opening learn that their proposals can now be read.

    Called when proposals.services.open_rfp opens the RFP (the beat task, or staff by hand;
    through the rfp_opened signal, evaluation.receivers), inside the opening's transaction, so
    the mails are queued with it;
    the key names the RFP and the reviewer, so each reviewer gets one notice per RFP.
    """
    reviewers = {
        a.reviewer
        for a in Assignment.objects.filter(
            proposal__rfp=rfp, removed_at__isnull=True
        ).select_related("reviewer")
    }
    for reviewer in sorted(reviewers, key=lambda r: r.pk):
        ctx = {"rfp": rfp, "user": reviewer, "site_url": settings.SITE_URL}
        outbox.queue_templated_mail(
            to=reviewer.email,
            subject=_("Proposals to review: %(title)s") % {"title": rfp.title},
            template="proposals/email/opened",
            context=ctx,
            idempotency_key=f"opened:{rfp.pk}:{reviewer.pk}",
            rfp=rfp,
        )


# --- Conflicts and reviews -----------------------------------------------------------------


@transaction.atomic
def declare_conflict(
    *, assignment: Assignment, user, conflict: bool, reason: str, now, request=None
) -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.reviewer_id != user.pk or assignment.removed_at is not None:
        raise PermissionDenied
    if proposal_rules.is_sealed(assignment.proposal.rfp):
        # Before opening a reviewer sees nothing, not even the assignment (rule 2).
        raise PermissionDenied
    if assignment.conflict != Assignment.Conflict.UNDECLARED:
        raise EvaluationError(_("You have already declared this."))
    assignment.declared_at = now
    if conflict:
        if not reason.strip():
            raise EvaluationError(_("Say briefly what the conflict is."))
        assignment.conflict = Assignment.Conflict.DECLARED
        assignment.conflict_reason = reason.strip()
        assignment.removed_at = now
    else:
        assignment.conflict = Assignment.Conflict.NONE
    assignment.save()
    audit.record(
        action=AuditAction.CONFLICT_DECLARED if conflict else AuditAction.CONFLICT_NONE,
        actor=user,
        obj=assignment.proposal,
        request=request,
        at=now,
        details={"reason": assignment.conflict_reason} if conflict else {},
    )
    if conflict:
        _mail_conflict_declared(assignment, declared_by=user)
    return assignment


def _mail_conflict_declared(assignment: Assignment, *, declared_by) -> None:
    """Every staff member learns of a declared conflict, so that they can reassign.

    Conflicts are declared only after opening, when staff may read the proposal: the mail
    names it as the reviewer's queue does ("Proposal #N") and by its title, and gives the
    reason, which staff see on the evaluation page too.
    """
    proposal = assignment.proposal
    rfp = proposal.rfp
    ctx = {
        "rfp": rfp,
        "reviewer": declared_by,
        "reference": _("Proposal #%(id)s") % {"id": proposal.pk},
        "proposal": proposal,
        "reason": assignment.conflict_reason,
        "link": settings.SITE_URL + reverse("staff_evaluation", args=[rfp.slug]),
    }
    subject = _("Conflict of interest declared: %(reference)s, %(title)s") % {
        "reference": ctx["reference"],
        "title": rfp.title,
    }
    for staff_member in permissions.holders_of(permissions.Role.STAFF):
        if staff_member.pk == declared_by.pk:
            continue
        outbox.queue_templated_mail(
            to=staff_member.email,
            subject=subject,
            template="evaluation/email/conflict_declared",
            context={**ctx, "user": staff_member},
            idempotency_key=f"conflict-declared:{assignment.pk}:{staff_member.pk}",
            rfp=rfp,
        )


@dataclass(frozen=True)
class AssessmentInput:
    criterion: Criterion
    score: int | None
    verdict: str
    comment: str


@transaction.atomic
def save_review(
    *,
    assignment: Assignment,
    user,
    assessments: list[AssessmentInput],
    overall_comment: str,
    submit: bool,
    now: datetime,
    request=None,
) -> Review:
    assignment = (
        Assignment.objects.select_for_update().select_related("proposal__rfp").get(pk=assignment.pk)
    )
    proposal = assignment.proposal
    if assignment.reviewer_id != user.pk or not rules.can_review(user, proposal):
        raise PermissionDenied
    review = Review.objects.filter(assignment=assignment).first()
    due = rules.review_closed_since(proposal.rfp, review, now)
    if due is not None:
        raise EvaluationError(
            _("The review due date has passed (%(due)s); ask the staff to reopen it.")
            % {"due": deadlines.format_deadline(due, deadlines.AOE_ZONE_NAME)}
        )
    if review is None:
        review = Review.objects.create(assignment=assignment, updated_at=now)
    if review.state == Review.State.SUBMITTED and not submit:
        raise EvaluationError(_("This review is submitted; it can be edited by submitting again."))
    for item in assessments:
        criterion = item.criterion
        if criterion.rfp_id != proposal.rfp_id:
            raise PermissionDenied
        if criterion.is_gate:
            if item.verdict and item.verdict not in Assessment.Verdict.values:
                raise EvaluationError(_("Choose pass, fail or unsure."))
        elif item.score is not None and not (
            criterion.scale_min <= item.score <= criterion.scale_max
        ):
            raise EvaluationError(
                _("%(name)s: a score must be between %(low)s and %(high)s.")
                % {"name": criterion.name, "low": criterion.scale_min, "high": criterion.scale_max}
            )
        Assessment.objects.update_or_create(
            review=review,
            criterion=criterion,
            defaults={
                "score": None if criterion.is_gate else item.score,
                "verdict": item.verdict if criterion.is_gate else "",
                "comment": item.comment.strip(),
            },
        )
    review.overall_comment = overall_comment.strip()
    review.updated_at = now
    if submit:
        missing = [
            a.criterion.name
            for a in review.assessments.select_related("criterion")
            if (a.criterion.is_gate and not a.verdict)
            or (not a.criterion.is_gate and a.score is None)
        ]
        assessed = set(review.assessments.values_list("criterion_id", flat=True))
        missing += [c.name for c in proposal.rfp.criteria.all() if c.pk not in assessed]
        if missing:
            raise EvaluationError(
                _("Score or judge every criterion before submitting: %(missing)s")
                % {"missing": ", ".join(missing)}
            )
        first = review.state != Review.State.SUBMITTED
        review.state = Review.State.SUBMITTED
        review.submitted_at = now
        review.reopened_at = None
    review.save()
    audit.record(
        action=(AuditAction.REVIEW_SUBMITTED if submit else AuditAction.REVIEW_SAVED),
        actor=user,
        obj=proposal,
        request=request,
        at=now,
        details={
            "scores": {
                str(a.criterion_id): a.score if a.score is not None else a.verdict
                for a in review.assessments.all()
            },
            "first_submit": bool(submit and first),
        },
    )
    return review


@transaction.atomic
def reopen_review(*, review: Review, staff_user, now, request=None) -> Review:
    if not permissions.is_staff_member(staff_user):
        raise PermissionDenied
    review.state = Review.State.DRAFT
    review.reopened_at = now  # the reviewer may edit again, even past the due date
    review.save(update_fields=["state", "reopened_at"])
    audit.record(
        action=AuditAction.REVIEW_REOPENED,
        actor=staff_user,
        obj=review.assignment.proposal,
        request=request,
        at=now,
        details={"reviewer": review.assignment.reviewer.email},
    )
    return review
