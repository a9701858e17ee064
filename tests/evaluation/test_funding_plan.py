"""The funding plan (issue 17): every limit respected on random instances, the optimum of a
brute force over every set of awards on small ones (for each objective), locks and exclusions,
and answers in words when nothing, or no plan at all, can be funded."""

import random
import tomllib
from dataclasses import replace
from decimal import Decimal as D
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation import demo as evaluation_demo
from evaluation import funding_plan
from evaluation.funding_plan import Candidate, FeatureSpec, Options, Problem, plan_funding, solve
from proposals import budget, demo_teams
from proposals import demo as proposals_demo
from tests.helpers.plans import brute_force, exact_value

# --- Helpers ----------------------------------------------------------------------------------


def features(*rows):
    """(budget, cap) per feature, ids 1, 2, ..."""
    return tuple(
        FeatureSpec(i, f"F{i}", D(b), D(c), milestone="M") for i, (b, c) in enumerate(rows, 1)
    )


def candidate(pid, value, requested, gates=True):
    return Candidate(pid, f"P{pid}", F(value), gates, {f: D(a) for f, a in requested.items()})


def within_limits(problem, plan):
    """Every limit, in exact decimals, on the plan as returned."""
    opts = problem.options
    by_id = {c.id: c for c in problem.candidates}
    assert plan.total == sum((a.amount for a in plan.awards), D(0))
    assert plan.total <= problem.total_limit
    for line in plan.lines:
        assert line.awarded == sum((a.amount for a in line.awards), D(0))
        assert line.awarded <= line.feature.cap
        assert len(line.awards) <= opts.max_contractors_per_feature
        assert line.standing != budget.Standing.OVER_CAP
    for award in plan.awards:
        c = by_id[award.proposal_id]
        assert c.gates_passed and c.id not in opts.excluded
        assert c.requested[award.feature_id] == award.amount
    funded = {(a.proposal_id, a.feature_id) for a in plan.awards}
    assert len(funded) == len(plan.awards)
    for c in problem.candidates:
        asked = {(c.id, f) for f, a in c.requested.items() if a}
        if c.id in opts.locked:
            assert asked <= funded
        if not opts.allow_partial and asked & funded:
            assert asked <= funded


def random_small(rng, objective):
    """At most 8 requested pairs: 1-3 features, 1-4 proposals, amounts around the budgets
    (some above the caps), scores in tenths (ties happen), gates, locks and exclusions."""
    n_features = rng.randint(1, 3)
    rows = []
    for _ in range(n_features):
        b = rng.randrange(1000, 10001, 100)
        rows.append((b, b + rng.randrange(0, b // 2 + 1, 50)))
    feats = features(*rows)
    candidates, pairs = [], 0
    for pid in range(1, rng.randint(1, 4) + 1):
        bid = rng.sample(feats, rng.randint(1, n_features))[: max(1, 8 - pairs)]
        if pairs + len(bid) > 8:
            break
        pairs += len(bid)
        requested = {f.id: int(f.budget * D(rng.uniform(0.6, 1.45))) for f in bid}
        candidates.append(
            candidate(pid, F(rng.randint(0, 50), 10), requested, gates=rng.random() > 0.15)
        )
    ids = [c.id for c in candidates]
    budgets = sum(r[0] for r in rows)
    options = Options(
        objective=objective,
        max_contractors_per_feature=rng.choice([1, 1, 2]),
        locked=frozenset(rng.sample(ids, 1)) if rng.random() < 0.2 else frozenset(),
        excluded=frozenset(rng.sample(ids, 1)) if rng.random() < 0.2 else frozenset(),
        allow_partial=rng.random() < 0.75,
    )
    total_cap = None if rng.random() < 0.5 else D(int(budgets * rng.uniform(0.4, 1.3)))
    return Problem(feats, tuple(candidates), total_cap, "USD", options)


def random_large(rng, n_proposals=40, n_features=8):
    rows = []
    for _ in range(n_features):
        b = rng.randrange(2000, 30001, 500)
        rows.append((b, int(b * rng.uniform(1.0, 1.4))))
    feats = features(*rows)
    candidates = []
    for pid in range(1, n_proposals + 1):
        bid = rng.sample(feats, rng.randint(1, 5))
        requested = {f.id: int(f.budget * D(rng.uniform(0.6, 1.45))) for f in bid}
        candidates.append(
            candidate(pid, F(rng.randint(10, 50), 10), requested, gates=rng.random() > 0.1)
        )
    return Problem(feats, tuple(candidates), None, "USD")


# --- Optimal and within every limit ------------------------------------------------------------


@pytest.mark.parametrize("objective", funding_plan.OBJECTIVES)
def test_the_plan_matches_a_brute_force_over_every_set_of_awards(objective):
    rng = random.Random(f"plan-{objective}")
    infeasible = 0
    for _ in range(120):
        problem = random_small(rng, objective)
        plan = solve(problem)
        best = brute_force(problem)
        if best is None:
            infeasible += 1
            assert not plan.feasible and plan.messages and not plan.awards
            continue
        assert plan.feasible and plan.proven_best
        within_limits(problem, plan)
        pairs = {(a.proposal_id, a.feature_id) for a in plan.awards}
        value = exact_value(problem, pairs, "score" if objective == "coverage" else objective)
        assert value == plan.value
        key = (plan.features_covered, value) if objective == "coverage" else (value,)
        assert key == best[0], problem
        assert plan.total == best[1], problem  # the cheapest of the best plans
    assert infeasible < 40  # the locks make some impossible, not most


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_respects_every_cap_and_the_total_on_larger_random_instances(seed):
    rng = random.Random(seed)
    problem = random_large(rng)
    objective = funding_plan.OBJECTIVES[seed % 3]
    problem = replace(
        problem,
        total_cap=None if seed % 2 else D(sum(f.budget for f in problem.features)) * D("0.8"),
        options=Options(objective=objective, max_contractors_per_feature=1 + seed % 2),
    )
    result = plan_funding(problem)
    for plan, scaled in [(result.plan, problem)] + [
        (s.plan, problem.scaled(s.factor)) for s in result.sensitivity
    ]:
        assert plan.feasible and plan.awards and plan.proven_best
        within_limits(scaled, plan)


amounts = st.integers(min_value=1, max_value=200).map(lambda n: D(n * 50))


@st.composite
def problems(draw):
    n_features = draw(st.integers(1, 4))
    rows = []
    for _ in range(n_features):
        b = draw(amounts)
        rows.append((b, b + draw(st.integers(0, 40)) * 50))
    feats = features(*rows)
    candidates = []
    for pid in range(1, draw(st.integers(0, 6)) + 1):
        bid = draw(st.lists(st.sampled_from([f.id for f in feats]), unique=True, max_size=4))
        candidates.append(
            candidate(
                pid,
                draw(st.fractions(min_value=0, max_value=5, max_denominator=12)),
                {f: draw(amounts) for f in bid},
                gates=draw(st.booleans()) or draw(st.booleans()),
            )
        )
    options = Options(
        objective=draw(st.sampled_from(funding_plan.OBJECTIVES)),
        max_contractors_per_feature=draw(st.integers(1, 3)),
        excluded=frozenset(draw(st.lists(st.integers(1, 6), max_size=2))),
        allow_partial=draw(st.booleans()),
    )
    total_cap = draw(st.none() | amounts.map(lambda a: a * 3))
    return Problem(feats, tuple(candidates), total_cap, "USD", options)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_any_plan_without_locks_is_feasible_and_within_every_limit(problem):
    plan = solve(problem)
    assert plan.feasible and plan.proven_best
    within_limits(problem, plan)
    if not plan.awards:
        assert plan.messages  # an empty plan says why


# --- The demo's decided RFP ----------------------------------------------------------------------


def q1_problem(**options):
    """The 2019-Q1 RFP's features (its TOML) and the demo teams' proposals: each asks its
    share of every feature's budget (proposals.demo_teams), scored as evaluation.demo's
    reviewers score it, the fourth failing a gate."""
    data = tomllib.loads((proposals_demo.DEMO_DATA_DIR / "pypi-2019-q1.toml").read_text())
    feats, fid = [], 0
    for milestone in data["milestones"]:
        for feature in milestone["features"]:
            fid += 1
            feats.append(
                FeatureSpec(
                    fid, feature["name"], D(feature["budget"]), D(feature["cap"]), milestone["name"]
                )
            )
    candidates = []
    for pid, ((_email, title, share), scores) in enumerate(
        zip(demo_teams.TEAMS, evaluation_demo.SCORES, strict=True), 1
    ):
        requested = {f.id: (f.budget * D(str(share))).quantize(D(1)) for f in feats}
        candidates.append(Candidate(pid, title, F(sum(scores), len(scores)), pid != 4, requested))
    total_cap = D(data["total_cap"]) if "total_cap" in data else None
    return Problem(tuple(feats), tuple(candidates), total_cap, "USD", Options(**options))


@pytest.mark.parametrize("objective", funding_plan.OBJECTIVES)
def test_the_demo_rfp_gets_a_plan_within_its_caps_and_its_budget(objective):
    problem = q1_problem(objective=objective)
    assert problem.total_limit == D(33000)  # no total cap: the sum of the budgets
    result = plan_funding(problem)
    plan = result.plan
    within_limits(problem, plan)
    assert plan.feasible and not plan.messages and not plan.rfp_total_cap
    assert plan.features_covered == 5 and plan.total <= D(33000)
    if objective != "score_per_dollar":
        # Mossgreen (4.33, 95 % of each budget) does the whole RFP for 31,350.
        assert plan.awards_by_proposal() == {1: dict(problem.candidates[0].requested)}
        assert plan.total == D(31350) and plan.value == F(13, 3)
    for line in plan.lines:
        assert line.runner_up is not None and line.runner_up.proposal_id != 4  # gate failed
        assert line.runner_up.reasons
    assert [s.factor for s in result.sensitivity] == [D("0.9"), D("1.1")]
    for s in result.sensitivity:
        within_limits(problem.scaled(s.factor), s.plan)


def test_the_demo_proposal_over_its_caps_cannot_be_locked():
    plan = solve(q1_problem(locked=frozenset({4})))
    assert not plan.feasible and not plan.awards
    text = " ".join(plan.messages)
    assert "Brightfield: the whole RFP is locked but did not pass every gate." in text
    assert "requests USD 10,800 for Multi-Factor Auth, above its cap of USD 10,000" in text


# --- Locks, exclusions, runner-up, ties and objectives ------------------------------------------


def two_features():
    return features((8000, 10000), (2000, 3000))


def test_locking_funds_everything_a_proposal_asked_for_and_excluding_leaves_it_out():
    feats = two_features()
    best = candidate(1, 5, {1: 8000, 2: 2000})
    second = candidate(2, 3, {1: 7000, 2: 1500})
    problem = Problem(feats, (best, second), None, "USD")
    assert solve(problem).awards_by_proposal() == {1: {1: D(8000), 2: D(2000)}}
    locked = solve(replace(problem, options=Options(locked=frozenset({2}))))
    assert locked.awards_by_proposal() == {2: {1: D(7000), 2: D(1500)}}
    assert locked.value < solve(problem).value
    excluded = solve(replace(problem, options=Options(excluded=frozenset({1}))))
    assert excluded.awards_by_proposal() == {2: {1: D(7000), 2: D(1500)}}
    # A proposal may be funded for part of what it asked for, unless staff say whole only.
    split = Problem(
        feats, (candidate(1, 5, {1: 8000}), candidate(2, 3, {1: 7000, 2: 1500})), None, "USD"
    )
    assert solve(split).awards_by_proposal() == {1: {1: D(8000)}, 2: {2: D(1500)}}
    whole = solve(replace(split, options=Options(allow_partial=False)))
    assert whole.awards_by_proposal() == {1: {1: D(8000)}}  # 5 x 8/10 > 3 x (8 + 2)/10


@pytest.mark.parametrize(
    ("locked", "options", "expected"),
    [
        ({1, 2}, {}, "P1, P2 are locked and all request F1, which can go to only 1 proposal."),
        (
            {1, 2},
            {"max_contractors_per_feature": 2},
            "The locked proposals together request USD 15,000 for F1, above its cap of USD 10,000.",
        ),
        ({3}, {}, "P3 is locked but requests USD 12,000 for F1, above its cap of USD 10,000."),
        ({4}, {}, "P4 is locked but did not pass every gate."),
        ({1}, {"excluded": frozenset({1})}, "P1 is both locked and excluded."),
        ({99}, {}, "A locked proposal (99) is not among the proposals."),
    ],
)
def test_locks_that_cannot_all_be_funded_answer_in_words(locked, options, expected):
    feats = two_features()
    proposals = (
        candidate(1, 5, {1: 8000}),
        candidate(2, 3, {1: 7000}),
        candidate(3, 4, {1: 12000}),
        candidate(4, 4, {2: 1000}, gates=False),
    )
    problem = Problem(feats, proposals, None, "USD", Options(locked=frozenset(locked), **options))
    plan = solve(problem)
    assert not plan.feasible and not plan.awards and plan.total == 0
    assert plan.messages[0] == "No plan: the locked proposals cannot all be funded."
    assert expected in plan.messages


def test_locks_over_the_total_answer_in_words():
    feats = two_features()
    proposals = (candidate(1, 5, {1: 9000}), candidate(2, 3, {2: 2500}))
    plan = solve(Problem(feats, proposals, None, "USD", Options(locked=frozenset({1, 2}))))
    assert not plan.feasible
    assert "The locked proposals together request USD 11,500, above the total of USD 10,000." in (
        plan.messages
    )


def test_every_proposal_over_its_cap_gives_an_empty_plan_with_a_message():
    feats = two_features()
    proposals = (candidate(1, 5, {1: 10001, 2: 3500}), candidate(2, 3, {2: "3000.01"}))
    plan = solve(Problem(feats, proposals, None, "USD"))
    assert plan.feasible and not plan.awards and plan.total == 0 and plan.value == 0
    assert plan.messages == (
        "Every requested amount is above its feature's cap, so nothing can be funded.",
    )
    assert all(line.runner_up is None for line in plan.lines)
    whole_only = solve(Problem(feats, proposals[:1], None, "USD", Options(allow_partial=False)))
    assert "funded whole or not at all" in whole_only.messages[0]


@pytest.mark.parametrize(
    ("proposals", "total_cap", "expected"),
    [
        ((), None, "There are no proposals to fund."),
        (
            (candidate(1, 5, {1: 8000}, gates=False),),
            None,
            "No proposal passed every gate, so nothing can be funded.",
        ),
        (
            (candidate(1, 5, {1: 8000}),),
            D(5000),
            "No single award fits within the total of USD 5,000, so nothing can be funded.",
        ),
        (
            (candidate(1, 0, {1: 8000}),),
            None,
            "No award raises the plan's value (no score above zero), so nothing is funded.",
        ),
    ],
)
def test_an_empty_plan_says_why(proposals, total_cap, expected):
    plan = solve(Problem(two_features(), proposals, total_cap, "USD"))
    assert plan.feasible and not plan.awards and plan.messages == (expected,)


def test_the_runner_up_is_the_best_proposal_not_funded_and_says_what_stands_in_its_way():
    feats = two_features()
    proposals = (
        candidate(1, 5, {1: 8000}),
        candidate(2, F(9, 2), {1: 9500}),
        candidate(3, 4, {1: 7000}),
        candidate(4, 5, {1: 10500}),  # above the cap: never a runner-up
    )
    plan = solve(Problem(feats, proposals, None, "USD"))
    line = plan.lines[0]
    assert [a.proposal_id for a in line.awards] == [1]
    runner = line.runner_up
    assert (runner.proposal_id, runner.value, runner.amount) == (2, F(9, 2), D(9500))
    assert runner.reasons == (
        "This feature can go to 1 proposal only, and it is taken.",
        "Its request does not fit under the cap: USD 2,000 is left.",
        "Its request does not fit within the total: USD 2,000 is left.",
    )
    assert plan.lines[1].runner_up is None and plan.lines[1].standing == "not_requested"


def test_of_two_equal_plans_the_cheaper_is_chosen():
    feats = two_features()
    for order in ((1, 2), (2, 1)):
        amounts = {1: 9000, 2: 7000}
        proposals = tuple(candidate(p, 4, {1: amounts[p]}) for p in order)
        plan = solve(Problem(feats, proposals, None, "USD"))
        assert plan.awards_by_proposal() == {2: {1: D(7000)}}


def test_two_proposals_per_feature_and_a_locked_weaker_bid():
    feats = features((8000, 10000), (2000, 3000))
    proposals = (
        candidate(1, 5, {1: 4000}),
        candidate(2, 4, {1: 4000}),
        candidate(3, 3, {1: 5000}),  # worse than both on score and price
    )
    two = Options(max_contractors_per_feature=2)
    plan = solve(Problem(feats, proposals, None, "USD", two))
    assert plan.awards_by_proposal() == {1: {1: D(4000)}, 2: {1: D(4000)}}
    assert plan.lines[0].runner_up.proposal_id == 3
    locked = solve(Problem(feats, proposals, None, "USD", replace(two, locked=frozenset({3}))))
    assert locked.awards_by_proposal() == {1: {1: D(4000)}, 3: {1: D(5000)}}


def test_the_objectives_differ_as_documented():
    feats = features((8000, 10000), (2000, 3000))
    excellent = candidate(1, 5, {1: 9800})  # over budget, the best
    good = candidate(2, 4, {1: 6000, 2: 2000})  # cheaper, both features
    problem = Problem(feats, (excellent, good), D(10000), "USD")
    by_score = solve(problem)
    # 5 x 8/10 + 0 = 4.0 beats 4 x 8/10 + 4 x 2/10 = 4.0? A tie, so the cheaper: both for 8,000.
    assert by_score.value == F(4) and by_score.awards_by_proposal() == {2: {1: D(6000), 2: D(2000)}}
    per_dollar = solve(replace(problem, options=Options(objective="score_per_dollar")))
    assert per_dollar.awards_by_proposal() == {2: {1: D(6000), 2: D(2000)}}
    # 4 x 8/10 x 8000/6000 + 4 x 2/10 x 2000/2000 = 64/15 + 4/5
    assert per_dollar.value == F(64, 15) + F(4, 5)
    better = replace(problem, candidates=(replace(excellent, value=F(6)), good))
    assert solve(better).awards_by_proposal() == {1: {1: D(9800)}}  # 4.8 > 4.0
    coverage = solve(replace(better, options=Options(objective="coverage")))
    assert coverage.features_covered == 2
    assert coverage.awards_by_proposal() == {2: {1: D(6000), 2: D(2000)}}


def test_sensitivity_says_what_changes_with_budgets_and_caps_ten_percent_lower_and_higher():
    feats = features((8000, 10000), (2000, 3000))
    proposals = (candidate(1, 5, {1: 8500}), candidate(2, 4, {2: 2100}), candidate(3, 3, {1: 7000}))
    result = plan_funding(Problem(feats, proposals, None, "USD"))
    # Total 10,000: P1 (8,500) fits with nothing else; P3 + P2 (9,100) is worth 3 x 0.8 + 4 x 0.2.
    assert result.plan.awards_by_proposal() == {1: {1: D(8500)}}
    lower, higher = result.sensitivity
    assert lower.factor == D("0.9") and higher.factor == D("1.1")
    # At 90 %: F1's cap 9,000, total 9,000: P1 still fits alone.
    assert lower.added == () and lower.removed == ()
    # At 110 %: total 11,000: P1 and P2 (10,600) both.
    assert [(a.proposal_id, a.feature_id) for a in higher.added] == [(2, 2)]
    assert higher.removed == ()
    tight = plan_funding(Problem(feats, proposals, D(8500), "USD"))
    lower = tight.sensitivity[0]
    assert lower.plan.total_limit == D("7650.00")
    assert [(a.proposal_id, a.feature_id) for a in lower.removed] == [(1, 1)]
    assert [(a.proposal_id, a.feature_id) for a in lower.added] == [(3, 1)]


def test_a_locked_plan_that_breaks_at_ninety_percent_is_reported_not_raised():
    feats = two_features()
    problem = Problem(
        feats, (candidate(1, 5, {1: 9500}),), None, "USD", Options(locked=frozenset({1}))
    )
    result = plan_funding(problem)
    assert result.plan.feasible
    lower = result.sensitivity[0]
    assert not lower.plan.feasible and lower.added == lower.removed == ()
    assert "above its cap of USD 9,000" in " ".join(lower.plan.messages)


def test_solver_trouble_is_a_message_never_an_exception(monkeypatch):
    class Failed:
        x = None
        status = 4
        message = "numerical difficulties"

    monkeypatch.setattr(funding_plan, "milp", lambda *a, **k: Failed())
    plan = solve(Problem(two_features(), (candidate(1, 5, {1: 8000}),), None, "USD"))
    assert not plan.feasible and not plan.awards
    assert plan.messages == (
        "The solver could not finish the plan (numerical difficulties). Try again, or exclude "
        "some proposals.",
    )

    class TimedOut:
        x = np.array([1.0])
        status = 1
        message = "Time limit reached"

    monkeypatch.setattr(funding_plan, "milp", lambda *a, **k: TimedOut())
    plan = solve(Problem(two_features(), (candidate(1, 5, {1: 8000}),), None, "USD"))
    assert plan.feasible and not plan.proven_best and plan.awards and plan.messages


# --- From the dashboard ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_problem_from_the_dashboard_of_an_rfp(evaluation_setup):
    from evaluation import dashboard
    from proposals.models import Feature

    rfp = evaluation_setup["rfp"]
    alpha, beta = evaluation_setup["alpha"], evaluation_setup["beta"]
    board = dashboard.build(rfp)
    feats = Feature.objects.filter(milestone__rfp=rfp).select_related("milestone")
    feats = feats.order_by("milestone__position", "position")
    # No reviews yet: no raw Overall, so nobody is a candidate without values.
    assert funding_plan.problem_from_dashboard(board, feats).candidates == ()
    problem = funding_plan.problem_from_dashboard(
        board, feats, values={alpha.pk: F(4), beta.pk: F(7, 2)}
    )
    assert problem.total_cap == D(65000) and problem.currency == "USD"
    assert [f.milestone for f in problem.features] == [f.milestone.name for f in feats]
    assert {c.id: c.requested for c in problem.candidates} == {
        p.pk: {f.pk: D(1000) for f in feats} for p in (alpha, beta)
    }
    plan = solve(problem)
    assert plan.awards_by_proposal() == {alpha.pk: {f.pk: D(1000) for f in feats}}
    assert [line.runner_up.proposal_id for line in plan.lines] == [beta.pk] * len(feats)
