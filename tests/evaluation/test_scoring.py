"""Scoring maths with hand-computed expectations and property tests for the invariants."""

from decimal import Decimal
from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.scoring import CriterionSpec, ReviewInput, on_scale, rank, score_proposal

PSF = [
    CriterionSpec("complete", F(0), is_gate=True),
    CriterionSpec("experience", F(1)),
    CriterionSpec("cost", F(1)),
    CriterionSpec("process", F(1)),
]


def review(rid, experience, cost, process, complete="pass"):
    return ReviewInput(
        rid, {"experience": experience, "cost": cost, "process": process}, {"complete": complete}
    )


def test_hand_computed_means_medians_spreads_and_overall():
    result = score_proposal(1, [review(1, 4, 3, 5), review(2, 2, 3, 4), review(3, 3, 3, 3)], PSF)
    experience = result.criteria["experience"]
    assert experience.mean == F(3) and experience.median == F(3) and experience.spread == F(2)
    assert experience.disagreement  # 2 points apart on 0-5
    assert result.criteria["cost"].spread == 0 and not result.criteria["cost"].disagreement
    # Criterion means 3, 3, 4 → (3/5 + 3/5 + 4/5) / 3 = 2/3 → 3.33 out of 5.
    assert result.overall == F(2, 3)
    assert on_scale(result.overall) == Decimal("3.33")
    # Per-review overalls: 12/15, 9/15, 9/15 → median 9/15, spread 3/15.
    assert result.overall_median == F(9, 15) and result.overall_spread == F(3, 15)


def test_weights_change_the_overall_as_expected():
    weighted = [
        CriterionSpec("experience", F(2)),
        CriterionSpec("cost", F(1)),
        CriterionSpec("process", F(1)),
    ]
    result = score_proposal(1, [review(1, 5, 1, 1)], weighted)
    # (2·1 + 1·0.2 + 1·0.2) / 4 = 0.6
    assert result.overall == F(3, 5)


def test_criteria_on_different_scales_are_normalised():
    specs = [CriterionSpec("a", F(1), 0, 5), CriterionSpec("b", F(1), 1, 10)]
    result = score_proposal(1, [ReviewInput(1, {"a": 5, "b": 1})], specs)
    assert result.overall == F(1, 2)


def test_missing_scores_and_fewer_reviews_than_assigned_are_flagged():
    result = score_proposal(
        7, [ReviewInput(1, {"experience": 4, "cost": None, "process": None})], PSF, assigned=3
    )
    assert result.incomplete and result.reviews == 1
    assert result.criteria["cost"].mean is None and result.criteria["cost"].count == 0
    assert result.overall == F(4, 5)  # only the scored criterion counts


def test_no_reviews_gives_no_overall_and_no_rank():
    empty = score_proposal(9, [], PSF, assigned=2)
    assert empty.overall is None and empty.incomplete
    assert rank([empty])[0].rank is None


def test_gate_failures_are_flagged_and_listed_after_the_ranking():
    good = score_proposal(1, [review(1, 3, 3, 3)], PSF)
    failed = score_proposal(2, [review(1, 5, 5, 5, complete="fail")], PSF)
    unsure = score_proposal(3, [review(1, 2, 2, 2, complete="unsure")], PSF)
    assert failed.gate_failed and unsure.gate_flagged and not unsure.gate_failed
    ranking = rank([good, failed, unsure])
    assert [(r.result.proposal_id, r.rank) for r in ranking] == [(1, 1), (3, 2), (2, None)]


def test_ties_share_a_rank_and_the_next_rank_skips():
    a = score_proposal(1, [review(1, 4, 4, 4)], PSF)
    b = score_proposal(2, [review(1, 4, 4, 4)], PSF)
    c = score_proposal(3, [review(1, 2, 2, 2)], PSF)
    d = score_proposal(4, [review(1, 5, 5, 5)], PSF)
    ranking = rank([a, b, c, d])
    assert [(r.result.proposal_id, r.rank, r.tied) for r in ranking] == [
        (4, 1, False),
        (1, 2, True),
        (2, 2, True),
        (3, 4, False),
    ]


scores = st.integers(min_value=0, max_value=5)
reviews_strategy = st.lists(
    st.tuples(scores, scores, scores, st.sampled_from(["pass", "fail", "unsure"])),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150)
@given(reviews_strategy, st.randoms())
def test_permuting_reviews_changes_nothing(rows, rnd):
    reviews = [review(i, *row) for i, row in enumerate(rows)]
    shuffled = list(reviews)
    rnd.shuffle(shuffled)
    assert score_proposal(1, reviews, PSF) == score_proposal(1, shuffled, PSF)


@settings(max_examples=150)
@given(
    reviews_strategy,
    st.lists(st.integers(min_value=1, max_value=9), min_size=3, max_size=3),
    st.fractions(min_value=F(1, 10), max_value=F(100)),
)
def test_scaling_all_weights_changes_nothing(rows, weights, factor):
    reviews = [review(i, *row) for i, row in enumerate(rows)]
    specs = [CriterionSpec("complete", F(0), is_gate=True)] + [
        CriterionSpec(key, F(w))
        for key, w in zip(["experience", "cost", "process"], weights, strict=True)
    ]
    scaled = [
        CriterionSpec(s.key, s.weight * factor, is_gate=s.is_gate) if not s.is_gate else s
        for s in specs
    ]
    assert score_proposal(1, reviews, specs).overall == score_proposal(1, reviews, scaled).overall


@settings(max_examples=150)
@given(reviews_strategy)
def test_overall_lies_between_worst_and_best_review(rows):
    reviews = [review(i, *row) for i, row in enumerate(rows)]
    result = score_proposal(1, reviews, PSF)
    low = min(F(sum(r[:3]), 15) for r in rows)
    high = max(F(sum(r[:3]), 15) for r in rows)
    assert low <= result.overall <= high
