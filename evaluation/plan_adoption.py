"""The funding plan for staff's pages (issue 17, points 3 and 4): the plan computed from an RFP's
reviews and requested amounts (evaluation.funding_plan), the band at its funding line
(evaluation.uncertainty), the lotteries drawn among that band (evaluation.lottery), and adopting
a plan as draft decisions.

Which score the plan maximises: the calibrated Overall (evaluation.calibration) when the reviews
allow calibrating, else the raw Overall; `PlanView.calibrated` and `score_note` say which and
why, as the page must.

Adopting writes one draft decision per submitted proposal through
`evaluation.decisions.record_decision`, so a plan's awards meet the same checks as an award
typed by hand (caps, sealed, published), all in one transaction: a refusal writes nothing.
Funded proposals are selected with the plan's awards; the others are not selected. Each gets a
rationale in plain words (the plan, its objective, the proposal's score and rank) that staff can
edit on its decision page. Decisions already recorded are kept unless staff choose to overwrite
them. Adopting publishes nothing: staff still publish through the usual confirmation.

Over 400 lines: the plan as staff see it (scores chosen, band, lottery offer) and its adoption
as draft decisions read the same computed plan; apart, the adoption would recompute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from django.db import transaction
from django.utils.translation import gettext as _

from evaluation import (
    dashboard,
    decisions,
    funding_plan,
    lottery,
    scoring,
    uncertainty,
)
from evaluation.models import Decision, Lottery
from proposals import rules as proposal_rules
from proposals.models import RFP, Feature, Proposal
from rfp_portal import audit
from rfp_portal.audit import AuditAction
from rfp_portal.formatting import money, number

MAX_CONTRACTORS = 10


def objective_words(objective: str) -> str:
    """What an objective maximises, in words."""
    return {
        "score": _("the highest total score"),
        "score_per_dollar": _("the most score per dollar"),
        "coverage": _("as many features funded as possible, then the highest score"),
    }[objective]


@dataclass(frozen=True)
class Entry:
    """One submitted proposal as the plan sees it."""

    proposal: Proposal
    score: Decimal | None  # the Overall the plan uses, rounded for display
    raw: Decimal | None  # the raw Overall, rounded for display
    rank: int | None  # by the score the plan uses, among proposals with one (1: the best)
    gates_passed: bool
    funded: dict[int, Decimal]  # {feature id: amount} in the plan
    locked: bool
    excluded: bool
    decision: Decision | None

    @property
    def is_funded(self) -> bool:
        return bool(self.funded)


@dataclass(frozen=True)
class PlanView:
    rfp: RFP
    options: funding_plan.Options
    funding: funding_plan.FundingPlan
    entries: list[Entry]
    calibrated: bool
    score_note: str  # which score the plan uses, and why
    places: int  # the funding line: the plan's funded proposals, or staff's own line
    uncertainty: uncertainty.Uncertainty | None
    band: list[tuple[Entry, uncertainty.RankInterval]]  # in the band, by expected rank
    band_places: int  # the places left for the band once the clearly funded are counted
    lotteries: list[lottery.PublicRecord]
    published: bool
    ranked: int = 0  # proposals with a score
    labels: dict[int, str] = field(default_factory=dict)

    @property
    def plan(self) -> funding_plan.Plan:
        return self.funding.plan

    @property
    def lottery_offered(self) -> bool:
        """A lottery helps when the band has more proposals than places left for it."""
        return not self.published and 1 <= self.band_places < len(self.band)

    @property
    def value_sentence(self) -> str:
        return value_sentence(self.plan)

    def entry(self, proposal_id: int) -> Entry | None:
        return next((e for e in self.entries if e.proposal.pk == proposal_id), None)

    @property
    def feature_rows(self) -> list[tuple[funding_plan.FeatureLine, decisions.AwardLine]]:
        """Each feature's line of the plan with its awards against budget and cap, in words."""
        totals = decisions.award_totals(
            [line.feature for line in self.plan.lines],
            [{str(a.feature_id): str(a.amount)} for a in self.plan.awards],
            total_cap=self.rfp.total_cap,
            currency=self.rfp.currency,
        )
        return list(zip(self.plan.lines, totals.lines, strict=True))

    @property
    def feature_names(self) -> dict[int, str]:
        return {line.feature.id: line.feature.name for line in self.plan.lines}

    @property
    def total_sentence(self) -> str:
        plan, cur = self.plan, self.rfp.currency
        values = {
            "total": money(plan.total, cur),
            "limit": money(plan.total_limit, cur),
            "left": money(plan.total_limit - plan.total, cur),
        }
        if plan.rfp_total_cap:
            return (
                _("In all %(total)s, within the RFP's total cap of %(limit)s (%(left)s left).")
                % values
            )
        return (
            _(
                "In all %(total)s, within the sum of the feature budgets, %(limit)s (%(left)s "
                "left): the RFP publishes no total cap, so going over one budget is made up "
                "elsewhere."
            )
            % values
        )

    def award_list(self, awards) -> str:
        """Awards in words: "Feature: Proposal (USD 1,000); …"."""
        names = {line.feature.id: line.feature.name for line in self.plan.lines}
        return "; ".join(
            f"{names.get(a.feature_id, a.feature_id)}: {self.labels.get(a.proposal_id, '')} "
            f"({money(a.amount, self.rfp.currency)})"
            for a in awards
        )

    @property
    def sensitivity_rows(self) -> list[tuple[str, list[str]]]:
        """What a budget 10 % lower or higher changes, in words."""
        rows = []
        for change in self.funding.sensitivity:
            percent = number(abs(change.factor - 1) * 100, 0)
            title = (
                _("Budgets, caps and the total %(percent)s %% lower")
                if change.factor < 1
                else _("Budgets, caps and the total %(percent)s %% higher")
            ) % {"percent": percent}
            lines = []
            if not change.plan.feasible:
                lines.extend(change.plan.messages)
            elif not self.plan.feasible:
                lines.append(
                    _("A plan can be made: %(awards)s.")
                    % {"awards": self.award_list(change.plan.awards) or _("nothing funded")}
                )
            else:
                if change.added:
                    lines.append(
                        _("Added: %(awards)s.") % {"awards": self.award_list(change.added)}
                    )
                if change.removed:
                    lines.append(
                        _("Removed: %(awards)s.") % {"awards": self.award_list(change.removed)}
                    )
                if not lines:
                    lines.append(_("The same awards."))
            rows.append((title, lines))
        return rows


def value_sentence(plan: funding_plan.Plan) -> str:
    """What the plan's value means, in words."""
    worth = number(Decimal(plan.value.numerator) / Decimal(plan.value.denominator), 2)
    if plan.objective == "score_per_dollar":
        return _(
            "The plan is worth %(value)s: each funded proposal's Overall, weighted by its "
            "feature's share of the total budget and by the feature's budget over the amount "
            "it asked (a bid under budget counts more)."
        ) % {"value": worth}
    text = _(
        "The plan is worth %(value)s: each funded proposal's Overall, weighted by its feature's "
        "share of the total budget. One proposal funded for every feature would be worth its "
        "Overall; work left unfunded adds nothing."
    ) % {"value": worth}
    if plan.objective == "coverage":
        text = (
            _("%(covered)s of %(features)s features are funded. ")
            % {"covered": plan.features_covered, "features": len(plan.lines)}
            + text
        )
    return text


def submitted_proposals(rfp: RFP):
    return Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED).order_by("pk")


def lotteries_of(rfp: RFP):
    return Lottery.objects.filter(rfp=rfp).select_related("committed_by", "drawn_by")


def _features(rfp: RFP) -> list[Feature]:
    return list(
        Feature.objects.filter(milestone__rfp=rfp)
        .select_related("milestone")
        .order_by("milestone__position", "position")
    )


def build(rfp: RFP, options: funding_plan.Options, *, line: int | None = None) -> PlanView:
    """The plan for the RFP under staff's options, with the band at its funding line (the
    number of proposals it funds, or `line`) and the RFP's lotteries."""
    board = dashboard.build(rfp)
    features = _features(rfp)
    # The dashboard's calibration: `calibration.calibrate_rfp` on the same scores (submitted
    # reviews of submitted proposals), computed once and remembered there.
    fit = board.calibration
    values = None
    if fit.usable:
        values = {
            pid: Fraction(p.overall) for pid, p in fit.proposals.items() if p.overall is not None
        }
        note = _(
            "Scores: calibrated Overall, with each reviewer's leniency taken out (the raw "
            "Overall is shown next to it)."
        )
    else:
        note = fit.message or _("Scores: raw Overall.")
    problem = funding_plan.problem_from_dashboard(board, features, values=values, options=options)
    funding = funding_plan.plan_funding(problem)
    plan = funding.plan
    awarded = plan.awards_by_proposal()
    values_by_id = {c.id: Fraction(c.value) for c in problem.candidates}
    ordered = sorted(values_by_id.values(), reverse=True)
    entries = []
    for row in board.rows:
        pid = row.proposal.pk
        value = values_by_id.get(pid)
        shown = None
        if value is not None:
            shown = (
                fit.proposals[pid].overall_points()
                if fit.usable
                else scoring.overall_points(row.result)
            )
        entries.append(
            Entry(
                proposal=row.proposal,
                score=shown,
                raw=scoring.overall_points(row.result),
                rank=None if value is None else 1 + sum(1 for v in ordered if v > value),
                gates_passed=not row.result.gate_failed,
                funded=awarded.get(pid, {}),
                locked=pid in options.locked,
                excluded=pid in options.excluded,
                decision=row.decision,
            )
        )
    entries.sort(key=lambda e: (e.rank is None, e.rank or 0, e.proposal.pk))
    places = line or len(awarded)
    spread = None
    band: list[tuple[Entry, uncertainty.RankInterval]] = []
    band_places = 0
    if places >= 1:
        # The dashboard's reading of the submitted reviews (dashboard.read_reviews) and its
        # scores of them; proposals without a review are left out here.
        spread = uncertainty.rank_intervals(
            {pid: given for pid, given in board.reviews.items() if given},
            board.specs,
            places=places,
            # The dashboard's seed: at the same line, the same intervals and band as the
            # dashboard and the report show, on every visit and every machine.
            rng=dashboard.seed_of(rfp),
            results=board.results,
        )
        by_id = {e.proposal.pk: e for e in entries}
        band = [
            (by_id[i.proposal_id], i)
            for i in spread.intervals
            if i.in_band and i.proposal_id in by_id
        ]
        clearly = sum(1 for i in spread.intervals if not i.in_band and i.high <= places)
        band_places = places - clearly
    return PlanView(
        rfp=rfp,
        options=options,
        funding=funding,
        entries=entries,
        calibrated=fit.usable,
        score_note=note,
        places=places,
        uncertainty=spread,
        band=band,
        band_places=band_places,
        lotteries=[lottery.public_record(lot) for lot in lotteries_of(rfp)],
        published=decisions.is_published(rfp),
        ranked=len(values_by_id),
        labels={e.proposal.pk: e.proposal.title for e in entries},
    )


# --- Adopting a plan as draft decisions ---------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    entry: Entry
    outcome: str
    awards: dict[int, Decimal]
    rationale: str

    @property
    def existing(self) -> Decision | None:
        return self.entry.decision


def _award_words(view: PlanView, awards: dict[int, Decimal]) -> str:
    names = {line.feature.id: line.feature.name for line in view.plan.lines}
    return "; ".join(
        f"{names.get(fid, fid)}: {money(amount, view.rfp.currency)}"
        for fid, amount in awards.items()
    )


def _rationale(view: PlanView, entry: Entry) -> str:
    objective = objective_words(view.options.objective)
    which = _("calibrated") if view.calibrated else _("raw")
    if entry.is_funded:
        return _(
            "Selected in the funding plan, which looks for %(objective)s within the features' "
            "budgets and caps. Its %(which)s Overall is %(score)s, ranked %(rank)s of %(count)s. "
            "Awarded %(awards)s."
        ) % {
            "objective": objective,
            "which": which,
            "score": number(entry.score, 2),
            "rank": entry.rank,
            "count": view.ranked,
            "awards": _award_words(view, entry.funded),
        }
    if entry.excluded:
        return _("Not selected: staff left it out of the funding plan.")
    if not entry.gates_passed:
        return _("Not selected: it did not pass every gate of the review.")
    if entry.score is None:
        return _("Not selected: it has no submitted score.")
    return _(
        "Not selected in the funding plan, which looks for %(objective)s within the features' "
        "budgets and caps. Its %(which)s Overall is %(score)s, ranked %(rank)s of %(count)s; "
        "the plan's budgets and caps went to proposals that add more."
    ) % {
        "objective": objective,
        "which": which,
        "score": number(entry.score, 2),
        "rank": entry.rank,
        "count": view.ranked,
    }


def drafts(view: PlanView) -> list[Draft]:
    """The draft decision adopting the plan writes for each submitted proposal."""
    return [
        Draft(
            entry=entry,
            outcome=Decision.Outcome.SELECTED if entry.is_funded else Decision.Outcome.NOT_SELECTED,
            awards=dict(entry.funded),
            rationale=_rationale(view, entry),
        )
        for entry in view.entries
    ]


@dataclass(frozen=True)
class Adopted:
    selected: int
    not_selected: int
    overwritten: int
    kept: int  # existing decisions left as they were


@transaction.atomic
def adopt(
    *,
    rfp: RFP,
    options: funding_plan.Options,
    overwrite: bool,
    actor,
    now: datetime,
    request=None,
) -> Adopted:
    """Fill in draft decisions from the plan (see the module's docstring); DecisionError when
    the RFP is sealed or published or the plan cannot be made."""
    if proposal_rules.is_sealed(rfp):
        raise decisions.DecisionError(_("Proposals are still sealed."))
    if decisions.is_published(rfp):
        raise decisions.DecisionError(
            _("Decisions for this RFP are published and can no longer change.")
        )
    view = build(rfp, options)
    if not view.plan.feasible:
        raise decisions.DecisionError(
            _("There is no plan to adopt: %(why)s") % {"why": " ".join(view.plan.messages)}
        )
    selected = not_selected = overwritten = kept = 0
    for draft in drafts(view):
        if draft.existing is not None:
            if not overwrite:
                kept += 1
                continue
            overwritten += 1
        decisions.record_decision(
            proposal=draft.entry.proposal,
            staff_user=actor,
            outcome=draft.outcome,
            rationale=draft.rationale,
            awards=draft.awards,
            confirm_over_cap=False,
            now=now,
            request=request,
        )
        if draft.outcome == Decision.Outcome.SELECTED:
            selected += 1
        else:
            not_selected += 1
    audit.record(
        action=AuditAction.PLAN_ADOPTED,
        actor=actor,
        obj=rfp,
        request=request,
        at=now,
        details={
            "objective": options.objective,
            "contractors_per_feature": options.max_contractors_per_feature,
            "whole_proposals": not options.allow_partial,
            "locked": sorted(options.locked),
            "excluded": sorted(options.excluded),
            "calibrated": view.calibrated,
            "selected": selected,
            "not_selected": not_selected,
            "overwritten": overwritten,
            "kept": kept,
            "total": str(view.plan.total),
        },
    )
    return Adopted(selected, not_selected, overwritten, kept)


def commit_band_lottery(
    *, rfp: RFP, options: funding_plan.Options, line: int | None, actor, now: datetime, request=None
) -> Lottery:
    """Commit a lottery among the band at the plan's funding line, for the places left to it
    (evaluation.lottery.commit; LotteryError when there is no band to draw among)."""
    view = build(rfp, options, line=line)
    if not view.lottery_offered:
        raise lottery.LotteryError(
            _("The band at the funding line has no more proposals than places: no lottery needed.")
        )
    return lottery.commit(
        rfp=rfp,
        candidates=[e.proposal.pk for e, _i in view.band],
        places=view.band_places,
        actor=actor,
        now=now,
        note=_("Band at the funding line after place %(places)s.") % {"places": view.places},
        request=request,
    )
