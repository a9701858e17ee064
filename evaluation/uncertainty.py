"""How sure a ranking is: each proposal's expected rank with an 80 % interval, its chance of
being funded at a funding line, and the band of proposals at that line that the reviews cannot
tell apart. Plain values in (each proposal's submitted reviews, the criteria), plain values out.

The method (a bootstrap over reviews), in the words pages use:

    We redraw the reviews many times (1,000 by default). Each time, every proposal's reviews are
    picked again at random from its own reviews, as many as it has, so that one review may count
    twice and another not at all; the Overall is computed again exactly as on the dashboard
    (evaluation.scoring: the weighted mean of the criterion means) and the proposals are ranked
    again (rank 1 is the best; tied proposals share the mean of their places). A proposal's
    expected rank is the mean of its redrawn ranks; its 80 % interval runs from the 10th to
    the 90th percentile of them, so that 8 redraws in 10 fall inside it.

The band at a funding line of k places (`Uncertainty.band`), in the words pages use:

    A proposal is in the band when its 80 % interval of ranks crosses the funding line: the
    interval starts above the line (a rank better than k + 1) and ends below it (a rank worse
    than k). In some redraws of its reviews it is funded and in others it is not, so its reviews
    cannot set it apart from the proposals just across the line.

An interval ending at rank k or better is clearly funded, one starting at rank k + 1 or worse is
clearly not; only the rest are in the band. (We chose the intervals over pairwise probabilities
because staff read the same bars on the picture: a bar crossing the line is in the band.)

A proposal with one review has no disagreement of its own to redraw: its Overall would never
move and its interval would look narrow for the wrong reason. Instead each redraw adds to its
Overall a difference between one review and its proposal's Overall, picked at random from the
proposals with two or more reviews (widened by sqrt(n / (n - 1)), as a mean of n reviews sits
closer to them than the truth would), kept on the scale. Its interval is wide, and pages say
why (`RankInterval.one_review`). When no proposal has two reviews, its Overall is drawn anywhere
on the scale: one review tells nothing of how far reviewers disagree. Proposals without a
submitted score are left out (`Uncertainty.left_out`), as are, by default, those a reviewer
failed at a gate, as the ranking leaves them out (scoring.rank).

Deterministic for a given seed: proposals are redrawn in the order of their ids, whatever the
order given. Fast: numpy arrays throughout (200 proposals x 1,000 redraws in a few hundredths of
a second).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from django.utils.translation import gettext as _

from evaluation.scoring import (
    CriterionSpec,
    ProposalResult,
    ReviewInput,
    overall_scale,
    score_proposal,
)
from rfp_portal.formatting import number

DEFAULT_RESAMPLES = 1000
MIN_RESAMPLES = 100
MAX_RESAMPLES = 20_000  # bounded: a page must never ask for minutes of work
LOW_PERCENTILE = 10
HIGH_PERCENTILE = 90
# Overalls are compared after rounding: two proposals with the same scores tie even when float
# arithmetic reached their Overall by different sums.
_DECIMALS = 9


@dataclass(frozen=True)
class RankInterval:
    """One proposal's place: its Overall (exact, as the dashboard shows it), its expected rank,
    the 80 % interval of its redrawn ranks, and its chance of a funded place."""

    proposal_id: int
    overall: Fraction
    reviews: int
    expected_rank: float
    low: float  # 10th percentile of the redrawn ranks (a rank reached; .5 for a shared place)
    high: float  # 90th percentile
    p_funded: float  # the share of redraws in which it is in the top `places` (0..1)
    in_band: bool
    one_review: bool  # its spread is borrowed from the other proposals: a wide interval

    def contains(self, rank: float) -> bool:
        return self.low <= rank <= self.high


@dataclass(frozen=True)
class LeftOut:
    proposal_id: int
    reason: str  # "no scores" | "failed a gate"


@dataclass(frozen=True)
class Uncertainty:
    places: int  # the funding line: the top `places` ranks are funded
    resamples: int
    intervals: tuple[RankInterval, ...]  # by expected rank, then proposal id
    left_out: tuple[LeftOut, ...]

    @property
    def band(self) -> tuple[int, ...]:
        """The proposal ids in the band at the funding line (by expected rank)."""
        return tuple(i.proposal_id for i in self.intervals if i.in_band)

    def of(self, proposal_id: int) -> RankInterval | None:
        return next((i for i in self.intervals if i.proposal_id == proposal_id), None)

    def method_sentence(self) -> str:
        """How the intervals are made, in one paragraph for people."""
        return _(
            "The reviews were redrawn %(n)s times: each time every proposal's reviews were "
            "picked again at random from its own reviews (one may count twice, another not at "
            "all), its Overall computed again and the proposals ranked again. The expected "
            "rank is the mean of the redrawn ranks; 8 redraws in 10 fall inside the interval."
        ) % {"n": number(self.resamples)}

    def band_sentence(self) -> str:
        """What the band is, in one sentence for people, with this funding line."""
        return _(
            "A proposal is in the band when its interval of ranks crosses the funding line "
            "after place %(places)s: it starts at a rank better than %(below)s and ends at a "
            "rank worse than %(places)s. In some redraws of the reviews it is funded and in "
            "others not, so its reviews cannot set it apart from the proposals across the line."
        ) % {"places": self.places, "below": self.places + 1}


def one_review_note() -> str:
    """Why a proposal with one review has a wide interval, for people."""
    return _(
        "One review only: its spread is borrowed from the other proposals' reviews, so its "
        "interval is wide."
    )


def _scored_matrix(
    reviews: Sequence[ReviewInput], scored: Sequence[CriterionSpec], scale: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(scores on the Overall's scale, 1 where scored) per review and criterion; reviews that
    scored nothing are dropped (they change no mean)."""
    rows, marks = [], []
    for review in reviews:
        row = [review.scores.get(spec.key) for spec in scored]
        if all(score is None for score in row):
            continue
        rows.append(
            [
                0.0 if score is None else float(spec.convert(Fraction(score), scale))
                for spec, score in zip(scored, row, strict=True)
            ]
        )
        marks.append([0.0 if score is None else 1.0 for score in row])
    return np.array(rows, dtype=float), np.array(marks, dtype=float)


def _overalls(counts: np.ndarray, scores: np.ndarray, marks: np.ndarray, weights: np.ndarray):
    """The Overall for each row of review counts (redraws x reviews): the weighted mean of the
    criterion means, over the criteria scored in that redraw (scoring.score_proposal's rule)."""
    sums = counts @ (scores * marks)
    scored = counts @ marks
    present = scored > 0
    means = np.divide(sums, scored, out=np.zeros_like(sums), where=present)
    total_weight = (present * weights).sum(axis=1)
    weighted = (means * present * weights).sum(axis=1)
    return np.divide(
        weighted, total_weight, out=np.full_like(weighted, np.nan), where=total_weight > 0
    )


def _tie_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, every value's first and last place among equal values (1 = smallest): what
    scipy's rankdata gives with method "min" and "max", from one sort of each row instead of
    one per method (the sort is most of the ranking's time)."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    width = values.shape[1]
    places = np.broadcast_to(np.arange(width), values.shape)
    differs = ordered[:, 1:] != ordered[:, :-1]
    edge = np.ones((values.shape[0], 1), dtype=bool)
    starts = np.concatenate([edge, differs], axis=1)
    ends = np.concatenate([differs, edge], axis=1)
    first_sorted = np.maximum.accumulate(np.where(starts, places, 0), axis=1)
    last_sorted = np.minimum.accumulate(np.where(ends, places, width - 1)[:, ::-1], axis=1)[:, ::-1]
    first = np.empty(values.shape, dtype=float)
    last = np.empty(values.shape, dtype=float)
    np.put_along_axis(first, order, first_sorted + 1.0, axis=1)
    np.put_along_axis(last, order, last_sorted + 1.0, axis=1)
    return first, last


def rank_intervals(
    reviews: Mapping[int, Iterable[ReviewInput]],
    criteria: Sequence[CriterionSpec],
    *,
    places: int,
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
    exclude_gate_failures: bool = True,
    results: Mapping[int, ProposalResult] | None = None,
) -> Uncertainty:
    """Expected ranks, 80 % intervals, the chance of a funded place and the band at a funding
    line of `places`, by redrawing each proposal's submitted reviews (see the module's
    docstring). `reviews` maps each proposal id to its submitted reviews; `rng` is a seeded
    numpy Generator (np.random.default_rng(seed)): the same seed gives the same answer.

    `results`: each proposal's `score_proposal` of these same reviews with these criteria,
    as the dashboard has already computed them; only their Overall and gate failures are read,
    which `assigned` does not change. Given, they are used instead of scoring every proposal
    again in exact fractions; the answer is the same. A proposal missing from it is scored."""
    if not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        raise ValueError(f"resamples must be between {MIN_RESAMPLES} and {MAX_RESAMPLES}")
    if places < 1:
        raise ValueError("places must be at least 1")
    scale = overall_scale(criteria)
    scored = [c for c in criteria if not c.is_gate]
    weights = np.array([float(c.weight) for c in scored], dtype=float)

    left_out: list[LeftOut] = []
    kept = []  # (proposal id, exact Overall, reviews, scores, marks)
    for proposal_id in sorted(reviews):
        given = list(reviews[proposal_id])
        result = (results or {}).get(proposal_id) or score_proposal(proposal_id, given, criteria)
        if result.overall is None:
            left_out.append(LeftOut(proposal_id, "no scores"))
            continue
        if exclude_gate_failures and result.gate_failed:
            left_out.append(LeftOut(proposal_id, "failed a gate"))
            continue
        scores, marks = _scored_matrix(given, scored, scale)
        kept.append((proposal_id, result.overall, len(given), scores, marks))
    if not kept:
        return Uncertainty(places, resamples, (), tuple(left_out))

    # Differences between a review's own overall and its proposal's Overall, from proposals
    # with two or more reviews: the spread borrowed by proposals with one review.
    residuals = []
    for _pid, overall, _n, scores, marks in kept:
        n = len(scores)
        if n < 2:
            continue
        own = _overalls(np.eye(n), scores, marks, weights)
        residuals.append((own - float(overall)) * np.sqrt(n / (n - 1)))
    pool = np.concatenate(residuals) if residuals else np.array([])
    low_end, high_end = (float(scale[0]), float(scale[1])) if scale else (0.0, 0.0)

    redrawn = np.empty((resamples, len(kept)), dtype=float)
    for column, (_pid, overall, _n, scores, marks) in enumerate(kept):
        n = len(scores)
        if n >= 2:
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)
            values = _overalls(counts, scores, marks, weights)
            # A redraw that kept only reviews of zero-weight criteria has no Overall.
            redrawn[:, column] = np.where(np.isnan(values), float(overall), values)
        elif pool.size:
            picked = pool[rng.integers(0, pool.size, size=resamples)]
            redrawn[:, column] = np.clip(float(overall) + picked, low_end, high_end)
        else:
            redrawn[:, column] = rng.uniform(low_end, high_end, size=resamples)

    # Rank 1 is the best; tied proposals share the mean of their places ("average"), and the
    # funded places inside a tie are shared equally: P(funded) sums to `places` over proposals.
    first, last = _tie_ranks(-np.round(redrawn, _DECIMALS))
    ranks = (first + last) / 2
    tied = last - first + 1
    funded = np.clip(places - first + 1, 0, tied) / tied

    expected = ranks.mean(axis=0)
    low = np.percentile(ranks, LOW_PERCENTILE, axis=0, method="lower")
    high = np.percentile(ranks, HIGH_PERCENTILE, axis=0, method="higher")
    p_funded = funded.mean(axis=0)

    intervals = [
        RankInterval(
            proposal_id=pid,
            overall=overall,
            reviews=n_reviews,
            expected_rank=float(expected[column]),
            low=float(low[column]),
            high=float(high[column]),
            p_funded=float(p_funded[column]),
            in_band=bool(low[column] < places + 1 and high[column] > places),
            one_review=len(scores) < 2,
        )
        for column, (pid, overall, n_reviews, scores, _marks) in enumerate(kept)
    ]
    intervals.sort(key=lambda i: (i.expected_rank, i.proposal_id))
    return Uncertainty(places, resamples, tuple(intervals), tuple(left_out))
