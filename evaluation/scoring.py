"""The scoring maths (rule 6), in one place: plain values in, plain values out.

Per proposal and per scored criterion: the mean, the median and the spread (max - min) of the
scores in the submitted reviews. The overall score is the weighted mean of the criterion means,
in points on the criteria's own scale, so that anyone can recompute it from the means a page
shows: scores (5, 4) and (4, 4) with weights 2 and 1 give means 4.50 and 4.00 and an Overall of
(2 x 4.50 + 1 x 4.00) / 3 = 4.33. When the scored criteria use different scales, each mean is
first converted to the scale of the first scored criterion (the "Overall's scale") by mapping
one scale's range onto the other (a mean m on a-b is lo + (m - a) x (hi - lo) / (b - a) on
lo-hi); pages show the converted mean beside the mean. Either way the ranking is the same as
ranking by normalised means: the conversion is the same increasing straight line for every
proposal. A review's own overall (for the median and spread of the reviews' overalls) is
defined in the same way over the criteria it scored.

Gate verdicts are counted and flagged, never dropped. Ranking is computed here, never typed in.

Exact arithmetic (fractions) keeps the invariants exact: permuting reviews or multiplying every
weight by the same factor changes nothing.

Every page, mail, PDF and CSV writes the Overall with `overall_points` (the median and spread of
the reviews' overalls with `median_points` and `spread_points`), and explains it with
`overall_rule(specs).sentence()` (the definition, with the weights) and `overall_formula(result)`
(the sum for one proposal, "(2 x 4.50 + 1 x 4.00) / 3 = 4.33").

Over 400 lines: the maths and the sentences that explain it to people (overall_rule,
overall_formula) are kept together so that a page can never explain a different sum.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from statistics import median

from django.utils import formats
from django.utils.translation import gettext as _

DEFAULT_DISAGREEMENT = Fraction(2)  # a spread of 2 points or more on a 0-5 scale is "wide"


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    weight: Fraction
    scale_min: int = 0
    scale_max: int = 5
    is_gate: bool = False
    name: str = ""  # for people (the key when empty)

    @property
    def label(self) -> str:
        return self.name or self.key

    def normalise(self, score: Fraction) -> Fraction:
        """A score as the share of the way from the lowest to the highest score (0..1)."""
        return (score - self.scale_min) / (self.scale_max - self.scale_min)

    def convert(self, score: Fraction, scale: tuple[int, int]) -> Fraction:
        """A score on this criterion's scale written on another scale (lowest to lowest,
        highest to highest, in a straight line); unchanged when the scales are the same."""
        low, high = scale
        if (low, high) == (self.scale_min, self.scale_max):
            return score
        return low + self.normalise(score) * (high - low)


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
    weight: Fraction = Fraction(0)
    # The mean on the Overall's scale: the mean itself unless this criterion's scale differs.
    converted: Fraction | None = None
    name: str = ""
    scale_min: int = 0
    scale_max: int = 5

    @property
    def is_converted(self) -> bool:
        return self.converted is not None and self.converted != self.mean


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
    # Points on the Overall's scale (scale_min..scale_max): the weighted mean of the criterion
    # means (each converted to that scale when the criteria's scales differ).
    overall: Fraction | None
    overall_median: Fraction | None  # median of each review's own overall, in the same points
    overall_spread: Fraction | None  # highest minus lowest review overall, in the same points
    disagreement: bool
    scale_min: int | None = None  # the Overall's scale: the first scored criterion's
    scale_max: int | None = None

    @property
    def incomplete(self) -> bool:
        return self.reviews < self.assigned

    @property
    def gate_failed(self) -> bool:
        return any(g.fails for g in self.gates.values())

    @property
    def gate_flagged(self) -> bool:
        return any(g.flagged for g in self.gates.values())


def criterion_specs(criteria: Iterable) -> list[CriterionSpec]:
    """The specs of an RFP's criteria (proposals.models.Criterion rows, or anything with their
    attributes), in their order: what every computation here takes."""
    return [
        CriterionSpec(
            key=c.key,
            weight=Fraction(str(c.weight)) if c.weight is not None else Fraction(0),
            scale_min=c.scale_min,
            scale_max=c.scale_max,
            is_gate=c.is_gate,
            name=c.name,
        )
        for c in criteria
    ]


def as_fraction(value: int | float | Decimal | Fraction | str) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _median(values: Sequence[Fraction]) -> Fraction:
    return Fraction(median(sorted(values)))


def overall_scale(criteria: Sequence[CriterionSpec]) -> tuple[int, int] | None:
    """The scale the Overall is written on: the first scored criterion's (None without one)."""
    for spec in criteria:
        if not spec.is_gate:
            return spec.scale_min, spec.scale_max
    return None


def review_overall(review: ReviewInput, criteria: Sequence[CriterionSpec]) -> Fraction | None:
    """One review's overall (points on the Overall's scale) over the criteria it scored."""
    scale = overall_scale(criteria)
    total_weight = Fraction(0)
    total = Fraction(0)
    for spec in criteria:
        if spec.is_gate:
            continue
        score = review.scores.get(spec.key)
        if score is None:
            continue
        total += spec.weight * spec.convert(Fraction(score), scale)
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
    scale = overall_scale(criteria)
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
        described = {
            "weight": spec.weight,
            "name": spec.label,
            "scale_min": spec.scale_min,
            "scale_max": spec.scale_max,
        }
        scores = [
            Fraction(r.scores[spec.key]) for r in reviews if r.scores.get(spec.key) is not None
        ]
        if not scores:
            results[spec.key] = CriterionResult(spec.key, 0, None, None, None, False, **described)
            continue
        mean = sum(scores) / len(scores)
        spread = max(scores) - min(scores)
        # The threshold is in points of a 0-5 scale; scale it to this criterion's scale.
        threshold = disagreement_at * Fraction(spec.scale_max - spec.scale_min, 5)
        converted = spec.convert(mean, scale)
        results[spec.key] = CriterionResult(
            key=spec.key,
            count=len(scores),
            mean=mean,
            median=_median(scores),
            spread=spread,
            disagreement=spread >= threshold,
            converted=converted,
            **described,
        )
        weighted += spec.weight * converted
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
        scale_min=scale[0] if scale else None,
        scale_max=scale[1] if scale else None,
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


def as_decimal(value: Fraction | None, places: int = 2) -> Decimal | None:
    if value is None:
        return None
    return round(Decimal(value.numerator) / Decimal(value.denominator), places)


def overall_points(result: ProposalResult, places: int = 2) -> Decimal | None:
    """The Overall score as every page, mail, PDF and CSV shows it (rounded for display).
    Every caller uses this one function, so the figure is the same everywhere."""
    return as_decimal(result.overall, places)


def median_points(result: ProposalResult, places: int = 2) -> Decimal | None:
    """The median of the reviews' own overalls, in the Overall's points."""
    return as_decimal(result.overall_median, places)


def spread_points(result: ProposalResult, places: int = 2) -> Decimal | None:
    """Highest minus lowest of the reviews' own overalls, in the Overall's points."""
    return as_decimal(result.overall_spread, places)


def on_scale(points: Fraction | None, scale_max: int | None = None, places: int = 2):
    """Kept for old callers: `result.overall` (and its median and spread) are already points on
    the criteria's scale, so this only rounds them (`scale_max` is ignored). Use
    `overall_points`, `median_points` or `spread_points`."""
    return as_decimal(points, places)


# --- The definition, written for people -------------------------------------------------------


def _number(value: Fraction | Decimal, places: int = 2) -> str:
    return formats.number_format(as_decimal(Fraction(value), places), places)


def weight_text(weight: Fraction) -> str:
    """A weight as people write it: 2, 1.5 (localised), never 2.00."""
    weight = Fraction(weight)
    if weight.denominator == 1:
        return str(weight.numerator)
    return formats.number_format(as_decimal(weight, 2).normalize(), None)


def scale_text(low: int, high: int) -> str:
    return f"{low}\u2013{high}"


@dataclass(frozen=True)
class OverallRule:
    """What the Overall of an RFP is, from its criteria: the weights, the Overall's scale and
    whether some criteria's means are converted to it. The same words on every page, mail and
    PDF: `sentence()` (and `weights_text()` where the weights are not in the table)."""

    weights: tuple[tuple[str, Fraction], ...]  # (criterion name, weight), scored criteria
    scale_min: int | None
    scale_max: int | None
    converted: tuple[tuple[str, int, int], ...]  # (name, low, high) of criteria on other scales

    @property
    def mixed_scales(self) -> bool:
        return bool(self.converted)

    @property
    def scale(self) -> str:
        return scale_text(self.scale_min, self.scale_max) if self.scale_min is not None else ""

    def weights_text(self) -> str:
        """ "Quality x2, Cost x1" """
        return ", ".join(f"{name} \u00d7{weight_text(weight)}" for name, weight in self.weights)

    def conversion_text(self) -> str:
        """How a mean on another scale is written on the Overall's scale, for each such scale:
        "a mean m on 0-10 counts as 1 + (m - 0) x 4 / 10"."""
        if not self.converted:
            return ""
        low, high = self.scale_min, self.scale_max
        seen = []
        for _name, a, b in self.converted:
            if (a, b) not in seen:
                seen.append((a, b))
        return "; ".join(
            _("a mean m on %(scale)s counts as %(formula)s")
            % {
                "scale": scale_text(a, b),
                "formula": f"{low} + (m \u2212 {a}) \u00d7 {high - low} / {b - a}",
            }
            for a, b in seen
        )

    def sentence(self) -> str:
        """The definition in one sentence, with the weights."""
        if not self.weights:
            return ""
        if self.mixed_scales:
            return _(
                "Overall is the weighted mean of the criterion means (weights: %(weights)s), each "
                "mean first converted to the %(scale)s scale (%(conversion)s)."
            ) % {
                "weights": self.weights_text(),
                "scale": self.scale,
                "conversion": self.conversion_text(),
            }
        return _(
            "Overall is the weighted mean of the criterion means (weights: %(weights)s), on the "
            "criteria's %(scale)s scale."
        ) % {"weights": self.weights_text(), "scale": self.scale}


def overall_rule(criteria: Sequence[CriterionSpec]) -> OverallRule:
    scored = [c for c in criteria if not c.is_gate]
    scale = overall_scale(criteria)
    return OverallRule(
        weights=tuple((c.label, c.weight) for c in scored),
        scale_min=scale[0] if scale else None,
        scale_max=scale[1] if scale else None,
        converted=tuple(
            (c.label, c.scale_min, c.scale_max)
            for c in scored
            if (c.scale_min, c.scale_max) != scale
        ),
    )


def overall_formula(result: ProposalResult, places: int = 2) -> str:
    """One proposal's Overall as a sum anyone can redo from the shown (converted) means:
    "(2 x 4.50 + 1 x 4.00) / 3 = 4.33"; "" without an Overall. Criteria nobody scored are
    left out, as they are of the Overall."""
    if result.overall is None:
        return ""
    terms = [c for c in result.criteria.values() if c.converted is not None]
    total = sum((c.weight for c in terms), Fraction(0))
    sum_text = " + ".join(
        f"{weight_text(c.weight)} \u00d7 {_number(c.converted, places)}" for c in terms
    )
    return (
        f"({sum_text}) / {weight_text(total)} = {_number(overall_points(result, places), places)}"
    )
