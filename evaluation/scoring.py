"""The scoring maths (rule 6), in one place: plain values in, plain values out.

Per proposal and per scored criterion: the mean, the median and the spread (max - min) of the
scores in the submitted reviews; the overall score is the weighted mean of the criterion means,
each normalised to its scale so criteria on different scales can be combined. Gate verdicts are
counted and flagged, never dropped. Ranking is computed here, never typed in.

Exact arithmetic (fractions) keeps the invariants exact: permuting reviews or multiplying every
weight by the same factor changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from statistics import median

DEFAULT_DISAGREEMENT = Fraction(2)  # a spread of 2 points or more on a 0-5 scale is "wide"


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    weight: Fraction
    scale_min: int = 0
    scale_max: int = 5
    is_gate: bool = False

    def normalise(self, score: Fraction) -> Fraction:
        return (score - self.scale_min) / (self.scale_max - self.scale_min)


@dataclass(frozen=True)
class ReviewInput:
    """One submitted review: scores by criterion key, gate verdicts by key."""

    reviewer_id: int
    scores: dict[str, int | None]
    gates: dict[str, str] = field(default_factory=dict)  # "pass" | "fail" | "unsure"


@dataclass(frozen=True)
class CriterionResult:
    key: str
    count: int
    mean: Fraction | None
    median: Fraction | None
    spread: Fraction | None
    disagreement: bool


@dataclass(frozen=True)
class GateResult:
    key: str
    passes: int
    fails: int
    unsure: int

    @property
    def flagged(self) -> bool:
        return self.fails > 0 or self.unsure > 0


@dataclass(frozen=True)
class ProposalResult:
    proposal_id: int
    reviews: int
    assigned: int
    criteria: dict[str, CriterionResult]
    gates: dict[str, GateResult]
    overall: Fraction | None  # 0..1, weighted mean of normalised criterion means
    overall_median: Fraction | None  # median of each review's own weighted score
    overall_spread: Fraction | None
    disagreement: bool

    @property
    def incomplete(self) -> bool:
        return self.reviews < self.assigned

    @property
    def gate_failed(self) -> bool:
        return any(g.fails for g in self.gates.values())

    @property
    def gate_flagged(self) -> bool:
        return any(g.flagged for g in self.gates.values())


def as_fraction(value: int | float | Decimal | Fraction | str) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _median(values: Sequence[Fraction]) -> Fraction:
    return Fraction(median(sorted(values)))


def review_overall(review: ReviewInput, criteria: Sequence[CriterionSpec]) -> Fraction | None:
    """One review's weighted score (0..1) over the criteria it scored."""
    total_weight = Fraction(0)
    total = Fraction(0)
    for spec in criteria:
        if spec.is_gate:
            continue
        score = review.scores.get(spec.key)
        if score is None:
            continue
        total += spec.weight * spec.normalise(Fraction(score))
        total_weight += spec.weight
    return total / total_weight if total_weight else None


def score_proposal(
    proposal_id: int,
    reviews: Iterable[ReviewInput],
    criteria: Sequence[CriterionSpec],
    *,
    assigned: int | None = None,
    disagreement_at: Fraction = DEFAULT_DISAGREEMENT,
) -> ProposalResult:
    reviews = list(reviews)
    results: dict[str, CriterionResult] = {}
    gates: dict[str, GateResult] = {}
    weighted = Fraction(0)
    weights = Fraction(0)
    for spec in criteria:
        if spec.is_gate:
            verdicts = [r.gates.get(spec.key) for r in reviews]
            gates[spec.key] = GateResult(
                key=spec.key,
                passes=verdicts.count("pass"),
                fails=verdicts.count("fail"),
                unsure=verdicts.count("unsure"),
            )
            continue
        scores = [
            Fraction(r.scores[spec.key]) for r in reviews if r.scores.get(spec.key) is not None
        ]
        if not scores:
            results[spec.key] = CriterionResult(spec.key, 0, None, None, None, False)
            continue
        mean = sum(scores) / len(scores)
        spread = max(scores) - min(scores)
        # The threshold is in points of a 0-5 scale; scale it to this criterion's scale.
        threshold = disagreement_at * Fraction(spec.scale_max - spec.scale_min, 5)
        results[spec.key] = CriterionResult(
            key=spec.key,
            count=len(scores),
            mean=mean,
            median=_median(scores),
            spread=spread,
            disagreement=spread >= threshold,
        )
        weighted += spec.weight * spec.normalise(mean)
        weights += spec.weight
    per_review = [o for o in (review_overall(r, criteria) for r in reviews) if o is not None]
    overall_spread = max(per_review) - min(per_review) if per_review else None
    return ProposalResult(
        proposal_id=proposal_id,
        reviews=len(reviews),
        assigned=len(reviews) if assigned is None else assigned,
        criteria=results,
        gates=gates,
        overall=weighted / weights if weights else None,
        overall_median=_median(per_review) if per_review else None,
        overall_spread=overall_spread,
        disagreement=any(c.disagreement for c in results.values()),
    )


@dataclass(frozen=True)
class Ranked:
    rank: int | None  # None: not ranked (no scores, or failed a gate)
    result: ProposalResult
    tied: bool


def rank(results: Iterable[ProposalResult], *, exclude_gate_failures: bool = True) -> list[Ranked]:
    """Competition ranking ("1, 2, 2, 4") by overall score, highest first.

    Proposals without any score, and (by default) those a reviewer failed at a gate, are listed
    after the ranked ones without a rank: flagged, never silently dropped.
    """
    results = list(results)
    rankable = [
        r
        for r in results
        if r.overall is not None and not (exclude_gate_failures and r.gate_failed)
    ]
    # Linear in the number of proposals (identity sets and a count per score): thousands of
    # proposals are ranked on every dashboard view.
    chosen = {id(r) for r in rankable}
    rest = [r for r in results if id(r) not in chosen]
    rankable.sort(key=lambda r: (-r.overall, r.proposal_id))
    sharing = Counter(r.overall for r in rankable)
    ranked: list[Ranked] = []
    for index, result in enumerate(rankable):
        if index and result.overall == rankable[index - 1].overall:
            position = ranked[-1].rank
        else:
            position = index + 1
        tied = sharing[result.overall] > 1
        ranked.append(Ranked(rank=position, result=result, tied=tied))
    ranked.extend(
        Ranked(rank=None, result=r, tied=False) for r in sorted(rest, key=lambda r: r.proposal_id)
    )
    return ranked


def on_scale(fraction: Fraction | None, scale_max: int = 5, places: int = 2) -> Decimal | None:
    """A 0..1 overall as points on a scale, rounded for display (e.g. 0.7 → 3.50 of 5)."""
    if fraction is None:
        return None
    return round(Decimal(fraction.numerator) / Decimal(fraction.denominator) * scale_max, places)


def overall_points(result: ProposalResult, places: int = 2) -> Decimal | None:
    """The Overall score as every page, mail, PDF and CSV shows it (rounded for display).
    Every caller uses this one function, so the figure is the same everywhere."""
    return on_scale(result.overall, places=places)


def as_decimal(value: Fraction | None, places: int = 2) -> Decimal | None:
    if value is None:
        return None
    return round(Decimal(value.numerator) / Decimal(value.denominator), places)
