"""Scoring maths with hand-computed expectations and property tests for the invariants."""

from decimal import Decimal
from fractions import Fraction as F

from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.scoring import (
    CriterionSpec,
    ReviewInput,
    median_points,
    overall_formula,
    overall_points,
    overall_rule,
    rank,
    score_proposal,
    spread_points,
)

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
    # Criterion means 3, 3, 4 → (3 + 3 + 4) / 3 = 10/3 → 3.33 on the 0-5 scale.
    assert result.overall == F(10, 3)
    assert overall_points(result) == Decimal("3.33")
    # Per-review overalls: 12/3, 9/3, 9/3 → median 3, spread 1.
    assert result.overall_median == F(3) and result.overall_spread == F(1)
    assert median_points(result) == Decimal("3.00") and spread_points(result) == Decimal("1.00")


def test_weights_change_the_overall_as_expected():
    weighted = [
        CriterionSpec("experience", F(2)),
        CriterionSpec("cost", F(1)),
        CriterionSpec("process", F(1)),
    ]
    result = score_proposal(1, [review(1, 5, 1, 1)], weighted)
    # (2·5 + 1·1 + 1·1) / 4 = 3
    assert result.overall == F(3)


def test_overall_is_the_weighted_mean_of_the_criterion_means_on_their_scale():
    # The example: (5, 4) and (4, 4) on 1-5 with weights 2 and 1 show 4.50 and 4.00;
    # the Overall is (2 x 4.50 + 1 x 4.00) / 3 = 4.33, not 4.17 (lowest score counted as 0).
    specs = [CriterionSpec("quality", F(2), 1, 5), CriterionSpec("cost", F(1), 1, 5)]
    reviews = [ReviewInput(1, {"quality": 5, "cost": 4}), ReviewInput(2, {"quality": 4, "cost": 4})]
    result = score_proposal(1, reviews, specs)
    assert result.overall == F(13, 3) and overall_points(result) == Decimal("4.33")
    assert (result.scale_min, result.scale_max) == (1, 5)
    # Each review's own overall: (2·5 + 4) / 3 and (2·4 + 4) / 3 → median 13/3, spread 2/3.
    assert result.overall_median == F(13, 3) and result.overall_spread == F(2, 3)
    # Straight 3s on a 1-5 scale are an Overall of 3, not 2.50.
    threes = score_proposal(2, [ReviewInput(1, {"quality": 3, "cost": 3})], specs)
    assert overall_points(threes) == Decimal("3.00")


def test_criteria_on_different_scales_are_converted_to_the_first_criterions_scale():
    specs = [CriterionSpec("a", F(1), 0, 5), CriterionSpec("b", F(1), 1, 10)]
    result = score_proposal(1, [ReviewInput(1, {"a": 5, "b": 1})], specs)
    # b's 1 (its lowest) counts as 0 on a's 0-5 scale: (1 x 5 + 1 x 0) / 2.
    assert result.criteria["b"].converted == 0 and result.criteria["b"].is_converted
    assert result.criteria["a"].converted == 5 and not result.criteria["a"].is_converted
    assert result.overall == F(5, 2)
    # A 1-5 first criterion: b's 7 of 1-10 is 1 + (7 - 1) x 4 / 9 = 11/3 on 1-5.
    specs = [CriterionSpec("q", F(2), 1, 5), CriterionSpec("b", F(1), 1, 10)]
    result = score_proposal(1, [ReviewInput(1, {"q": 4, "b": 7})], specs)
    assert result.criteria["b"].converted == F(11, 3)
    assert result.overall == (2 * 4 + F(11, 3)) / 3


def test_the_definition_in_words_and_the_sum_for_one_proposal():
    specs = [
        CriterionSpec("pass", F(0), is_gate=True, name="Complete"),
        CriterionSpec("quality", F(2), 1, 5, name="Quality"),
        CriterionSpec("cost", F("1.5"), 1, 5, name="Cost"),
    ]
    reviews = [ReviewInput(1, {"quality": 5, "cost": 4}), ReviewInput(2, {"quality": 4, "cost": 4})]
    result = score_proposal(1, reviews, specs)
    rule = overall_rule(specs)
    with translation.override("en"):
        assert rule.weights_text() == "Quality \u00d72, Cost \u00d71.5"
        assert rule.sentence() == (
            "Overall is the weighted mean of the criterion means "
            "(weights: Quality \u00d72, Cost \u00d71.5), on the criteria's 1\u20135 scale."
        )
        # (2 x 4.5 + 1.5 x 4) / 3.5 = 15 / 3.5 = 4.2857…
        assert overall_formula(result) == "(2 \u00d7 4.50 + 1.5 \u00d7 4.00) / 3.5 = 4.29"
    with translation.override("es"):
        assert overall_formula(result) == "(2 \u00d7 4,50 + 1,5 \u00d7 4,00) / 3,5 = 4,29"
    mixed = overall_rule([CriterionSpec("q", F(2), 1, 5), CriterionSpec("b", F(1), 1, 10)])
    assert mixed.mixed_scales and not rule.mixed_scales
    with translation.override("en"):
        assert "converted to the 1\u20135 scale" in mixed.sentence()
        assert "a mean m on 1\u201310 counts as 1 + (m \u2212 1) \u00d7 4 / 9" in mixed.sentence()


def test_missing_scores_and_fewer_reviews_than_assigned_are_flagged():
    result = score_proposal(
        7, [ReviewInput(1, {"experience": 4, "cost": None, "process": None})], PSF, assigned=3
    )
    assert result.incomplete and result.reviews == 1
    assert result.criteria["cost"].mean is None and result.criteria["cost"].count == 0
    assert result.overall == F(4)  # only the scored criterion counts


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
    low = min(F(sum(r[:3]), 3) for r in rows)
    high = max(F(sum(r[:3]), 3) for r in rows)
    assert low <= result.overall <= high
