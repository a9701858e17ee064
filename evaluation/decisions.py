"""Decisions (rule 8): recorded per proposal with a rationale, published in one batch.

Publishing queues one templated mail per team member (idempotency key per proposal and
person), so publishing twice sends nothing more. The debrief shows a proposer their own
scores and the rationale, never anything about other proposals. Its scores are the raw means
unless staff chose calibrated ones when publishing (offered only while evaluation.calibration
finds calibration usable); the debrief says which, and never shows a reviewer's leniency.

Awards are totalled here, once, for the decision page, the mail, the debrief and the report:
per feature against its budget and cap, and in all against the RFP's total cap (the standing of
an amount is proposals.budget's rule). The Overall score's definition is written here too, with
the criterion means and weights it uses (scoring's words), so every reader can recompute it.

Over 400 lines: recording, the award totals against budgets and caps, publishing and the
debrief all apply the same rule about caps and what a team may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _

from evaluation import calibration, scoring
from evaluation.models import Decision, DecisionRelease, Review
from proposals import budget
from proposals import rules as proposal_rules
from proposals.models import RFP, Feature, Proposal
from rfp_portal import audit, outbox
from rfp_portal.audit import AuditAction
from rfp_portal.formatting import money


class DecisionError(Exception):
    pass


# Which scores the proposers' debriefs show (DecisionRelease.debrief_scores): raw unless staff
# choose calibrated when publishing, which they may only while calibration is usable.
RAW = DecisionRelease.DebriefScores.RAW
CALIBRATED = DecisionRelease.DebriefScores.CALIBRATED


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
                    % {
                        "feature": feature.name,
                        "amount": money(amount, rfp.currency),
                        "cap": money(feature.cap, rfp.currency),
                    }
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


def _team_recipients(proposals):
    """(proposal, member) for every person on the teams of these proposals: who a mail to the
    teams reaches. _mail_teams sends to exactly these; the confirmation pages count them."""
    for proposal in proposals:
        for member in proposal.members.select_related("user"):
            yield proposal, member


@dataclass(frozen=True)
class TeamsMailPreview:
    """What a mail to every team (preliminary status or the decisions) would reach."""

    proposals: int
    people: int
    undecided: list[Proposal]
    published_at: datetime | None
    preliminary_sent_at: datetime | None


def teams_mail_preview(rfp: RFP) -> TeamsMailPreview:
    """For the confirmation pages: the teams and people publish_decisions and send_preliminary
    mail (the same proposals, the same _team_recipients), and the proposals still without a
    decision (publish_decisions refuses while there are any)."""
    proposals = list(_teams_to_mail(rfp))
    decided = set(
        Decision.objects.filter(proposal__in=proposals).values_list("proposal_id", flat=True)
    )
    release = release_of(rfp)
    return TeamsMailPreview(
        proposals=len(proposals),
        people=sum(1 for _pair in _team_recipients(proposals)),
        undecided=[p for p in proposals if p.pk not in decided],
        published_at=release.published_at,
        preliminary_sent_at=release.preliminary_sent_at,
    )


def _teams_to_mail(rfp: RFP):
    return Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED).order_by("pk")


def _mail_teams(rfp: RFP, proposals, *, key: str, template: str, extra: dict) -> int:
    queued = 0
    debriefs: dict[int, Debrief | None] = {}  # one per proposal, for all its team
    calibrated = None  # calibrated once for all the proposals, when the debriefs show it
    if template.endswith("decision") and release_of(rfp).debrief_scores == CALIBRATED:
        calibrated = calibration.calibrate_rfp(rfp)
    for proposal, member in _team_recipients(proposals):
        ctx = {
            "rfp": rfp,
            "proposal": proposal,
            "user": member.user,
            "site_url": settings.SITE_URL,
            **extra,
        }
        if template.endswith("decision"):
            if proposal.pk not in debriefs:
                debriefs[proposal.pk] = debrief(proposal, calibrated=calibrated)
            ctx["debrief"] = debriefs[proposal.pk]
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
    proposals = _teams_to_mail(rfp)
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


@dataclass(frozen=True)
class DebriefScoresOffer:
    """Which scores staff may choose for the debriefs when publishing: raw always, calibrated
    only when calibration is usable for the RFP (`reason` says why not, for staff)."""

    calibrated: bool
    reason: str  # "" when calibrated is offered: Calibration.message otherwise


def debrief_scores_offer(rfp: RFP) -> DebriefScoresOffer:
    result = calibration.calibrate_rfp(rfp)
    return DebriefScoresOffer(calibrated=result.usable, reason=result.message)


def calibrated_refusal(reason: str) -> str:
    """Why calibrated debrief scores were refused, in one sentence and the reason."""
    return _("The debriefs cannot show calibrated scores for this RFP. %(reason)s") % {
        "reason": reason
    }


@transaction.atomic
def publish_decisions(
    *, rfp: RFP, staff_user, now: datetime, request=None, debrief_scores: str = RAW
) -> PublishResult:
    """Publish every decision at once and mail every team its debrief. debrief_scores: RAW
    (the mean of the submitted reviews) or CALIBRATED (refused unless calibration is usable)."""
    # Sealed: nothing to decide yet, and the refusal below would name sealed proposals.
    if proposal_rules.is_sealed(rfp):
        raise DecisionError(_("Proposals are still sealed."))
    if debrief_scores not in DecisionRelease.DebriefScores.values:
        raise DecisionError(_("Choose which scores the debriefs show: raw or calibrated."))
    release = DecisionRelease.objects.select_for_update().get(pk=release_of(rfp).pk)
    if release.published_at is not None:
        return PublishResult(published=False, mails=0)
    proposals = list(_teams_to_mail(rfp))
    undecided = [p.title for p in proposals if not Decision.objects.filter(proposal=p).exists()]
    if undecided:
        raise DecisionError(
            _("Record a decision for every proposal first: %(missing)s")
            % {"missing": ", ".join(undecided)}
        )
    if debrief_scores == CALIBRATED:
        offer = debrief_scores_offer(rfp)
        if not offer.calibrated:
            raise DecisionError(calibrated_refusal(offer.reason))
    release.published_at = now
    release.published_by = staff_user
    release.debrief_scores = debrief_scores
    release.save(update_fields=["published_at", "published_by", "debrief_scores"])
    count = _mail_teams(
        rfp, proposals, key=f"decision:{rfp.pk}", template="evaluation/email/decision", extra={}
    )
    audit.record(
        action=AuditAction.DECISION_PUBLISHED,
        actor=staff_user,
        obj=rfp,
        request=request,
        at=now,
        details={"proposals": len(proposals), "mails": count, "debrief_scores": debrief_scores},
    )
    return PublishResult(published=True, mails=count)


# --- Awards by feature ----------------------------------------------------------------------


@dataclass(frozen=True)
class AwardLine:
    """One feature: the amount awarded (one proposal's, or the sum over the selected ones)
    against the feature's budget and cap."""

    feature_id: int
    name: str
    amount: Decimal | None  # None: nothing awarded for this feature
    budget: Decimal
    cap: Decimal
    standing: budget.Standing
    proposals: int  # how many selected proposals the amount is awarded to
    currency: str

    @property
    def awarded(self) -> bool:
        return self.amount is not None

    @property
    def over_cap(self) -> bool:
        return self.standing == budget.Standing.OVER_CAP

    @property
    def explanation(self) -> str:
        """The standing in words (in the language active when read)."""
        if self.standing == budget.Standing.NOT_REQUESTED:
            return _("Not awarded")
        if self.standing == budget.Standing.WITHIN_BUDGET:
            return _("Within budget")
        if self.standing == budget.Standing.OVER_BUDGET_WITHIN_CAP:
            return _("Over budget by %(over)s, within the cap") % {
                "over": money(self.amount - self.budget, self.currency)
            }
        return _("Over the cap by %(over)s") % {
            "over": money(self.amount - self.cap, self.currency)
        }


@dataclass(frozen=True)
class AwardTotals:
    """Awards by feature and in all, against budgets, caps and the RFP's total cap."""

    lines: list[AwardLine]
    total: Decimal
    total_budget: Decimal
    total_cap: Decimal
    rfp_total_cap: bool  # True: the RFP publishes a total cap; False: the sum of feature budgets
    currency: str

    @property
    def awarded(self) -> list[AwardLine]:
        return [line for line in self.lines if line.awarded]

    @property
    def within_total_cap(self) -> bool:
        return self.total <= self.total_cap

    @property
    def any_over_cap(self) -> bool:
        return any(line.over_cap for line in self.lines)

    @property
    def cap_name(self) -> str:
        return (
            _("the RFP's total cap") if self.rfp_total_cap else _("the sum of the feature budgets")
        )

    @property
    def explanation(self) -> str:
        """The total against the total cap, in words."""
        values = {
            "total": money(self.total, self.currency),
            "cap_name": self.cap_name,
            "cap": money(self.total_cap, self.currency),
        }
        if self.within_total_cap:
            return _("Total awarded %(total)s, within %(cap_name)s of %(cap)s (%(left)s left).") % {
                **values,
                "left": money(self.total_cap - self.total, self.currency),
            }
        return _("Total awarded %(total)s, over %(cap_name)s of %(cap)s by %(over)s.") % {
            **values,
            "over": money(self.total - self.total_cap, self.currency),
        }


def award_totals(
    features, awards: Iterable[Mapping[str, str]], *, total_cap: Decimal | None, currency: str
) -> AwardTotals:
    """Sum awards ({feature id: "amount"} each, as decisions store them) per feature and in
    all. features: objects with id, name, budget and cap, in the order to list them; the
    standing of each sum is proposals.budget's rule, the total cap the RFP's own (or, when it
    publishes none, the sum of the feature budgets: proposals.budget.total_limit)."""
    sums: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    for award in awards:
        for feature_id, amount in award.items():
            value = Decimal(str(amount))
            if not value:
                continue
            key = int(feature_id)
            sums[key] = sums.get(key, Decimal(0)) + value
            counts[key] = counts.get(key, 0) + 1
    check = budget.check_budget(features, sums, total_cap=total_cap)
    return AwardTotals(
        lines=[
            AwardLine(
                feature_id=f.feature_id,
                name=f.name,
                amount=f.requested,
                budget=f.budget,
                cap=f.cap,
                standing=f.standing,
                proposals=counts.get(f.feature_id, 0),
                currency=currency,
            )
            for f in check.features
        ],
        total=check.total_requested,
        total_budget=check.total_budget,
        total_cap=check.total_cap,
        rfp_total_cap=total_cap is not None,
        currency=currency,
    )


def _features(rfp: RFP) -> list[Feature]:
    return list(
        Feature.objects.filter(milestone__rfp=rfp).order_by("milestone__position", "position")
    )


def decision_awards(decision: Decision | None, rfp: RFP, features=None) -> AwardTotals:
    """One decision's awards by feature, against budgets, caps and the RFP's total cap."""
    awards = [decision.awards] if decision and decision.outcome == Decision.Outcome.SELECTED else []
    return award_totals(
        _features(rfp) if features is None else features,
        awards,
        total_cap=rfp.total_cap,
        currency=rfp.currency,
    )


def rfp_awards(rfp: RFP, features=None) -> AwardTotals:
    """Every selected proposal's awards summed per feature and in all (staff only: it is
    about every proposal)."""
    awards = Decision.objects.filter(
        proposal__rfp=rfp,
        proposal__state=Proposal.State.SUBMITTED,
        outcome=Decision.Outcome.SELECTED,
    ).values_list("awards", flat=True)
    return award_totals(
        _features(rfp) if features is None else features,
        list(awards),
        total_cap=rfp.total_cap,
        currency=rfp.currency,
    )


# --- The Overall score, explained ------------------------------------------------------------
# The definition and the worked sum are evaluation.scoring's (overall_rule, overall_formula), so
# the debrief, the mail and the report say what the dashboard says.


def _number(value, places: int = 2) -> str:
    return formats.number_format(value, places)


def scale_text(criteria) -> str:
    """The scale the criteria are scored on, in words: "1 to 5"; each criterion's when they
    differ ("Cost 0 to 10; Quality 1 to 5")."""
    scales = list(dict.fromkeys((c.scale_min, c.scale_max) for c in criteria))
    if len(scales) == 1:
        low, high = scales[0]
        return _("%(low)s to %(high)s") % {"low": low, "high": high}
    return "; ".join(
        _("%(name)s %(low)s to %(high)s")
        % {"name": c.name, "low": c.scale_min, "high": c.scale_max}
        for c in criteria
    )


def overall_definition(
    criteria, result: scoring.ProposalResult | None = None, *, calibrated: bool = False
) -> str:
    """Overall's definition in one sentence, with the weights (criteria: the RFP's criteria);
    with a result, followed by that proposal's weighted mean worked out from the means shown.
    calibrated: the means shown (and in `result`) are the calibrated ones, and it says so."""
    sentence = scoring.overall_rule(scoring.criterion_specs(criteria)).sentence()
    if calibrated and sentence:
        sentence = f"{sentence} " + _("The criterion means are the calibrated ones shown above.")
    formula = scoring.overall_formula(result) if result is not None else ""
    if not formula:
        return sentence
    return f"{sentence} " + _("For this proposal: %(formula)s.") % {"formula": formula}


@dataclass(frozen=True)
class CriterionScore:
    name: str
    mean: Decimal | None  # rounded for display, as every page shows it
    count: int  # reviews that scored it
    weight: Decimal
    scale_min: int
    scale_max: int

    @property
    def scale(self) -> str:
        return _("%(low)s to %(high)s") % {"low": self.scale_min, "high": self.scale_max}

    @property
    def weight_text(self) -> str:
        return scoring.weight_text(scoring.as_fraction(self.weight))

    @property
    def mean_text(self) -> str:
        return "—" if self.mean is None else _number(self.mean)


@dataclass(frozen=True)
class Debrief:
    decision: Decision
    criteria: list[CriterionScore]  # the scored criteria, in the RFP's order
    overall: Decimal | None  # scoring.overall_points: the figure every page shows
    award_totals: AwardTotals
    definition: str  # overall_definition, in the language active when the debrief was made
    # RAW: the means of the submitted reviews; CALIBRATED: the calibrated means and Overall
    # (the release says so and calibration is usable). Never a reviewer's leniency.
    score_kind: str = RAW

    @property
    def calibrated(self) -> bool:
        return self.score_kind == CALIBRATED

    @property
    def caption(self) -> str:
        """The scores table's caption: which scores, on which scale."""
        if self.calibrated:
            return _("Your calibrated scores (on a scale of %(scale)s)") % {"scale": self.scale}
        return _("Your scores (mean of the submitted reviews, on a scale of %(scale)s)") % {
            "scale": self.scale
        }

    @property
    def scores_note(self) -> str:
        """Which scores these are, in words for the team (nothing about any one reviewer)."""
        if self.calibrated:
            return _(
                "These are calibrated scores: each reviewer's general leniency or severity, "
                "estimated across all the proposals they reviewed, was taken out before "
                "averaging, so the figures can differ from the plain mean of the reviews."
            )
        return _(
            "These are the scores as the reviewers gave them: the mean of the submitted reviews."
        )

    @property
    def scores(self) -> list[tuple[str, Decimal | None, int]]:
        """(criterion name, mean, number of reviews): the older shape, kept for callers."""
        return [(c.name, c.mean, c.count) for c in self.criteria]

    @property
    def awards(self) -> list[tuple[str, Decimal]]:
        """(feature name, amount) for each feature awarded."""
        return [(line.name, line.amount) for line in self.award_totals.awarded]

    @property
    def scale(self) -> str:
        return scale_text(self.criteria)

    @property
    def overall_text(self) -> str:
        return "—" if self.overall is None else _number(self.overall)


def _calibrated_result(
    result: scoring.ProposalResult,
    calibrated: calibration.CalibratedProposal,
    specs: list[scoring.CriterionSpec],
) -> scoring.ProposalResult:
    """`result` with the calibrated criterion means (each on its own scale and, converted, on
    the Overall's) and the calibrated Overall in place of the raw ones, so that the table and
    scoring.overall_formula show the calibrated figures and their sum (median and spread, which
    calibration does not give, left out)."""
    scale = scoring.overall_scale(specs)
    by_key = {spec.key: spec for spec in specs}
    criteria = {}
    for key, raw in result.criteria.items():
        value = calibrated.means.get(key)
        if value is None or raw.mean is None:
            criteria[key] = raw
            continue
        mean = Fraction(value)
        criteria[key] = replace(
            raw,
            mean=mean,
            converted=by_key[key].convert(mean, scale),
            median=None,
            spread=None,
        )
    return replace(
        result,
        criteria=criteria,
        overall=Fraction(calibrated.overall),
        overall_median=None,
        overall_spread=None,
    )


def debrief(
    proposal: Proposal, *, calibrated: calibration.Calibration | None = None
) -> Debrief | None:
    """This proposal's own decision and scores, once published; None before. The scores are
    the calibrated ones when staff chose so at publishing and calibration is (still) usable,
    else the raw ones; `score_kind` says which. calibrated: calibrate_rfp(rfp), when the caller
    has it already (publishing, for every team)."""
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
    specs = scoring.criterion_specs(criteria)
    result = scoring.score_proposal(proposal.pk, reviews, specs)
    kind = RAW
    if release_of(proposal.rfp).debrief_scores == CALIBRATED:
        if calibrated is None:
            calibrated = calibration.calibrate_rfp(proposal.rfp)
        mine = calibrated.proposals.get(proposal.pk) if calibrated.usable else None
        if mine is not None and mine.overall is not None and mine.means:
            result = _calibrated_result(result, mine, specs)
            kind = CALIBRATED
    return Debrief(
        decision=decision,
        criteria=[
            CriterionScore(
                name=c.name,
                mean=scoring.as_decimal(result.criteria[c.key].mean),
                count=result.criteria[c.key].count,
                weight=Decimal(str(c.weight)),
                scale_min=c.scale_min,
                scale_max=c.scale_max,
            )
            for c in criteria
            if not c.is_gate
        ],
        overall=scoring.overall_points(result),
        award_totals=decision_awards(decision, proposal.rfp),
        definition=overall_definition(criteria, result, calibrated=kind == CALIBRATED),
        score_kind=kind,
    )
