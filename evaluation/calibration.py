"""Calibrated scores (issue 17): each reviewer's leniency estimated and taken out of the means.

Plain values in, plain values out; `calibrate_rfp` reads an RFP's submitted reviews.

Every score is written on the Overall's scale (converted as `evaluation.scoring` converts a
mean) and read as score = quality[proposal, criterion] + leniency[reviewer] + noise, fitted by
least squares with a ridge penalty on the leniencies (scipy's sparse `lsqr` on the augmented
system). The leniencies sum to zero (shifting every leniency one way and every quality the other
changes no residual, and the penalty is smallest at zero sum), so one reads "scores 0.6 points
above the panel on average". A calibrated criterion mean is the raw mean less the average
leniency of the proposal's reviewers (qualities are not penalised): what a reviewer of the
panel's average leniency would have given. The calibrated Overall is their weighted mean, as
`scoring` defines the raw one; it may leave the scale a little and is not clipped (no ties made).

One leniency per reviewer, not one per criterion: with 3-10 reviewers and 2-4 reviews per
proposal, a per-criterion leniency rests on a handful of scores and mostly measures noise, while
leniency ("hawks and doves") is mostly a trait of the reviewer. The cost: a reviewer harsh on one
criterion only is spread over all.

The ridge is estimated (empirical Bayes, `_estimated_ridge`): the noise of one review over the
spread of the leniencies. Where reviewers differ no more than their disagreement explains, it is
infinite and nothing is taken out. A fixed ridge of 1 (the first choice) cost up to 0.068 of
Kendall's tau against raw means where there was no leniency and each reviewer read four
proposals; the estimated ridge costs 0.019 there, and at most 0.004 of the gain where there is
leniency (bench/README.md).

Not done (raw scores only, and `Calibration.message` says why for staff) when fewer than two
reviewers scored; when the reviewers fall into groups with no proposal in common (the graph of
reviewers and (proposal, criterion) pairs is disconnected), since one group's leniency cannot be
told from the quality of what it read; or when a reviewer scored fewer than MIN_PROPOSALS (3)
proposals, or fewer than MIN_SHARED (2) that someone else scored too, since their leniency would
rest on one or two comparisons. The thresholds are low on purpose (small panels are the rule);
they also leave the noise estimate at least one degree of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

from evaluation import scoring
from evaluation.models import Assessment, Review
from proposals.models import RFP, Criterion, Proposal

FLOOR = 1e-6  # the smallest ridge: the fit stays unique without shrinking anything
MIN_PROPOSALS = 3  # proposals a reviewer must have scored
MIN_SHARED = 2  # of which also scored by another reviewer

# Why calibration was not done (Calibration.reason).
NO_SCORES = "no_scores"
ONE_REVIEWER = "one_reviewer"
DISCONNECTED = "disconnected"
FEW_PROPOSALS = "few_proposals"
FEW_SHARED = "few_shared"


@dataclass(frozen=True)
class Observation:
    """One score: a reviewer's score of a proposal on a scored criterion, on its own scale."""

    proposal_id: int
    reviewer_id: int
    criterion: str
    score: int | float | Fraction | Decimal


def leniency_sentence(points: float) -> str:
    """A leniency for people, to a tenth of a point: "Scores 0.6 points above the panel on
    average"; one that rounds to 0.0 is "in line with the panel"."""
    tenths = round(Decimal(repr(abs(points))), 1)
    if not tenths:
        return _("Scores in line with the panel on average.")
    text = formats.number_format(tenths, 1)
    if points > 0:
        return _("Scores %(points)s points above the panel on average.") % {"points": text}
    return _("Scores %(points)s points below the panel on average.") % {"points": text}


@dataclass(frozen=True)
class Leniency:
    reviewer_id: int
    points: float  # on the Overall's scale; positive: more generous than the panel
    proposals: int  # how many proposals the estimate rests on

    @property
    def sentence(self) -> str:
        return leniency_sentence(self.points)


@dataclass(frozen=True)
class CalibratedProposal:
    proposal_id: int
    raw: scoring.ProposalResult  # exactly what `scoring` makes of the same scores
    # Calibrated criterion means, each on its criterion's own scale (empty when not usable).
    means: dict[str, float] = field(default_factory=dict)
    overall: float | None = None  # calibrated Overall, on the Overall's scale

    @property
    def raw_overall(self) -> Fraction | None:
        return self.raw.overall

    def overall_points(self, places: int = 2) -> Decimal | None:
        """The calibrated Overall rounded for display, like `scoring.overall_points`."""
        return None if self.overall is None else scoring.as_decimal(Fraction(self.overall), places)

    def raw_points(self, places: int = 2) -> Decimal | None:
        return scoring.overall_points(self.raw, places)


@dataclass(frozen=True)
class Calibration:
    usable: bool
    reason: str  # "" when usable, else NO_SCORES, ONE_REVIEWER, DISCONNECTED, FEW_*
    proposals: dict[int, CalibratedProposal]
    reviewers: dict[int, Leniency]  # empty when not usable
    scale: tuple[int, int] | None  # the Overall's scale
    ridge: float | None = None  # the ridge used (math.inf: no leniency taken out)
    noise_sd: float | None = None  # a review's overall varies by this much (points)
    spread_sd: float | None = None  # leniencies vary across reviewers by this much (points)
    groups: int = 1  # groups of reviewers with no proposal in common
    short: tuple[int, ...] = ()  # reviewers below MIN_PROPOSALS or MIN_SHARED

    @property
    def message(self) -> str:
        """Why scores are shown raw only, for staff ("" when calibration is usable)."""
        if self.reason == NO_SCORES:
            return _("Raw scores only: there are no scores to calibrate yet.")
        if self.reason == ONE_REVIEWER:
            return _(
                "Raw scores only: calibration compares reviewers with each other, and only one "
                "reviewer has scored."
            )
        if self.reason == DISCONNECTED:
            return _(
                "Raw scores only: the reviewers fall into %(groups)s groups that scored none of "
                "the same proposals, so how generous one group is cannot be told apart from the "
                "quality of the proposals it read."
            ) % {"groups": self.groups}
        if self.reason == FEW_PROPOSALS:
            return ngettext(
                "Raw scores only: %(count)s reviewer scored fewer than %(minimum)s proposals, "
                "too few to tell how generous they are from the quality of what they read.",
                "Raw scores only: %(count)s reviewers scored fewer than %(minimum)s proposals, "
                "too few to tell how generous they are from the quality of what they read.",
                len(self.short),
            ) % {"count": len(self.short), "minimum": MIN_PROPOSALS}
        if self.reason == FEW_SHARED:
            return ngettext(
                "Raw scores only: %(count)s reviewer shares fewer than %(minimum)s proposals "
                "with other reviewers, too few to compare their scores with the panel's.",
                "Raw scores only: %(count)s reviewers share fewer than %(minimum)s proposals "
                "with other reviewers, too few to compare their scores with the panel's.",
                len(self.short),
            ) % {"count": len(self.short), "minimum": MIN_SHARED}
        return ""


def _raw_results(scores, criteria, given=None) -> dict[int, scoring.ProposalResult]:
    """`scoring` of each proposal's scores alone; a result in `given` (same scores, criteria) is
    reused with the reviews, `assigned` (those that scored) and gates (no verdicts) set so."""
    reviews: dict[int, list[scoring.ReviewInput]] = {}
    for (proposal_id, reviewer_id), by_key in scores.items():
        reviews.setdefault(proposal_id, []).append(scoring.ReviewInput(reviewer_id, by_key))
    gates = {c.key: scoring.GateResult(c.key, 0, 0, 0) for c in criteria if c.is_gate}
    given = given or {}
    return {
        pid: replace(given[pid], reviews=len(rs), assigned=len(rs), gates=dict(gates))
        if pid in given
        else scoring.score_proposal(pid, rs, criteria)
        for pid, rs in reviews.items()
    }


def _unusable(reason, raw, scale, *, groups=1, short=()) -> Calibration:
    proposals = {pid: CalibratedProposal(pid, result) for pid, result in raw.items()}
    return Calibration(
        False, reason, proposals, {}, scale, groups=groups, short=tuple(sorted(short))
    )


def calibrate(
    observations: Iterable[Observation],
    criteria: Sequence[scoring.CriterionSpec],
    *,
    ridge: float | None = None,
    results: Mapping[int, scoring.ProposalResult] | None = None,
) -> Calibration:
    """Fit the model (module docstring) to these scores; gate criteria are ignored, a score on
    a criterion not in `criteria` is an error, and so is a reviewer scoring the same proposal
    on the same criterion twice. Proposals appear in the result if they have a score.
    `results`: each proposal's `scoring.score_proposal` of the same scores and criteria (gate
    verdicts and `assigned` may differ), as the dashboard has them: reused instead of scoring
    again in exact fractions (most of the time); the answer is the same (`_raw_results`)."""
    specs = {c.key: c for c in criteria if not c.is_gate}
    gates = {c.key for c in criteria if c.is_gate}
    order = {key: index for index, key in enumerate(specs)}
    scale = scoring.overall_scale(criteria)
    scores: dict[tuple[int, int], dict[str, Fraction]] = {}
    for o in observations:
        if o.criterion in gates or o.score is None:
            continue
        if o.criterion not in specs:
            raise ValueError(f"score on an unknown criterion {o.criterion!r}")
        by_key = scores.setdefault((o.proposal_id, o.reviewer_id), {})
        if o.criterion in by_key:
            raise ValueError(
                f"reviewer {o.reviewer_id} scored proposal {o.proposal_id} on {o.criterion!r} twice"
            )
        by_key[o.criterion] = scoring.as_fraction(o.score)
    raw = _raw_results(scores, criteria, results)
    # A canonical order, so that the same scores in any order are the same computation.
    rows = sorted(
        (pid, order[key], rid, score)
        for (pid, rid), by_key in scores.items()
        for key, score in by_key.items()
    )
    if not rows:
        return _unusable(NO_SCORES, raw, scale)
    reviewers = sorted({rid for _p, _c, rid, _s in rows})
    if len(reviewers) < 2:
        return _unusable(ONE_REVIEWER, raw, scale)

    items = sorted({(pid, c) for pid, c, _r, _s in rows})  # (proposal, criterion) qualities
    item_index = {item: i for i, item in enumerate(items)}
    reviewer_index = {rid: j for j, rid in enumerate(reviewers)}
    n, m, k = len(rows), len(items), len(reviewers)
    item_of = np.array([item_index[(pid, c)] for pid, c, _r, _s in rows])
    reviewer_of = np.array([reviewer_index[rid] for _p, _c, rid, _s in rows])

    # Connected: reviewers and (proposal, criterion) items as one undirected graph.
    graph = sparse.coo_matrix((np.ones(n), (reviewer_of, k + item_of)), shape=(k + m, k + m))
    groups, _labels = connected_components(graph, directed=False)
    if groups > 1:
        return _unusable(DISCONNECTED, raw, scale, groups=groups)
    read_by: dict[int, set[int]] = {}  # proposal → its reviewers
    read: dict[int, list[int]] = {}  # reviewer → their proposals
    for pid, rid in scores:
        read_by.setdefault(pid, set()).add(rid)
        read.setdefault(rid, []).append(pid)
    few = [rid for rid in reviewers if len(read[rid]) < MIN_PROPOSALS]
    if few:
        return _unusable(FEW_PROPOSALS, raw, scale, short=few)
    lonely = [rid for rid in reviewers if sum(len(read_by[p]) > 1 for p in read[rid]) < MIN_SHARED]
    if lonely:
        return _unusable(FEW_SHARED, raw, scale, short=lonely)

    keys = list(specs)
    y = np.array([float(specs[keys[c]].convert(s, scale)) for _p, c, _r, s in rows])
    if ridge is None:
        ridge, noise, spread = _estimated_ridge(rows, y, item_of, reviewer_of, m, k)
    else:
        noise = spread = None
    if math.isinf(ridge):  # no leniency to take out: the raw means
        quality = np.bincount(item_of, y, m) / np.bincount(item_of, None, m)
        bias = np.zeros(k)
    else:
        quality, bias = _solve(y, item_of, reviewer_of, m, k, ridge)

    converted: dict[int, dict[str, float]] = {}  # qualities, on the Overall's scale
    for (pid, c), value in zip(items, quality, strict=True):
        converted.setdefault(pid, {})[keys[c]] = float(value)
    proposals = {
        pid: _calibrated(result, converted.get(pid, {}), specs, scale)
        for pid, result in raw.items()
    }
    return Calibration(
        usable=True,
        reason="",
        proposals=proposals,
        reviewers={
            rid: Leniency(rid, float(bias[reviewer_index[rid]]), len(read[rid]))
            for rid in reviewers
        },
        scale=scale,
        ridge=ridge,
        noise_sd=noise,
        spread_sd=spread,
    )


def _calibrated(result, converted, specs, scale) -> CalibratedProposal:
    """A proposal's calibrated means, each back on its criterion's own scale (the inverse of
    `CriterionSpec.convert`), and its calibrated Overall, from its qualities on the Overall's."""
    low, high = scale
    means = {
        key: value
        if (specs[key].scale_min, specs[key].scale_max) == scale
        else specs[key].scale_min
        + (value - low) * (specs[key].scale_max - specs[key].scale_min) / (high - low)
        for key, value in converted.items()
    }
    weights = sum(float(specs[key].weight) for key in converted)
    total = sum(float(specs[key].weight) * value for key, value in converted.items())
    return CalibratedProposal(
        result.proposal_id, result, means, total / weights if weights else None
    )


def _solve(y, item_of, reviewer_of, m, k, ridge):
    """Least squares on the augmented system [items | reviewers; 0 | sqrt(ridge) I] x = [y; 0]:
    (qualities, leniencies), the leniencies summing to zero."""
    n = len(y)
    ridge = max(ridge, FLOOR)
    design = sparse.csr_matrix(
        (
            np.concatenate([np.ones(n), np.ones(n), np.full(k, np.sqrt(ridge))]),
            (
                np.concatenate([np.arange(n), np.arange(n), n + np.arange(k)]),
                np.concatenate([item_of, m + reviewer_of, m + np.arange(k)]),
            ),
        ),
        shape=(n + k, m + k),
    )
    solution = lsqr(
        design, np.concatenate([y, np.zeros(k)]), atol=1e-12, btol=1e-12, iter_lim=20 * (m + k)
    )[0]
    quality, bias = solution[:m], solution[m:]
    # Exactly zero-sum (the ridge makes it so up to the solver's tolerance): moving the same
    # amount from every leniency to every quality changes no fitted score.
    shift = bias.mean()
    return quality + shift, bias - shift


def _estimated_ridge(rows, y, item_of, reviewer_of, m, k):
    """(ridge, noise sd, leniency sd) from the scores themselves (empirical Bayes).

    A review's noise is what one review's overall (its mean fitted residual) varies by; the
    leniencies' spread is what the unpenalised estimates vary by, less what that noise alone
    would make them vary by. The ridge is then the ratio of the two variances (per score), the
    one that makes the fit the best linear predictor of the leniencies. When the estimates vary
    no more than noise explains, there is no leniency to take out: an infinite ridge, and the
    calibrated scores are the raw ones."""
    quality, bias = _solve(y, item_of, reviewer_of, m, k, FLOOR)
    residual = y - quality[item_of] - bias[reviewer_of]
    # Reviews: (proposal, reviewer) pairs; the residuals of one review are averaged, since the
    # scores of one review share much of their noise.
    pairs = np.column_stack([[p for p, _c, _r, _s in rows], reviewer_of])
    reviews, review_of = np.unique(pairs, axis=0, return_inverse=True)
    review_of = review_of.ravel()
    per_review = np.bincount(review_of, residual) / np.bincount(review_of)
    proposal_of = np.unique(reviews[:, 0], return_inverse=True)[1].ravel()
    spare = len(reviews) - proposal_of.max() - 1 - (k - 1)  # degrees of freedom for the noise
    if spare < 1:
        return math.inf, None, 0.0
    noise_var = float(per_review @ per_review) / spare
    # The unpenalised leniencies' noise is noise_var times the pseudo-inverse of the reviewers'
    # comparison matrix: the sum over proposals read by s reviewers of I - 11'/s on them.
    read = np.zeros((k, proposal_of.max() + 1))
    read[reviews[:, 1], proposal_of] = 1
    laplacian = np.diag(read.sum(axis=1)) - (read / read.sum(axis=0)) @ read.T
    eigenvalues = np.linalg.eigvalsh(laplacian)
    trace = float(np.sum(1 / eigenvalues[eigenvalues > 1e-9]))
    spread_var = (float(bias @ bias) - noise_var * trace) / (k - 1)
    if spread_var <= 0:
        return math.inf, math.sqrt(noise_var), 0.0
    scores_per_review = len(y) / len(reviews)
    return scores_per_review * noise_var / spread_var, math.sqrt(noise_var), math.sqrt(spread_var)


# --- From the database ------------------------------------------------------------------------


def rfp_observations(rfp: RFP) -> tuple[list[scoring.CriterionSpec], list[Observation]]:
    """The RFP's criteria and every score of its submitted reviews of submitted proposals, the
    reviews the dashboard's raw Overall counts (a submitted review of a reviewer who later left
    the pool included, as there). Two queries."""
    criteria = list(rfp.criteria.all())
    keys = {c.pk: c.key for c in criteria}
    scored = Assessment.objects.filter(
        review__state=Review.State.SUBMITTED,
        review__assignment__proposal__rfp=rfp,
        review__assignment__proposal__state=Proposal.State.SUBMITTED,
        criterion__kind=Criterion.Kind.SCORED,
        score__isnull=False,
    ).values_list(
        "review__assignment__proposal_id",
        "review__assignment__reviewer_id",
        "criterion_id",
        "score",
    )
    return scoring.criterion_specs(criteria), [
        Observation(pid, rid, keys[cid], score) for pid, rid, cid, score in scored if cid in keys
    ]


def calibrate_rfp(rfp: RFP, *, ridge: float | None = None) -> Calibration:
    """`calibrate` on the RFP's submitted reviews (`rfp_observations`)."""
    specs, observations = rfp_observations(rfp)
    return calibrate(observations, specs, ridge=ridge)
