"""Ranks with intervals, the chance of a funded place and the band at the funding line."""

import time
from fractions import Fraction

import numpy as np
import pytest

from evaluation import uncertainty
from evaluation.scoring import CriterionSpec, ReviewInput, rank, score_proposal

CRITERIA = [
    CriterionSpec("quality", Fraction(2)),
    CriterionSpec("cost", Fraction(1)),
    CriterionSpec("eligible", Fraction(0), is_gate=True),
]


def reviews(*scores, gate="pass"):
    """Reviews from (quality, cost) pairs, or a single number for both."""
    made = []
    for j, s in enumerate(scores):
        quality, cost = s if isinstance(s, tuple) else (s, s)
        made.append(ReviewInput(j, {"quality": quality, "cost": cost}, {"eligible": gate}))
    return made


def intervals(data, places=2, seed=1, resamples=1000, **kwargs):
    return uncertainty.rank_intervals(
        data,
        CRITERIA,
        places=places,
        rng=np.random.default_rng(seed),
        resamples=resamples,
        **kwargs,
    )


NEAR_TIES = {
    1: reviews(5, 5, 5),  # clearly first
    2: reviews(4, 3, 3),  # 2, 3 and 4: near-tied for the second place
    3: reviews(3, 4, 3),
    4: reviews(3, 3, 4),
    5: reviews(1, 1, 1),  # clearly last
    6: reviews(1, 0, 1),
}


def test_the_same_seed_gives_the_same_answer_whatever_the_order_given():
    first = intervals(NEAR_TIES, seed=42)
    again = intervals(dict(reversed(list(NEAR_TIES.items()))), seed=42)
    assert first == again
    assert intervals(NEAR_TIES, seed=43) != first


def test_a_clearly_better_proposal_is_first_with_a_narrow_interval():
    result = intervals(NEAR_TIES)
    best = result.of(1)
    assert (best.low, best.high, best.expected_rank, best.p_funded) == (1, 1, 1, 1)
    assert result.intervals[0].proposal_id == 1
    worst = [result.of(5), result.of(6)]
    assert all(i.low >= 5 and i.p_funded == 0 for i in worst)


def test_intervals_contain_the_expected_rank_and_chances_share_the_places():
    rng = np.random.default_rng(5)
    data = {
        pid: reviews(*(int(x) for x in np.clip(rng.normal(2.5, 1.3, size=3).round(), 0, 5)))
        for pid in range(1, 31)
    }
    for places in (1, 5, 12):
        result = intervals(data, places=places)
        assert all(i.contains(i.expected_rank) for i in result.intervals)
        assert all(1 <= i.low <= i.high <= len(data) for i in result.intervals)
        # Funded places inside a tie are shared: the chances add up to the places.
        assert sum(i.p_funded for i in result.intervals) == pytest.approx(places)


def test_the_band_holds_the_near_ties_at_the_line_and_not_the_clear_ones():
    result = intervals(NEAR_TIES, places=2)
    assert set(result.band) == {2, 3, 4}
    for pid in (2, 3, 4):
        interval = result.of(pid)
        assert interval.low < 3 and interval.high > 2
        assert 0 < interval.p_funded < 1
    # A line among the clear ones: nobody is in doubt.
    assert intervals(NEAR_TIES, places=1).band == ()
    assert intervals(NEAR_TIES, places=4).band == ()
    # The sentence says where the line is.
    assert "place 2" in result.band_sentence()


def test_proposals_that_tie_exactly_share_their_places_and_are_in_the_band():
    data = {1: reviews(4, 4), 2: reviews(4, 4), 3: reviews(1, 1)}
    result = intervals(data, places=1)
    assert result.of(1).expected_rank == result.of(2).expected_rank == 1.5
    assert result.of(1).p_funded == result.of(2).p_funded == 0.5
    assert set(result.band) == {1, 2}


def test_the_overall_is_the_dashboards_and_no_redraw_changes_identical_reviews():
    data = {1: reviews((5, 4), (4, 4)), 2: reviews((3, 3), (3, 3))}
    result = intervals(data, places=1)
    assert result.of(1).overall == score_proposal(1, data[1], CRITERIA).overall == Fraction(13, 3)
    assert result.of(2).low == result.of(2).high == 2


def test_a_proposal_with_one_review_gets_a_wide_interval_and_says_so():
    data = {pid: reviews(s, s + 1, s - 1) for pid, s in enumerate((2, 2, 3, 3, 3, 4), start=1)}
    data[7] = reviews(3)
    result = intervals(data, places=3)
    lone = result.of(7)
    assert lone.one_review and lone.reviews == 1
    assert not any(i.one_review for i in result.intervals if i.proposal_id != 7)
    # Its own reviewer alone cannot fix its place: its interval is wider than its neighbours'.
    assert lone.high - lone.low > result.of(4).high - result.of(4).low
    assert uncertainty.one_review_note()


def test_one_review_everywhere_draws_the_overall_anywhere_on_the_scale():
    data = {1: reviews(5), 2: reviews(0), 3: reviews(3)}
    result = intervals(data, places=1)
    assert all(i.one_review for i in result.intervals)
    assert all(i.low == 1 and i.high == 3 for i in result.intervals)


def test_proposals_without_scores_or_failed_at_a_gate_are_left_out():
    data = {
        1: reviews(4, 3),
        2: [],
        3: [ReviewInput(0, {"quality": None, "cost": None}, {"eligible": "pass"})],
        4: reviews(5, 5, gate="fail"),
        5: reviews(2, 2),
    }
    result = intervals(data, places=1)
    assert [i.proposal_id for i in result.intervals] == [1, 5]
    assert {(o.proposal_id, o.reason) for o in result.left_out} == {
        (2, "no scores"),
        (3, "no scores"),
        (4, "failed a gate"),
    }
    kept = intervals(data, places=1, exclude_gate_failures=False)
    assert kept.intervals[0].proposal_id == 4
    assert intervals({2: []}, places=1).intervals == ()


def test_a_review_that_scored_some_criteria_counts_for_those_only():
    # scoring's rule: the weighted mean of the criterion means over the criteria scored.
    data = {
        1: [
            ReviewInput(0, {"quality": 5, "cost": None}, {}),
            ReviewInput(1, {"quality": 3, "cost": 1}, {}),
        ],
        2: reviews(2, 2),
    }
    result = intervals(data, places=1)
    assert result.of(1).overall == Fraction(2 * 4 + 1 * 1, 3)
    assert [r.rank for r in rank([score_proposal(p, v, CRITERIA) for p, v in data.items()])] == [
        1,
        2,
    ]
    assert result.of(1).expected_rank < result.of(2).expected_rank


def test_results_given_are_used_and_give_the_same_intervals():
    data = {**NEAR_TIES, 7: reviews(5, 4, gate="fail"), 8: [ReviewInput(0, {}, {})]}
    # As the dashboard computes them: with the reviews due, more than were done.
    given = {
        pid: score_proposal(pid, rs, CRITERIA, assigned=len(rs) + 2) for pid, rs in data.items()
    }
    plain = intervals(data, seed=9)
    assert intervals(data, seed=9, results=given) == plain
    assert {o.proposal_id for o in plain.left_out} == {7, 8}
    # A proposal missing from the results is scored.
    assert intervals(data, seed=9, results={1: given[1], 5: given[5]}) == plain
    # What is given is read: proposal 6 given proposal 1's result shows its Overall, and given
    # a failed gate it is left out.
    swapped = intervals(data, seed=9, results={**given, 6: given[1], 5: given[7]})
    assert swapped.of(6).overall == given[1].overall != plain.of(6).overall
    assert swapped.of(5) is None and ("failed a gate" in {o.reason for o in swapped.left_out})


def test_resamples_and_places_are_bounded():
    with pytest.raises(ValueError):
        intervals(NEAR_TIES, resamples=10)
    with pytest.raises(ValueError):
        intervals(NEAR_TIES, resamples=10**6)
    with pytest.raises(ValueError):
        intervals(NEAR_TIES, places=0)


def test_two_hundred_proposals_and_a_thousand_redraws_take_well_under_a_second():
    rng = np.random.default_rng(3)
    data = {}
    for pid in range(200):
        quality = rng.uniform(1, 4)
        n = int(rng.integers(1, 6))
        data[pid] = reviews(
            *(
                (int(np.clip(round(quality + a), 0, 5)), int(np.clip(round(quality + b), 0, 5)))
                for a, b in rng.normal(size=(n, 2))
            )
        )
    started = time.perf_counter()
    result = intervals(data, places=20)
    assert time.perf_counter() - started < 1.5
    assert len(result.intervals) == 200
    assert result.band
