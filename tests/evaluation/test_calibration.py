"""Calibrated scores (evaluation/calibration.py): the model recovers known leniencies, changes
nothing where there is nothing to correct, falls back to raw scores with a reason when the
reviews cannot support it, and reads the same reviews from the database as the dashboard."""

import math
import random
from decimal import Decimal
from fractions import Fraction as F

import numpy as np
import pytest
from django.utils import timezone, translation

from evaluation import calibration, dashboard, scoring, services
from evaluation.calibration import Observation, calibrate, calibrate_rfp, leniency_sentence
from evaluation.models import PoolMember
from evaluation.scoring import CriterionSpec
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.reviews import assessments, declare_no_conflict, make_reviewer, save_review

PSF = [
    CriterionSpec("complete", F(0), is_gate=True),
    CriterionSpec("experience", F(1)),
    CriterionSpec("cost", F(1)),
    CriterionSpec("process", F(1)),
]
SCORED = ["experience", "cost", "process"]


def balanced(rng, proposals, reviewers, per_proposal):
    """Each proposal's reviewers: the least loaded so far, ties broken at random."""
    load = np.zeros(reviewers)
    chosen = []
    for _ in range(proposals):
        picked = np.argsort(load + rng.random(reviewers))[:per_proposal]
        load[picked] += 1
        chosen.append(sorted(int(r) for r in picked))
    return chosen


def synthetic(biases, *, proposals=30, per_proposal=3, noise=0.3, seed=17):
    """Scores on the PSF's three criteria: quality + the reviewer's bias + noise (and a gate
    verdict, which calibration ignores). (observations, true overall per proposal)."""
    rng = np.random.default_rng(seed)
    quality = rng.normal(2.5, 0.8, (proposals, len(SCORED)))
    observations = []
    for p, panel in enumerate(balanced(rng, proposals, len(biases), per_proposal)):
        for r in panel:
            observations.append(Observation(p, 100 + r, "complete", 1))
            for c, key in enumerate(SCORED):
                score = quality[p, c] + biases[r] + rng.normal(0, noise)
                observations.append(Observation(p, 100 + r, key, round(score, 3)))
    return observations, quality.mean(axis=1)


def leniencies(result):
    return [result.reviewers[100 + r].points for r in range(len(result.reviewers))]


def test_the_model_recovers_known_biases():
    biases = [-1, -0.5, 0, 0.5, 1]
    observations, truth = synthetic(biases)
    result = calibrate(observations, PSF)
    assert result.usable and result.reason == "" and result.message == ""
    assert np.allclose(leniencies(result), biases, atol=0.2)
    assert sum(leniencies(result)) == pytest.approx(0, abs=1e-9)  # relative to the panel
    assert all(lenient.proposals == 18 for lenient in result.reviewers.values())
    assert result.spread_sd == pytest.approx(np.std(biases, ddof=1), abs=0.2)
    assert 0 < result.ridge < 1 and result.noise_sd < 0.3
    # Calibrated Overalls are nearer the truth than raw ones (on average, and by far).
    raw = [float(result.proposals[p].raw_overall) for p in range(30)]
    calibrated = [result.proposals[p].overall for p in range(30)]
    assert np.abs(np.array(calibrated) - truth).mean() < np.abs(np.array(raw) - truth).mean() * 0.6


def test_unbiased_reviewers_come_out_near_zero():
    observations, _truth = synthetic([0, 0, 0, 0, 0], seed=3)
    result = calibrate(observations, PSF)
    assert result.usable
    assert max(abs(b) for b in leniencies(result)) < 0.1
    # A fixed small ridge estimates them near zero too; the estimated one shrinks them more.
    fixed = calibrate(observations, PSF, ridge=1)
    assert max(abs(b) for b in leniencies(fixed)) < 0.1
    assert sum(b * b for b in leniencies(result)) <= sum(b * b for b in leniencies(fixed))
    # Here the estimates vary less than the noise explains: nothing is taken out.
    assert math.isinf(result.ridge) and result.spread_sd == 0
    assert result.noise_sd == pytest.approx(0.3 / math.sqrt(3), abs=0.05)  # a review's mean
    for proposal in result.proposals.values():
        assert proposal.overall == pytest.approx(float(proposal.raw_overall), abs=1e-12)
        assert proposal.overall_points() == proposal.raw_points()


def test_a_calibrated_mean_is_the_raw_mean_less_its_reviewers_average_leniency():
    observations, _truth = synthetic([-1, -0.5, 0, 0.5, 1], proposals=12, seed=5)
    result = calibrate(observations, PSF)
    for pid, proposal in result.proposals.items():
        panel = {o.reviewer_id for o in observations if o.proposal_id == pid}
        mean_leniency = sum(result.reviewers[r].points for r in panel) / len(panel)
        for key in SCORED:
            raw = float(proposal.raw.criteria[key].mean)
            assert proposal.means[key] == pytest.approx(raw - mean_leniency, abs=1e-9)
        assert proposal.overall == pytest.approx(float(proposal.raw_overall) - mean_leniency)


def test_permuting_the_observations_changes_nothing():
    observations, _truth = synthetic([-1, 0, 1, 0.5, -0.5], seed=11)
    shuffled = list(observations)
    random.Random(4).shuffle(shuffled)
    assert calibrate(shuffled, PSF) == calibrate(observations, PSF)


def dashboard_results(observations, criteria, *, verdict="fail", silent=None):
    """Each proposal's result as the dashboard computes it from the same scores: with its
    reviews' gate verdicts, more reviews assigned than done, and (`silent`) a review that
    scored nothing."""
    reviews = {}
    for o in observations:
        if o.criterion == "complete":
            continue
        by_reviewer = reviews.setdefault(o.proposal_id, {})
        scores, _gates = by_reviewer.setdefault(o.reviewer_id, ({}, {"complete": verdict}))
        scores[o.criterion] = scoring.as_fraction(o.score)
    if silent is not None:
        reviews[silent][999] = ({}, {"complete": "unsure"})
    return {
        pid: scoring.score_proposal(
            pid,
            [scoring.ReviewInput(r, sc, gates) for r, (sc, gates) in by_reviewer.items()],
            criteria,
            assigned=len(by_reviewer) + 2,
        )
        for pid, by_reviewer in reviews.items()
    }


def test_results_given_are_used_and_give_the_same_calibration():
    observations, _truth = synthetic([-1, 0, 1, 0.5, -0.5], seed=11)
    given = dashboard_results(observations, PSF, silent=3)
    assert given[3].reviews != 3 and given[3].gate_failed  # not what the scores alone give
    assert calibrate(observations, PSF, results=given) == calibrate(observations, PSF)
    # A proposal missing from the results is scored; one without scores is not added.
    partial = {pid: result for pid, result in given.items() if pid % 2}
    partial[77] = given[1]
    assert calibrate(observations, PSF, results=partial) == calibrate(observations, PSF)
    # Unusable: the same raw results too.
    left = ring(4, 3)
    right = [Observation(o.proposal_id + 10, o.reviewer_id + 10, o.criterion, 4) for o in left]
    alone = left + right
    assert calibrate(alone, PSF, results=dashboard_results(alone, PSF)) == calibrate(alone, PSF)


def test_the_results_given_are_read_not_recomputed():
    # Scores the proposal would never get from these observations: they show they were used.
    observations, _truth = synthetic([-1, 0, 1], proposals=9, seed=5)
    given = dashboard_results(observations, PSF)
    other = dashboard_results(
        [Observation(o.proposal_id, o.reviewer_id, o.criterion, 0) for o in observations], PSF
    )
    mixed = calibrate(observations, PSF, results={**given, 4: other[4]})
    assert mixed.proposals[4].raw_overall == 0
    assert mixed.proposals[3].raw == calibrate(observations, PSF).proposals[3].raw


def test_criteria_on_other_scales_are_calibrated_on_their_own_and_the_overall_on_the_first():
    specs = [CriterionSpec("a", F(2), 0, 5), CriterionSpec("b", F(1), 1, 10)]
    # Every reviewer agrees exactly: nothing to correct, calibrated equals raw.
    observations = [
        Observation(p, r, key, score)
        for p, (a, b) in enumerate([(5, 10), (3, 4), (1, 7), (4, 1)])
        for r in (1, 2, 3)
        for key, score in (("a", a), ("b", b))
    ]
    result = calibrate(observations, specs)
    assert result.usable and result.scale == (0, 5)
    assert max(abs(b.points) for b in result.reviewers.values()) < 1e-9
    for proposal in result.proposals.values():
        assert proposal.means["b"] == pytest.approx(float(proposal.raw.criteria["b"].mean))
        assert proposal.overall == pytest.approx(float(proposal.raw_overall))
        assert proposal.overall_points() == proposal.raw_points()
    # Proposal 1: (2 x 3 + 1 x (4 - 1) x 5 / 9) / 3 = 2.56 on 0-5.
    assert result.proposals[1].overall_points() == Decimal("2.56")


def test_a_leniency_in_points_on_the_overalls_scale():
    # Reviewer 2 gives one point more on 0-5 and two more on 0-10: one point on the Overall's.
    specs = [CriterionSpec("a", F(1), 0, 5), CriterionSpec("b", F(1), 0, 10)]
    quality = [(1, 2), (2, 4), (3, 6), (2, 2)]
    observations = [
        Observation(p, r, key, score + ({"a": 1, "b": 2}[key] if r == 2 else 0))
        for p, (a, b) in enumerate(quality)
        for r in (1, 2, 3)
        for key, score in (("a", a), ("b", b))
    ]
    result = calibrate(observations, specs, ridge=1e-9)
    assert result.reviewers[2].points == pytest.approx(2 / 3)
    assert result.reviewers[1].points == pytest.approx(-1 / 3)
    # Calibrated means are what a reviewer of the panel's average leniency would give: the
    # true (1, 2) plus a third of reviewer 2's extra (1 and 2 points on their scales).
    assert result.proposals[0].means == pytest.approx({"a": 4 / 3, "b": 2 + 2 / 3})


def test_leniency_in_words():
    with translation.override("en"):
        assert leniency_sentence(0.6) == "Scores 0.6 points above the panel on average."
        assert leniency_sentence(-1.24) == "Scores 1.2 points below the panel on average."
        assert leniency_sentence(0.04) == "Scores in line with the panel on average."
        assert leniency_sentence(-0.05) == "Scores in line with the panel on average."
    with translation.override("es"):
        assert "0,6" in leniency_sentence(0.6)


def ring(reviewers, proposals_each):
    """Reviewer r scores proposals r .. r + proposals_each - 1 (mod the number of proposals)."""
    n = reviewers
    return [
        Observation((r + i) % n, r, key, 3)
        for r in range(reviewers)
        for i in range(proposals_each)
        for key in SCORED
    ]


def test_the_thresholds_themselves_are_enough():
    # Four reviewers, three proposals each, every proposal shared: usable.
    assert calibrate(ring(4, 3), PSF).usable


def test_a_disconnected_graph_falls_back_to_raw_scores_with_a_message():
    left = ring(4, 3)
    right = [Observation(o.proposal_id + 10, o.reviewer_id + 10, o.criterion, 4) for o in left]
    result = calibrate(left + right, PSF)
    assert not result.usable and result.reason == calibration.DISCONNECTED and result.groups == 2
    assert result.reviewers == {}
    assert all(p.overall is None and p.means == {} for p in result.proposals.values())
    assert result.proposals[10].raw_points() == Decimal("4.00")
    with translation.override("en"):
        assert "fall into 2 groups that scored none of the same proposals" in result.message
        assert result.message.startswith("Raw scores only:")


def test_a_reviewer_with_too_few_proposals_falls_back():
    observations = ring(4, 3) + [
        Observation(p, 9, key, 2) for p in (0, 1) for key in SCORED
    ]  # reviewer 9 scored two proposals
    result = calibrate(observations, PSF)
    assert not result.usable and result.reason == calibration.FEW_PROPOSALS
    assert result.short == (9,)
    with translation.override("en"):
        assert result.message == (
            "Raw scores only: 1 reviewer scored fewer than 3 proposals, too few to tell how "
            "generous they are from the quality of what they read."
        )


def test_a_reviewer_sharing_too_few_proposals_falls_back():
    # Reviewer 9 scored four proposals, only one of which anyone else read.
    observations = ring(4, 3) + [
        Observation(p, 9, key, 2) for p in (0, 20, 21, 22) for key in SCORED
    ]
    result = calibrate(observations, PSF)
    assert not result.usable and result.reason == calibration.FEW_SHARED
    assert result.short == (9,)
    with translation.override("en"):
        assert "1 reviewer shares fewer than 2 proposals with other reviewers" in result.message


def test_one_reviewer_or_none_falls_back():
    alone = calibrate([Observation(p, 1, key, 3) for p in range(5) for key in SCORED], PSF)
    assert not alone.usable and alone.reason == calibration.ONE_REVIEWER
    assert set(alone.proposals) == set(range(5))
    with translation.override("en"):
        assert "only one reviewer has scored" in alone.message
    empty = calibrate([Observation(1, 1, "complete", 1)], PSF)  # a gate verdict only
    assert not empty.usable and empty.reason == calibration.NO_SCORES and empty.proposals == {}


def test_unknown_criteria_and_double_scores_are_errors():
    with pytest.raises(ValueError, match="unknown criterion"):
        calibrate([Observation(1, 1, "elegance", 3)], PSF)
    with pytest.raises(ValueError, match="twice"):
        calibrate([Observation(1, 1, "cost", 3), Observation(1, 1, "cost", 4)], PSF)


# --- From the database ------------------------------------------------------------------------


@pytest.mark.django_db
def test_calibrate_rfp_reads_the_reviews_the_dashboard_counts(
    evaluation_setup, staff, django_assert_num_queries
):
    s = evaluation_setup
    rfp = s["rfp"]
    gamma = submitted_proposal(rfp, UserFactory(email="gamma@gamma.example.io"), "Gamma")
    delta = submitted_proposal(rfp, UserFactory(email="delta@delta.example.io"), "Delta")
    proposals = [s["alpha"], s["beta"], gamma, delta]
    late = make_reviewer("late@uni9.example.edu", "Uni 9")
    PoolMember.objects.create(rfp=rfp, user=late)
    reviewers = [*s["reviewers"], late]
    panels = {0: (0, 1, 2), 1: (1, 2, 3), 2: (0, 2, 3)}  # reviewer → proposals
    base = {0: 4, 1: 2, 2: 3, 3: 1}
    lenient = {0: 1, 1: 0, 2: -1}
    assigned = {}
    for r, panel in panels.items():
        for p in panel:
            assigned[r, p] = s["assign"](proposals[p], reviewers[r], staff)
    assigned[3, 0] = s["assign"](proposals[0], late, staff)
    open_now(rfp)
    expected = []
    for (r, p), assignment in assigned.items():
        declare_no_conflict(assignment, reviewers[r])
        if r == 3:  # a draft: not counted
            save_review(assignment, late, assessments(rfp, 5))
            continue
        scores = {
            key: max(0, min(5, base[p] + lenient[r] + offset)) for offset, key in enumerate(SCORED)
        }
        save_review(assignment, reviewers[r], assessments(rfp, scores=scores), submit=True)
        expected += [Observation(proposals[p].pk, reviewers[r].pk, k, v) for k, v in scores.items()]
    # A reviewer who leaves the pool keeps their submitted reviews, in the raw Overall too.
    services.remove_from_pool(rfp=rfp, reviewer=reviewers[2], staff_user=staff, now=timezone.now())

    with django_assert_num_queries(2):
        result = calibrate_rfp(rfp)
    assert result == calibrate(expected, scoring.criterion_specs(rfp.criteria.all()))
    assert result.usable and set(result.reviewers) == {r.pk for r in s["reviewers"]}
    assert result.reviewers[reviewers[0].pk].points > 0 > result.reviewers[reviewers[2].pk].points
    built = dashboard.build(rfp)
    board = {row.proposal.pk: row for row in built.rows}
    for proposal in proposals:
        assert result.proposals[proposal.pk].raw_points() == board[proposal.pk].overall_points
    # The dashboard's calibration, from its own results (gate verdicts, reviews due), is this
    # one: the funding plan reads it instead of calibrating again.
    assert built.calibration == result
