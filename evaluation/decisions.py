"""Decisions (rule 8): recorded per proposal with a rationale, published in one batch.

Publishing queues one templated mail per team member (idempotency key per proposal and
person), so publishing twice sends nothing more. The debrief shows a proposer their own
scores and the rationale, never anything about other proposals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from evaluation import scoring
from evaluation.dashboard import criterion_specs
from evaluation.models import Decision, DecisionRelease, Review
from proposals import rules as proposal_rules
from proposals.models import RFP, Feature, Proposal
from rfp_portal import audit, outbox
from rfp_portal.audit import AuditAction


class DecisionError(Exception):
    pass


class OverCap(DecisionError):
    def __init__(self, warnings: list[str]):
        self.warnings = warnings
        super().__init__(" ".join(warnings))


def release_of(rfp: RFP) -> DecisionRelease:
    release, _created = DecisionRelease.objects.get_or_create(rfp=rfp)
    return release


def is_published(rfp: RFP) -> bool:
    return DecisionRelease.objects.filter(rfp=rfp, published_at__isnull=False).exists()


@transaction.atomic
def record_decision(
    *,
    proposal: Proposal,
    staff_user,
    outcome: str,
    rationale: str,
    awards: dict[int, Decimal],
    confirm_over_cap: bool,
    now: datetime,
    request=None,
) -> Decision:
    rfp = proposal.rfp
    if proposal_rules.is_sealed(rfp):
        raise DecisionError(_("Proposals are still sealed."))
    if is_published(rfp):
        raise DecisionError(_("Decisions for this RFP are published and can no longer change."))
    if outcome not in Decision.Outcome.values:
        raise DecisionError(_("Choose an outcome."))
    if not rationale.strip():
        raise DecisionError(_("Write the rationale: proposers see it in their debrief."))
    features = {f.pk: f for f in Feature.objects.filter(milestone__rfp=rfp)}
    clean: dict[str, str] = {}
    warnings = []
    if outcome == Decision.Outcome.SELECTED:
        for feature_id, amount in awards.items():
            if amount is None or amount == 0:
                continue
            feature = features.get(int(feature_id))
            if feature is None:
                raise DecisionError(_("That feature is not part of this RFP."))
            if amount < 0:
                raise DecisionError(_("An award cannot be negative."))
            if amount > feature.cap:
                warnings.append(
                    _("%(feature)s: %(amount)s is above the cap of %(cap)s.")
                    % {"feature": feature.name, "amount": amount, "cap": feature.cap}
                )
            clean[str(feature.pk)] = str(amount)
        if not clean:
            raise DecisionError(_("A selected proposal needs an award for at least one feature."))
        if warnings and not confirm_over_cap:
            raise OverCap(warnings)
    decision, _created = Decision.objects.update_or_create(
        proposal=proposal,
        defaults={
            "outcome": outcome,
            "rationale": rationale.strip(),
            "awards": clean,
            "decided_by": staff_user,
            "decided_at": now,
        },
    )
    audit.record(
        action=AuditAction.DECISION_RECORDED,
        actor=staff_user,
        obj=proposal,
        request=request,
        at=now,
        details={"outcome": outcome, "awards": clean, "over_cap_confirmed": bool(warnings)},
    )
    return decision


def _mail_teams(rfp: RFP, proposals, *, key: str, template: str, extra: dict) -> int:
    queued = 0
    for proposal in proposals:
        for member in proposal.members.select_related("user"):
            ctx = {
                "rfp": rfp,
                "proposal": proposal,
                "user": member.user,
                "site_url": settings.SITE_URL,
                **extra,
            }
            if template.endswith("decision"):
                ctx["debrief"] = debrief(proposal)
            outbox.queue_templated_mail(
                to=member.user.email,
                template=template,
                context=ctx,
                idempotency_key=f"{key}:{proposal.pk}:{member.user_id}",
                rfp=rfp,
                about_bidder=True,
            )
            queued += 1
    return queued


@transaction.atomic
def send_preliminary(*, rfp: RFP, staff_user, message: str, now: datetime, request=None) -> int:
    """A preliminary status to every team (e.g. "evaluation takes longer"), once."""
    if proposal_rules.is_sealed(rfp):
        raise DecisionError(_("Proposals are still sealed."))
    release = DecisionRelease.objects.select_for_update().get(pk=release_of(rfp).pk)
    if release.preliminary_sent_at is not None:
        raise DecisionError(_("The preliminary status has already been sent."))
    if not message.strip():
        raise DecisionError(_("Write the message to send."))
    release.preliminary_sent_at = now
    release.preliminary_message = message.strip()
    release.save(update_fields=["preliminary_sent_at", "preliminary_message"])
    proposals = Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED)
    count = _mail_teams(
        rfp,
        proposals,
        key=f"preliminary:{rfp.pk}",
        template="evaluation/email/preliminary",
        extra={"message": release.preliminary_message},
    )
    audit.record(
        action=AuditAction.DECISION_PRELIMINARY_SENT,
        actor=staff_user,
        obj=rfp,
        request=request,
        at=now,
        details={"mails": count},
    )
    return count


@dataclass(frozen=True)
class PublishResult:
    published: bool
    mails: int


@transaction.atomic
def publish_decisions(*, rfp: RFP, staff_user, now: datetime, request=None) -> PublishResult:
    # Sealed: nothing to decide yet, and the refusal below would name sealed proposals.
    if proposal_rules.is_sealed(rfp):
        raise DecisionError(_("Proposals are still sealed."))
    release = DecisionRelease.objects.select_for_update().get(pk=release_of(rfp).pk)
    if release.published_at is not None:
        return PublishResult(published=False, mails=0)
    proposals = list(Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED))
    undecided = [p.title for p in proposals if not Decision.objects.filter(proposal=p).exists()]
    if undecided:
        raise DecisionError(
            _("Record a decision for every proposal first: %(missing)s")
            % {"missing": ", ".join(undecided)}
        )
    release.published_at = now
    release.published_by = staff_user
    release.save(update_fields=["published_at", "published_by"])
    count = _mail_teams(
        rfp, proposals, key=f"decision:{rfp.pk}", template="evaluation/email/decision", extra={}
    )
    audit.record(
        action=AuditAction.DECISION_PUBLISHED,
        actor=staff_user,
        obj=rfp,
        request=request,
        at=now,
        details={"proposals": len(proposals), "mails": count},
    )
    return PublishResult(published=True, mails=count)


@dataclass(frozen=True)
class Debrief:
    decision: Decision
    scores: list[tuple[str, Decimal | None, int]]  # criterion name, mean, number of reviews
    overall: Decimal | None
    awards: list[tuple[str, str]]


def debrief(proposal: Proposal) -> Debrief | None:
    """This proposal's own decision and scores, once published; None before."""
    if not is_published(proposal.rfp):
        return None
    decision = Decision.objects.filter(proposal=proposal).first()
    if decision is None:
        return None
    criteria = list(proposal.rfp.criteria.all())
    reviews = []
    for review in Review.objects.filter(
        assignment__proposal=proposal, state=Review.State.SUBMITTED
    ).prefetch_related("assessments"):
        by_criterion = {a.criterion_id: a for a in review.assessments.all()}
        reviews.append(
            scoring.ReviewInput(
                review.assignment_id,
                {c.key: by_criterion[c.pk].score for c in criteria if c.pk in by_criterion},
                {c.key: by_criterion[c.pk].verdict for c in criteria if c.pk in by_criterion},
            )
        )
    result = scoring.score_proposal(proposal.pk, reviews, criterion_specs(criteria))
    features = {str(f.pk): f.name for f in Feature.objects.filter(milestone__rfp=proposal.rfp)}
    return Debrief(
        decision=decision,
        scores=[
            (c.name, scoring.as_decimal(result.criteria[c.key].mean), result.criteria[c.key].count)
            for c in criteria
            if not c.is_gate
        ],
        overall=scoring.on_scale(result.overall),
        awards=[(features.get(fid, fid), amount) for fid, amount in decision.awards.items()],
    )
