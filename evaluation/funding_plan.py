"""A funding plan (issue 17): the set of awards worth most within the RFP's budgets and caps,
found exactly as an integer program (scipy's `milp`, which runs HiGHS). Plain values in, plain
values out; the pages, the report and adopting a plan as draft decisions build on this.

The model, in plain words:

- **An award is one proposal funded for one feature**, at exactly the amount it requested for
  that feature. A proposal may be funded for some of the features it bid on and not others
  (the PSF's proposals bid per milestone and feature, and the RFP may select "one or more
  contractors"), unless staff choose whole proposals only (`Options.allow_partial=False`): then
  a proposal is funded for everything it asked for or not at all.
- **What a plan is worth** (objective "score", the default): every award counts its
  proposal's score times the feature's weight, the feature's share of the RFP's total budget (a
  feature budgeted at 8,000 of 33,000 weighs 8/33). So one proposal funded for the whole RFP
  adds its score once; two proposals sharing the work add the budget-weighted mean of their
  scores; work left unfunded adds nothing. For one feature the better proposal is always
  worth more, whatever else it bid on; across features, the larger pieces of work count more,
  as the RFP's own budgets say. (Counting a proposal once if any of its features is funded
  would prefer five mediocre proposals to one excellent one; weighting by the proposal's own
  share of money would prefer, for a feature, a weaker proposal that bid on nothing else.)
- "score_per_dollar": each award counts as above times the feature's budget divided by the
  amount asked: a bid at the budget counts its score, a bid 20 % under the budget 1.25 times
  it, a bid at a cap 25 % over the budget 0.8 times it.
- "coverage": first as many features funded as possible; among those plans, the best "score".
- Among plans of equal worth (values within a billionth), the one costing least in all.

The limits, as the RFP page states them ("You may request more than a feature's budget, up to
its cap, if you stay under budget elsewhere"):

- per feature, the awards add up to at most its cap, and go to at most
  `max_contractors_per_feature` proposals (one unless the RFP allows more);
- in all, at most the RFP's total cap; when it publishes none, at most the sum of the feature
  budgets, so that going over one feature's budget is made up under budget elsewhere
  (`proposals.budget.total_limit`, which the RFP page and the decision page read too);
- only proposals that passed every gate and that staff did not exclude; a requested amount
  above its feature's cap can never be awarded;
- a locked proposal is awarded everything it asked for.

Without locks the empty plan always fits, so only locks can make a plan impossible: they are
checked first, exactly, and staff read which lock breaks which limit. Nothing the solver does
raises: a plan that cannot be made, or made in time, comes back with a message in words.
Amounts enter the solver in whole cents and every plan is checked again in exact decimals.

Over 400 lines: the model, its limits in words for staff and the exact check belong together,
so one file says what a plan is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from scipy.optimize import Bounds, LinearConstraint, milp

from proposals import budget
from rfp_portal.formatting import money

OBJECTIVES = ("score", "score_per_dollar", "coverage")
SENSITIVITY = (Decimal("0.9"), Decimal("1.1"))
TIME_LIMIT = 5.0  # seconds per solve (bench: 200 proposals x 20 features take well under 1)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class FeatureSpec:
    id: int
    name: str
    budget: Decimal
    cap: Decimal
    milestone: str = ""


@dataclass(frozen=True)
class Candidate:
    """A proposal: its score (raw or calibrated), whether it passed every gate, and the amount
    it requested per feature id (a feature absent, or 0, is not bid on)."""

    id: int
    label: str
    value: Fraction | Decimal | int | float
    gates_passed: bool
    requested: Mapping[int, Decimal | None]


@dataclass(frozen=True)
class Options:
    objective: str = "score"
    max_contractors_per_feature: int = 1
    locked: frozenset[int] = frozenset()
    excluded: frozenset[int] = frozenset()
    allow_partial: bool = True


@dataclass(frozen=True)
class Problem:
    features: tuple[FeatureSpec, ...]
    candidates: tuple[Candidate, ...]
    total_cap: Decimal | None = None
    currency: str = ""
    options: Options = field(default_factory=Options)

    @property
    def total_limit(self) -> Decimal:
        """The RFP's total cap, or the sum of the feature budgets when it has none."""
        return budget.total_limit(
            sum((f.budget for f in self.features), Decimal(0)), self.total_cap
        )

    def scaled(self, factor: Decimal) -> Problem:
        """Every budget, cap and the total cap times factor (to the cent); requests unchanged."""

        def times(amount: Decimal) -> Decimal:
            return (amount * factor).quantize(CENT)

        return replace(
            self,
            features=tuple(
                replace(f, budget=times(f.budget), cap=times(f.cap)) for f in self.features
            ),
            total_cap=None if self.total_cap is None else times(self.total_cap),
        )


@dataclass(frozen=True)
class Award:
    proposal_id: int
    feature_id: int
    amount: Decimal


@dataclass(frozen=True)
class RunnerUp:
    """The best-scoring proposal that bid on a feature within its cap and is not funded for
    it, and what stands in its way in this plan."""

    proposal_id: int
    label: str
    value: Fraction
    amount: Decimal
    reasons: tuple[str, ...]  # in words, for staff


@dataclass(frozen=True)
class FeatureLine:
    feature: FeatureSpec
    awarded: Decimal
    awards: tuple[Award, ...]
    runner_up: RunnerUp | None

    @property
    def standing(self) -> budget.Standing:
        return budget.standing(self.awarded, self.feature.budget, self.feature.cap)


@dataclass(frozen=True)
class Plan:
    feasible: bool  # False: no plan (locks that cannot all be met, or the solver failed)
    objective: str
    awards: tuple[Award, ...]
    value: Fraction  # what the objective maximised ("coverage": the score, after coverage)
    score_value: Fraction  # the "score" objective's measure of the same awards
    features_covered: int
    total: Decimal
    total_limit: Decimal
    rfp_total_cap: bool  # True: the limit is the RFP's total cap; False: the sum of budgets
    lines: tuple[FeatureLine, ...]
    messages: tuple[str, ...] = ()
    proven_best: bool = True

    def awards_by_proposal(self) -> dict[int, dict[int, Decimal]]:
        """{proposal id: {feature id: amount}}, the shape of a decision's awards."""
        out: dict[int, dict[int, Decimal]] = {}
        for award in self.awards:
            out.setdefault(award.proposal_id, {})[award.feature_id] = award.amount
        return out


@dataclass(frozen=True)
class Sensitivity:
    factor: Decimal
    plan: Plan
    added: tuple[Award, ...]
    removed: tuple[Award, ...]


@dataclass(frozen=True)
class FundingPlan:
    plan: Plan
    sensitivity: tuple[Sensitivity, ...]


def plan_funding(problem: Problem, *, factors: Iterable[Decimal] = SENSITIVITY) -> FundingPlan:
    """The plan, and the plans with every budget, cap and the total cap times each factor,
    with the awards each adds and removes."""
    base = solve(problem)
    keys = {(a.proposal_id, a.feature_id): a for a in base.awards}
    sensitivity = []
    for factor in factors:
        other = solve(problem.scaled(factor))
        if not (base.feasible and other.feasible):
            sensitivity.append(Sensitivity(factor, other, (), ()))
            continue
        theirs = {(a.proposal_id, a.feature_id): a for a in other.awards}
        added = tuple(a for k, a in theirs.items() if k not in keys)
        removed = tuple(a for k, a in keys.items() if k not in theirs)
        sensitivity.append(Sensitivity(factor, other, added, removed))
    return FundingPlan(base, tuple(sensitivity))


def solve(problem: Problem) -> Plan:
    """The best plan for problem (see the module's docstring for what "best" means)."""
    opts = problem.options
    if opts.objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    if opts.max_contractors_per_feature < 1:
        raise ValueError("max_contractors_per_feature must be at least 1")
    features = {f.id: f for f in problem.features}
    requests = {c.id: _requests(c, features) for c in problem.candidates}
    blocked = _check_locks(problem, requests)
    if blocked:
        return _plan(problem, [], requests, feasible=False, messages=blocked)
    units = _units(problem, requests)
    if not units:
        return _plan(problem, [], requests, messages=[_why_empty(problem, requests, units)])
    chosen, proven, trouble = _optimise(problem, units)
    if chosen is None:
        return _plan(problem, [], requests, feasible=False, messages=[trouble])
    awards = [Award(c.id, f, amount) for i in chosen for c, f, amount in units[i].pairs]
    if not _within_limits(problem, awards, requests):
        # Whole cents and half a cent of slack make this unreachable; never show such a plan.
        return _plan(
            problem, [], requests, feasible=False, messages=[_solver_trouble(_("a rounding error"))]
        )
    messages = [] if proven else [trouble]
    if not awards:
        messages.append(_why_empty(problem, requests, units))
    return _plan(problem, awards, requests, messages=messages, proven=proven)


# --- The integer program ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """What one binary variable funds: one (proposal, feature) pair, or a whole proposal."""

    candidate: Candidate
    pairs: tuple[tuple[Candidate, int, Decimal], ...]
    locked: bool
    worth: Fraction  # what funding it adds to the objective


def _requests(candidate: Candidate, features: Mapping[int, FeatureSpec]) -> dict[int, Decimal]:
    out = {}
    for feature_id, amount in candidate.requested.items():
        if amount is None or amount == 0:
            continue
        if feature_id not in features:
            raise ValueError(f"proposal {candidate.id} requests an unknown feature {feature_id}")
        if amount < 0:
            raise ValueError(f"proposal {candidate.id} requests a negative amount")
        out[feature_id] = Decimal(amount)
    return dict(sorted(out.items()))


def _units(problem: Problem, requests) -> list[_Unit]:
    opts = problem.options
    features = {f.id: f for f in problem.features}
    units = []
    for c in problem.candidates:
        if not c.gates_passed or c.id in opts.excluded:
            continue
        locked = c.id in opts.locked
        pairs = [(c, f, amount) for f, amount in requests[c.id].items()]
        fits = [p for p in pairs if p[2] <= features[p[1]].cap]
        worth = [pair_value(problem, c.value, features[f], amount) for _c, f, amount in pairs]
        if opts.allow_partial:
            units.extend(
                _Unit(c, (p,), locked, w)
                for p, w in zip(pairs, worth, strict=True)
                if p[2] <= features[p[1]].cap
            )
        elif pairs and len(fits) == len(pairs):
            units.append(_Unit(c, tuple(pairs), locked, sum(worth, Fraction(0))))
    return units


def pair_value(problem: Problem, value: Fraction, feature: FeatureSpec, amount: Decimal):
    """What one award adds to the plan under the problem's objective (exact)."""
    total_budget = sum((f.budget for f in problem.features), Decimal(0))
    if total_budget > 0:
        weight = Fraction(feature.budget) / Fraction(total_budget)
    else:
        weight = Fraction(1, len(problem.features))
    worth = _fraction(value) * weight
    if problem.options.objective == "score_per_dollar":
        worth *= Fraction(feature.budget) / Fraction(amount)
    return worth


def _fraction(value) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(str(value))


def _cents(amount: Decimal, rounding: str) -> int:
    return int(amount.scaleb(2).to_integral_value(rounding=rounding))


def _optimise(problem: Problem, units: list[_Unit]):
    """(indices of the funded units, proven best, a message when not) by lexicographic stages:
    [coverage,] value, then least cost; each stage keeps the optimum of the ones before."""
    opts = problem.options
    features = list(problem.features)
    index = {f.id: i for i, f in enumerate(features)}
    n, m = len(units), len(features)
    coverage = opts.objective == "coverage"
    size = n + (m if coverage else 0)
    value = np.zeros(size)
    cost = np.zeros(size)
    amounts = np.zeros((m, size))
    counts = np.zeros((m, size))
    for j, unit in enumerate(units):
        value[j] = float(unit.worth)
        for _c, f, amount in unit.pairs:
            cents = _cents(amount, ROUND_CEILING)
            cost[j] += cents
            amounts[index[f], j] = cents
            counts[index[f], j] = 1
    rows = [amounts, counts, cost[None, :]]
    lower = [np.full(m, -np.inf), np.zeros(m), [-np.inf]]
    upper = [
        [_cents(f.cap, ROUND_FLOOR) + 0.5 for f in features],
        np.full(m, opts.max_contractors_per_feature + 0.5),
        [_cents(problem.total_limit, ROUND_FLOOR) + 0.5],
    ]
    stages = [value]
    if coverage:
        covers = np.zeros((m, size))
        covers[:, :n] = -counts[:, :n]
        covers[np.arange(m), n + np.arange(m)] = 1  # a feature counts only if funded
        rows.append(covers)
        lower.append(np.full(m, -np.inf))
        upper.append(np.zeros(m))
        stages.insert(0, np.concatenate([np.zeros(n), np.ones(m)]))
    stages.append(-cost)
    lb = np.array([1.0 if u.locked else 0.0 for u in units] + [0.0] * (size - n))
    bounds = Bounds(lb, np.ones(size))
    x = None
    for stage, weights in enumerate(stages):
        scale = 1000 / max(1.0, float(np.abs(weights).max()))  # HiGHS's absolute gap is 1e-6
        result = milp(
            -weights * scale,
            integrality=np.ones(size),
            bounds=bounds,
            constraints=LinearConstraint(
                np.vstack(rows), np.concatenate(lower), np.concatenate(upper)
            ),
            options={"mip_rel_gap": 0, "time_limit": TIME_LIMIT},
        )
        if result.x is None:
            return None, False, _solver_trouble(result.message)
        x = np.round(result.x)
        if result.status != 0:
            return _chosen(x, n), False, _solver_trouble(result.message)
        if stage < len(stages) - 1:
            best = float(weights @ x)
            rows.append(weights[None, :])
            lower.append(
                [best - 1e-9 * max(1.0, abs(best)) - (0.5 if coverage and stage == 0 else 0)]
            )
            upper.append([np.inf])
    return _chosen(x, n), True, ""


def _chosen(x, n: int) -> list[int]:
    return [j for j in range(n) if x[j] > 0.5]


def _solver_trouble(detail: str) -> str:
    return _(
        "The solver could not finish the plan (%(detail)s). Try again, or exclude some proposals."
    ) % {"detail": detail}


# --- Locks and empty plans, in words -------------------------------------------------------------


def _check_locks(problem: Problem, requests) -> list[str]:
    opts = problem.options
    if not opts.locked:
        return []
    cur = problem.currency
    by_id = {c.id: c for c in problem.candidates}
    problems = []
    sums: dict[int, Decimal] = {}
    holders: dict[int, list[str]] = {}
    for proposal_id in sorted(opts.locked):
        c = by_id.get(proposal_id)
        if c is None:
            problems.append(
                _("A locked proposal (%(id)s) is not among the proposals.") % {"id": proposal_id}
            )
            continue
        if c.id in opts.excluded:
            problems.append(_("%(proposal)s is both locked and excluded.") % {"proposal": c.label})
        if not c.gates_passed:
            problems.append(
                _("%(proposal)s is locked but did not pass every gate.") % {"proposal": c.label}
            )
        if not requests[c.id]:
            problems.append(
                _("%(proposal)s is locked but requests no amount.") % {"proposal": c.label}
            )
        for feature in problem.features:
            amount = requests[c.id].get(feature.id)
            if amount is None:
                continue
            sums[feature.id] = sums.get(feature.id, Decimal(0)) + amount
            holders.setdefault(feature.id, []).append(c.label)
            if amount > feature.cap:
                problems.append(
                    _(
                        "%(proposal)s is locked but requests %(amount)s for %(feature)s, above "
                        "its cap of %(cap)s."
                    )
                    % {
                        "proposal": c.label,
                        "amount": money(amount, cur),
                        "feature": feature.name,
                        "cap": money(feature.cap, cur),
                    }
                )
    for feature in problem.features:
        names = holders.get(feature.id, [])
        if len(names) > opts.max_contractors_per_feature:
            problems.append(
                ngettext(
                    "%(proposals)s are locked and all request %(feature)s, which can go to "
                    "only %(count)s proposal.",
                    "%(proposals)s are locked and all request %(feature)s, which can go to "
                    "only %(count)s proposals.",
                    opts.max_contractors_per_feature,
                )
                % {
                    "proposals": ", ".join(names),
                    "feature": feature.name,
                    "count": opts.max_contractors_per_feature,
                }
            )
        elif len(names) > 1 and sums[feature.id] > feature.cap:
            problems.append(
                _(
                    "The locked proposals together request %(amount)s for %(feature)s, above "
                    "its cap of %(cap)s."
                )
                % {
                    "amount": money(sums[feature.id], cur),
                    "feature": feature.name,
                    "cap": money(feature.cap, cur),
                }
            )
    total = sum(sums.values(), Decimal(0))
    if total > problem.total_limit:
        problems.append(
            _("The locked proposals together request %(amount)s, above the total of %(limit)s.")
            % {"amount": money(total, cur), "limit": money(problem.total_limit, cur)}
        )
    if problems:
        problems.insert(0, _("No plan: the locked proposals cannot all be funded."))
    return problems


def _why_empty(problem: Problem, requests, units: list[_Unit]) -> str:
    opts = problem.options
    limit = money(problem.total_limit, problem.currency)
    passed = [c for c in problem.candidates if c.gates_passed]
    open_ = [c for c in passed if c.id not in opts.excluded and requests[c.id]]
    if not problem.candidates:
        return _("There are no proposals to fund.")
    if not passed:
        return _("No proposal passed every gate, so nothing can be funded.")
    if not open_:
        return _("Every proposal that passed the gates is excluded or requests nothing.")
    if not units:
        if opts.allow_partial:
            return _("Every requested amount is above its feature's cap, so nothing can be funded.")
        return _(
            "Every proposal requests more than a cap for at least one feature, and proposals "
            "are funded whole or not at all, so nothing can be funded."
        )
    if all(sum(p[2] for p in u.pairs) > problem.total_limit for u in units):
        return _(
            "No single award fits within the total of %(limit)s, so nothing can be funded."
        ) % {"limit": limit}
    return _("No award raises the plan's value (no score above zero), so nothing is funded.")


# --- The plan as staff read it -------------------------------------------------------------------


def _plan(problem: Problem, awards, requests, *, feasible=True, messages=(), proven=True) -> Plan:
    awards = sorted(awards, key=lambda a: (a.feature_id, a.proposal_id))
    by_id = {c.id: c for c in problem.candidates}
    values = {
        objective: sum(
            (
                pair_value(
                    replace(problem, options=replace(problem.options, objective=objective)),
                    by_id[a.proposal_id].value,
                    next(f for f in problem.features if f.id == a.feature_id),
                    a.amount,
                )
                for a in awards
            ),
            Fraction(0),
        )
        for objective in ("score", "score_per_dollar")
    }
    objective = problem.options.objective
    total = sum((a.amount for a in awards), Decimal(0))
    lines = []
    counts: dict[int, int] = {}
    for feature in problem.features:
        mine = tuple(a for a in awards if a.feature_id == feature.id)
        counts[feature.id] = len(mine)
        awarded = sum((a.amount for a in mine), Decimal(0))
        runner = _runner_up(problem, feature, mine, awarded, total, requests) if feasible else None
        lines.append(FeatureLine(feature, awarded, mine, runner))
    return Plan(
        feasible=feasible,
        objective=objective,
        awards=tuple(awards),
        value=values["score_per_dollar" if objective == "score_per_dollar" else "score"],
        score_value=values["score"],
        features_covered=sum(1 for n in counts.values() if n),
        total=total,
        total_limit=problem.total_limit,
        rfp_total_cap=problem.total_cap is not None,
        lines=tuple(lines),
        messages=tuple(messages),
        proven_best=proven,
    )


def _runner_up(problem, feature, mine, awarded, total, requests) -> RunnerUp | None:
    opts = problem.options
    funded = {a.proposal_id for a in mine}
    bidders = [
        c
        for c in problem.candidates
        if c.gates_passed
        and c.id not in opts.excluded
        and c.id not in funded
        and feature.id in requests[c.id]
        and requests[c.id][feature.id] <= feature.cap
    ]
    if not bidders:
        return None
    best = min(bidders, key=lambda c: (-_fraction(c.value), requests[c.id][feature.id], c.id))
    amount = requests[best.id][feature.id]
    cur = problem.currency
    reasons = []
    if len(mine) >= opts.max_contractors_per_feature:
        reasons.append(
            ngettext(
                "This feature can go to %(count)s proposal only, and it is taken.",
                "This feature can go to %(count)s proposals only, and they are taken.",
                opts.max_contractors_per_feature,
            )
            % {"count": opts.max_contractors_per_feature}
        )
    if awarded + amount > feature.cap:
        reasons.append(
            _("Its request does not fit under the cap: %(left)s is left.")
            % {"left": money(feature.cap - awarded, cur)}
        )
    if total + amount > problem.total_limit:
        reasons.append(
            _("Its request does not fit within the total: %(left)s is left.")
            % {"left": money(problem.total_limit - total, cur)}
        )
    if not reasons:
        reasons.append(
            _("It is funded whole or not at all, and the rest does not fit.")
            if not opts.allow_partial
            else _("Funding it would not raise the plan's value.")
        )
    return RunnerUp(best.id, best.label, _fraction(best.value), amount, tuple(reasons))


def _within_limits(problem: Problem, awards: list[Award], requests) -> bool:
    """The plan within every limit, checked again in exact decimals."""
    opts = problem.options
    by_id = {c.id: c for c in problem.candidates}
    sums: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    for a in awards:
        c = by_id[a.proposal_id]
        if (
            not c.gates_passed
            or c.id in opts.excluded
            or requests[c.id].get(a.feature_id) != a.amount
        ):
            return False
        sums[a.feature_id] = sums.get(a.feature_id, Decimal(0)) + a.amount
        counts[a.feature_id] = counts.get(a.feature_id, 0) + 1
    if sum(sums.values(), Decimal(0)) > problem.total_limit:
        return False
    for f in problem.features:
        if sums.get(f.id, 0) > f.cap or counts.get(f.id, 0) > opts.max_contractors_per_feature:
            return False
    funded = {(a.proposal_id, a.feature_id) for a in awards}
    for c in problem.candidates:
        asked = {(c.id, f) for f in requests[c.id]}
        if c.id in opts.locked and not asked <= funded:
            return False
        if not opts.allow_partial and asked & funded and not asked <= funded:
            return False
    return True


# --- From the dashboard ------------------------------------------------------------------------


def problem_from_dashboard(
    board, features, *, values: Mapping[int, Fraction] | None = None, options: Options | None = None
) -> Problem:
    """The problem for an RFP's dashboard (evaluation.dashboard.build): each ranked row's
    proposal, requested amounts and gates; its score from values (e.g. calibrated scores, by
    proposal id) or else the raw Overall. Proposals without a score are left out. features: the
    RFP's Feature rows in order, with their milestone."""
    candidates = []
    for row in board.rows:
        score = values.get(row.proposal.pk) if values is not None else row.result.overall
        if score is None:
            continue
        candidates.append(
            Candidate(
                id=row.proposal.pk,
                label=row.proposal.title,
                value=score,
                gates_passed=not row.result.gate_failed,
                requested={f.feature_id: f.requested for f in row.budget.features},
            )
        )
    return Problem(
        features=tuple(
            FeatureSpec(f.pk, f.name, f.budget, f.cap, milestone=f.milestone.name) for f in features
        ),
        candidates=tuple(candidates),
        total_cap=board.rfp.total_cap,
        currency=board.rfp.currency,
        options=options or Options(),
    )
