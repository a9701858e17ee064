"""The funding plan's optimum found again without the solver, for small instances: the
objective written out in exact fractions, and a brute force over every set of requested pairs.
Pure computation (no database), shared by tests/evaluation/test_funding_plan.py and
bench/funding_plan.py."""

import itertools
from decimal import Decimal as D
from fractions import Fraction as F

from evaluation.funding_plan import Problem

MAX_PAIRS = 8  # 2**8 sets: more would make the brute force slow


def exact_value(problem: Problem, pairs, objective: str) -> F:
    """The module's objective, written out again: score x the feature's share of the total
    budget, and for score per dollar x budget / amount."""
    total_budget = sum(f.budget for f in problem.features)
    feats = {f.id: f for f in problem.features}
    by_id = {c.id: c for c in problem.candidates}
    value = F(0)
    for pid, fid in pairs:
        feature, amount = feats[fid], by_id[pid].requested[fid]
        worth = by_id[pid].value * F(feature.budget) / F(total_budget)
        if objective == "score_per_dollar":
            worth *= F(feature.budget) / F(amount)
        value += worth
    return value


def brute_force(problem: Problem):
    """(best key, least cost among the best) over every set of requested pairs, or None when
    no set meets the limits and the locks; key: (value,) or, for coverage, (features covered,
    value)."""
    opts = problem.options
    feats = {f.id: f for f in problem.features}
    by_id = {c.id: c for c in problem.candidates}
    pairs = [(c.id, f) for c in problem.candidates for f, a in c.requested.items() if a]
    asked = {c.id: {(p, f) for p, f in pairs if p == c.id} for c in problem.candidates}
    assert len(pairs) <= MAX_PAIRS
    objective = "score" if opts.objective == "coverage" else opts.objective
    best = None
    for size in range(len(pairs) + 1):
        for chosen in map(set, itertools.combinations(pairs, size)):
            if any(not by_id[p].gates_passed or p in opts.excluded for p, _f in chosen):
                continue
            sums: dict[int, D] = {}
            counts: dict[int, int] = {}
            for p, f in chosen:
                sums[f] = sums.get(f, D(0)) + by_id[p].requested[f]
                counts[f] = counts.get(f, 0) + 1
            if any(sums[f] > feats[f].cap for f in sums):
                continue
            if any(n > opts.max_contractors_per_feature for n in counts.values()):
                continue
            cost = sum(sums.values(), D(0))
            if cost > problem.total_limit:
                continue
            if any(not asked[p] <= chosen for p in opts.locked if p in asked):
                continue
            if not opts.allow_partial and any(
                a & chosen and not a <= chosen for a in asked.values()
            ):
                continue
            value = exact_value(problem, chosen, objective)
            key = (len(sums), value) if opts.objective == "coverage" else (value,)
            if best is None or key > best[0] or (key == best[0] and cost < best[1]):
                best = (key, cost)
    return best
