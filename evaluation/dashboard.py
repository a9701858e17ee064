"""The staff dashboard's data: scores, flags, ranking, budget checks and progress for an RFP,
with the calibrated Overall and each reviewer's leniency (evaluation.calibration) and each
proposal's expected rank with its 80 % interval at a funding line (evaluation.uncertainty).

A fixed number of queries whatever the number of proposals (a test pins it): everything is
read in bulk (`read_reviews`), then computed in Python with evaluation.scoring; calibration
and the intervals are computed from the same reviews already read and reuse their scores, so
they add no query and score nothing again.

The funding line (`funding_line`): the places staff choose (?line=), else as many places as
proposals selected so far (the line the decisions drew), else one per feature (the RFP funds
one contractor per feature at most), and never all the ranked proposals or more, so that a
line leaves someone below it. The intervals' random draws are seeded from the RFP's id: the
page shows the same intervals on every view until a review changes.

The staff page does not call `build` on each view: it reads the read model
(evaluation.ranking_snapshot), which stores what `build` returns and is rebuilt after each change;
exports, decisions and the funding plan call `build` and read fresh data. Sorting and the flags
read a row's `RowKey`, so that the read model sorts and filters without loading rows.

Over 400 lines: the dashboard reads every review once and derives everything a staff member
sees from that one pass (scores, flags, budgets, progress, calibration, rank intervals); split,
each part would read the reviews again.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from django.core.cache import cache
from django.utils import formats

from evaluation import calibration, charts, scoring, uncertainty
from evaluation.models import Assessment, Assignment, Decision, Review
from proposals import budget
from proposals.models import RFP, Feature, Proposal, SubmissionVersion
from proposals.submission import requested_amounts


@dataclass
class Row:
    proposal: Proposal
    version: SubmissionVersion | None
    result: scoring.ProposalResult
    rank: int | None
    tied: bool
    budget: budget.BudgetCheck
    decision: Decision | None
    reviewers: list[Assignment]
    calibrated: calibration.CalibratedProposal | None = None
    calibrated_rank: int | None = None
    interval: uncertainty.RankInterval | None = None

    @property
    def overall_points(self):
        return scoring.overall_points(self.result)

    @property
    def calibrated_points(self):
        """The calibrated Overall as shown (None when calibration is not usable)."""
        return self.calibrated.overall_points() if self.calibrated else None

    # The interval's numbers for people (None without an interval: unranked).
    @property
    def expected_rank_text(self) -> str | None:
        return (
            formats.number_format(f"{self.interval.expected_rank:.1f}", 1)
            if self.interval
            else None
        )

    @property
    def rank_low_text(self) -> str | None:
        return charts.rank_text(self.interval.low) if self.interval else None

    @property
    def rank_high_text(self) -> str | None:
        return charts.rank_text(self.interval.high) if self.interval else None

    @property
    def funded_percent(self) -> str | None:
        """The chance of a funded place in whole percent, as "35 %"."""
        if not self.interval:
            return None
        return f"{formats.number_format(round(self.interval.p_funded * 100), 0)} %"

    @property
    def median_points(self):
        return scoring.median_points(self.result)

    @property
    def spread_points(self):
        return scoring.spread_points(self.result)

    @property
    def overall_formula(self) -> str:
        return scoring.overall_formula(self.result)


@dataclass
class ReviewerProgress:
    email: str
    name: str
    assigned: int
    submitted: int
    conflicts: int


@dataclass
class Dashboard:
    rfp: RFP
    criteria: list
    scored: list
    rows: list[Row]
    reviewers: list[ReviewerProgress]
    distributions: dict[str, list[int]]  # criterion key → count per scale point
    rule: scoring.OverallRule  # what Overall means here, with the weights, in words
    calibration: calibration.Calibration | None = None
    uncertainty: uncertainty.Uncertainty | None = None
    line: FundingLine | None = None
    names: dict[int, ReviewerProgress] = field(default_factory=dict)  # by reviewer id
    # What the scores were computed from, for pages that compute more from the same reviews
    # (evaluation.plan_adoption): the criteria's specs, each submitted proposal's submitted
    # reviews ([] when none) and its result (all of them, whatever the flag shows).
    specs: list[scoring.CriterionSpec] = field(default_factory=list)
    reviews: dict[int, list[scoring.ReviewInput]] = field(default_factory=dict)
    results: dict[int, scoring.ProposalResult] = field(default_factory=dict)

    @property
    def calibrated(self) -> bool:
        """Whether the calibrated Overall is shown (calibration usable)."""
        return bool(self.calibration and self.calibration.usable)

    @property
    def one_review_note(self) -> str:
        """Why an interval of a proposal with one review is wide, for people."""
        return uncertainty.one_review_note()

    @property
    def nothing_taken_out(self) -> bool:
        """Calibration is usable but found the reviewers differing no more than their own
        disagreement explains (an infinite ridge): calibrated equals raw."""
        return (
            self.calibrated
            and self.calibration.ridge is not None
            and math.isinf(self.calibration.ridge)
        )

    @property
    def leniencies(self) -> list[tuple[ReviewerProgress | None, calibration.Leniency, str]]:
        """(who, their leniency, its points signed to a tenth: "+0.6") for each reviewer, the
        most generous first; [] when calibration is not usable."""
        if not self.calibrated:
            return []
        return [
            (who, lenient, _signed(lenient.points))
            for who, lenient in sorted(
                (
                    (self.names.get(rid), lenient)
                    for rid, lenient in self.calibration.reviewers.items()
                ),
                key=lambda pair: (-pair[1].points, pair[0].email if pair[0] else ""),
            )
        ]

    @property
    def intervals(self) -> list[tuple[Row, uncertainty.RankInterval]]:
        """(row, its interval) for every ranked proposal shown (the flag's filter applies), by
        expected rank."""
        by_id = {row.proposal.pk: row for row in self.rows}
        if not self.uncertainty:
            return []
        return [
            (by_id[i.proposal_id], i) for i in self.uncertainty.intervals if i.proposal_id in by_id
        ]

    @property
    def columns(self) -> list[tuple]:
        """(criterion, its weight as people write it) for each scored criterion's column."""
        return [(c, scoring.weight_text(scoring.as_fraction(c.weight or 0))) for c in self.scored]

    @property
    def reviews_due(self) -> int:
        return sum(r.result.assigned for r in self.rows)

    @property
    def reviews_submitted(self) -> int:
        return sum(r.result.reviews for r in self.rows)


def _signed(points: float) -> str:
    """Points to a tenth with their sign: +0.6, -1.2, 0.0 (in the reader's locale)."""
    tenths = round(points, 1) or 0.0  # no "-0.0"
    text = formats.number_format(f"{abs(tenths):.1f}", 1)
    return f"+{text}" if tenths > 0 else f"-{text}" if tenths < 0 else text


# Rows per dashboard page: ranking and charts of distributions use every proposal. Fifty: each
# row costs about a millisecond to draw, the page's main cost once the ranking is read from the
# read model (bench/dashboard.py, 2,000 proposals: 100 rows missed 150 ms on a busy machine).
PAGE_SIZE = 50


@dataclass(frozen=True)
class FundingLine:
    """The funding line the intervals are read at: `places` funded of `ranked` proposals."""

    places: int
    default: int  # what the page uses when staff choose nothing
    ranked: int  # proposals with a rank (the most places one may choose)
    asked: str = ""  # what staff typed, when it was not a usable number of places
    chosen: bool = False  # staff chose it (?line=)

    @property
    def adjusted(self) -> bool:
        return bool(self.asked)


def funding_line(asked, *, ranked: int, selected: int, features: int) -> FundingLine:
    """The funding line: `asked` (?line=) when it is a whole number from 1 to `ranked`, else
    the default (module docstring): the proposals selected so far, else one per feature, at
    most `ranked` - 1 and at least 1. A number out of range is brought into it and said."""
    default = max(1, min(selected or features or 1, ranked - 1))
    asked = (asked or "").strip()
    if not asked:
        return FundingLine(default, default, ranked)
    try:
        places = int(asked)
    except ValueError:
        return FundingLine(default, default, ranked, asked=asked)
    within = max(1, min(places, max(ranked, 1)))
    return FundingLine(
        within, default, ranked, asked="" if within == places else asked, chosen=True
    )


def seed_of(rfp: RFP) -> np.random.Generator:
    """The intervals' random draws for this RFP: the same on every view (seeded by its id)."""
    return np.random.default_rng([17, rfp.pk])


class RowKey(NamedTuple):
    """What sorting and the flags read of a row: plain values, so that the read model
    (evaluation.ranking_snapshot) sorts and filters thousands of rows without loading them."""

    pk: int
    rank: int | None
    title: str  # lower case
    spread: float  # the Overall's spread (0 when none)
    reviews: int
    assigned: int
    calibrated_rank: int | None
    flags: frozenset[str]


def row_key(row: Row) -> RowKey:
    return RowKey(
        row.proposal.pk,
        row.rank,
        row.proposal.title.lower(),
        float(row.result.overall_spread or 0),
        row.result.reviews,
        row.result.assigned,
        row.calibrated_rank,
        frozenset(name for name, test in FLAGS.items() if test(row)),
    )


# Sorting and filtering read RowKey (row_key), the one home of both for the fresh build and for
# the read model.
SORTS = {
    "rank": lambda key: (key.rank is None, key.rank or 0, key.pk),
    "title": lambda key: key.title,
    "spread": lambda key: (-key.spread, key.pk),
    "reviews": lambda key: (key.reviews, key.pk),
    # By the calibrated Overall (only when calibration is usable: else by rank).
    "calibrated": lambda key: (key.calibrated_rank is None, key.calibrated_rank or 0, key.pk),
}


def ordered(pairs, *, sort: str, flag: str | None, calibrated: bool) -> list:
    """The values of `pairs` ((RowKey, value) for each row) whose row the flag shows, in `sort`'s
    order (by rank when the calibrated Overall is asked for without a usable calibration)."""
    if sort == "calibrated" and not calibrated:
        sort = "rank"
    by = SORTS.get(sort, SORTS["rank"])
    shown = [pair for pair in pairs if flag not in FLAGS or flag in pair[0].flags]
    return [value for _, value in sorted(shown, key=lambda pair: by(pair[0]))]


# The ranking always shows rank, title, Overall, spread, likely rank, flags, budget and decision
# (they fit a 1280-pixel screen), and the calibrated Overall when calibration is usable; staff
# add these columns on demand, as HotCRP lets chairs choose columns.
OPTIONAL_COLUMNS = ("criteria", "median", "reviews")
ALWAYS_SHOWN = 8


def chosen_columns(values) -> list[str]:
    """The optional columns asked for (?columns=criteria&columns=median), unknown ones ignored."""
    return [c for c in OPTIONAL_COLUMNS if c in set(values)]


FLAGS = {
    "disagreement": lambda row: row.result.disagreement,
    "gate": lambda row: row.result.gate_flagged,
    "incomplete": lambda row: row.result.incomplete,
    "over_cap": lambda row: row.budget.any_over_cap or not row.budget.total_within_cap,
    "band": lambda row: bool(row.interval and row.interval.in_band),
}


# Calibration and the intervals take a second or more for thousands of proposals (the bootstrap's
# redraws and ranks, now that both reuse the dashboard's scores instead of scoring every
# proposal again: bench/README.md, dashboard): they are remembered in the cache for the same
# RFP, criteria and submitted scores, so only the first view after a review changes pays. Both
# are pure functions of what the fingerprint covers.
REMEMBER_SECONDS = 60 * 60


def _fingerprint(rfp: RFP, specs, counted: dict[int, list[scoring.ReviewInput]]) -> str:
    """A digest of everything calibration and the intervals read: the RFP (their seed), the
    criteria, and every counted review's reviewer, scores and gate verdicts."""
    digest = hashlib.sha256(f"v2:{rfp.pk}:{specs!r}".encode())
    for pid in sorted(counted):
        digest.update(f"p{pid}|".encode())  # a proposal without reviews is left out: counted
        for review in counted[pid]:
            digest.update(
                f"{pid}:{review.reviewer_id}:{sorted(review.scores.items())!r}:"
                f"{sorted(review.gates.items())!r};".encode()
            )
    return digest.hexdigest()


def _remembered(key: str, compute):
    """`compute()`, kept in the cache under `key`; computed anyway when the cache is down."""
    try:
        value = cache.get(key)
    except Exception:  # a cache fault costs time, never the page
        return compute()
    if value is None:
        value = compute()
        # Not remembered when the cache is down: the next view computes again.
        with contextlib.suppress(Exception):
            cache.set(key, value, timeout=REMEMBER_SECONDS)
    return value


def _calibrated_ranks(rows: list[Row]) -> None:
    """Each row's rank by its calibrated Overall as shown (two decimals; equal ones share a
    rank, "1, 2, 2, 4"), among the rows the raw ranking ranks (gate failures stay unranked)."""
    ranked = sorted(
        (row for row in rows if row.rank is not None and row.calibrated_points is not None),
        key=lambda row: (-row.calibrated_points, row.proposal.pk),
    )
    for index, row in enumerate(ranked):
        previous = ranked[index - 1] if index else None
        same = previous is not None and previous.calibrated_points == row.calibrated_points
        row.calibrated_rank = previous.calibrated_rank if same else index + 1


@dataclass(frozen=True)
class SubmittedReviews:
    """An RFP's submitted reviews as `scoring` reads them (`read_reviews`)."""

    # Proposal id → its submitted reviews (scores and gate verdicts by criterion key), in the
    # order they were made; proposals in any state.
    by_proposal: dict[int, list[scoring.ReviewInput]]
    distributions: dict[str, list[int]]  # scored criterion key → count per scale point
    submitted: dict[int, int]  # reviewer id → submitted reviews


def read_reviews(rfp: RFP, criteria) -> SubmittedReviews:
    """Every submitted review of the RFP's proposals with its scores and gate verdicts on
    `criteria` (the RFP's Criterion rows), and how the scores are spread. Two queries, whatever
    the number of reviews: plain values, not model instances (with thousands of reviews, tens
    of thousands of assessments, building objects was most of the dashboard's time,
    bench/dashboard). The one place the dashboard and the funding plan read reviews."""
    by_id = {c.pk: c for c in criteria}
    distributions = {
        c.key: [0] * (c.scale_max - c.scale_min + 1) for c in criteria if not c.is_gate
    }
    submitted_reviews = Review.objects.filter(
        assignment__proposal__rfp=rfp, state=Review.State.SUBMITTED
    )
    judged: dict[int, tuple[dict, dict]] = {}
    for review_id, criterion_id, score, verdict in Assessment.objects.filter(
        review__in=submitted_reviews
    ).values_list("review_id", "criterion_id", "score", "verdict"):
        criterion = by_id.get(criterion_id)
        if criterion is None:
            continue
        scores, gates = judged.setdefault(review_id, ({}, {}))
        if criterion.is_gate:
            gates[criterion.key] = verdict
        else:
            scores[criterion.key] = score
            if score is not None:
                distributions[criterion.key][score - criterion.scale_min] += 1
    by_proposal: dict[int, list[scoring.ReviewInput]] = {}
    submitted: dict[int, int] = {}
    for review_id, proposal_id, reviewer_id in submitted_reviews.order_by("pk").values_list(
        "pk", "assignment__proposal_id", "assignment__reviewer_id"
    ):
        scores, gates = judged.get(review_id, ({}, {}))
        by_proposal.setdefault(proposal_id, []).append(
            scoring.ReviewInput(reviewer_id, scores, gates)
        )
        submitted[reviewer_id] = submitted.get(reviewer_id, 0) + 1
    return SubmittedReviews(by_proposal, distributions, submitted)


def build(
    rfp: RFP, *, sort: str = "rank", flag: str | None = None, line: str | None = None
) -> Dashboard:
    criteria = list(rfp.criteria.all())
    specs = scoring.criterion_specs(criteria)
    features = list(
        Feature.objects.filter(milestone__rfp=rfp).order_by("milestone__position", "position")
    )
    elements = list(rfp.elements.all())
    proposals = list(
        Proposal.objects.filter(rfp=rfp, state=Proposal.State.SUBMITTED).order_by("pk")
    )
    latest: dict[int, SubmissionVersion] = {}
    for version in (
        SubmissionVersion.objects.filter(proposal__rfp=rfp)
        .only("id", "proposal_id", "number", "fields", "received_at")
        .order_by("proposal_id", "number")
    ):
        latest[version.proposal_id] = version
    assignments: dict[int, list[Assignment]] = {}
    progress: dict[int, ReviewerProgress] = {}
    for assignment in Assignment.objects.filter(proposal__rfp=rfp).select_related("reviewer"):
        assignments.setdefault(assignment.proposal_id, []).append(assignment)
        who = progress.setdefault(
            assignment.reviewer_id,
            ReviewerProgress(
                assignment.reviewer.email, assignment.reviewer.get_full_name(), 0, 0, 0
            ),
        )
        if assignment.conflict == Assignment.Conflict.DECLARED:
            who.conflicts += 1
        elif assignment.removed_at is None:
            who.assigned += 1
    read = read_reviews(rfp, criteria)
    reviews, distributions = read.by_proposal, read.distributions
    for reviewer_id, count in read.submitted.items():
        if reviewer_id in progress:
            progress[reviewer_id].submitted += count
    decisions = {d.proposal_id: d for d in Decision.objects.filter(proposal__rfp=rfp)}
    results = []
    for proposal in proposals:
        submitted = reviews.get(proposal.pk, [])
        # Reviews due: active, non-conflicted assignments; a submitted review of a reviewer
        # who later left the pool still counts as done.
        active = sum(1 for a in assignments.get(proposal.pk, []) if a.removed_at is None)
        results.append(
            scoring.score_proposal(
                proposal.pk, submitted, specs, assigned=max(active, len(submitted))
            )
        )
    ranked = {r.result.proposal_id: r for r in scoring.rank(results)}
    # Calibration and the intervals, from the reviews read above (no query), remembered for
    # the same reviews (`_remembered`).
    counted = {p.pk: reviews.get(p.pk, []) for p in proposals}
    # The results above, computed from exactly these reviews: calibration and the intervals
    # reuse them instead of scoring every proposal again (bench/README.md, dashboard).
    scored = {r.proposal_id: r for r in results}
    line_at = funding_line(
        line,
        ranked=sum(1 for r in ranked.values() if r.rank is not None),
        selected=sum(1 for d in decisions.values() if d.outcome == Decision.Outcome.SELECTED),
        features=len(features),
    )
    fingerprint = _fingerprint(rfp, specs, counted)
    calibrated = _remembered(
        f"dashboard-calibration:{fingerprint}",
        lambda: calibration.calibrate(
            (
                calibration.Observation(pid, review.reviewer_id, key, score)
                for pid, given in counted.items()
                for review in given
                for key, score in review.scores.items()
                if score is not None
            ),
            specs,
            results=scored,
        ),
    )
    intervals = _remembered(
        f"dashboard-intervals:{fingerprint}:{line_at.places}",
        lambda: uncertainty.rank_intervals(
            counted, specs, places=line_at.places, rng=seed_of(rfp), results=scored
        ),
    )
    interval_of = {i.proposal_id: i for i in intervals.intervals}
    rows = []
    for proposal in proposals:
        version = latest.get(proposal.pk)
        fields = version.fields.get("fields", {}) if version else {}
        entry = ranked[proposal.pk]
        rows.append(
            Row(
                proposal=proposal,
                version=version,
                result=entry.result,
                rank=entry.rank,
                tied=entry.tied,
                budget=budget.check_budget(
                    features, requested_amounts(rfp, fields, elements), total_cap=rfp.total_cap
                ),
                decision=decisions.get(proposal.pk),
                reviewers=assignments.get(proposal.pk, []),
                calibrated=calibrated.proposals.get(proposal.pk) if calibrated.usable else None,
                interval=interval_of.get(proposal.pk),
            )
        )
    _calibrated_ranks(rows)
    rows = ordered(
        [(row_key(row), row) for row in rows], sort=sort, flag=flag, calibrated=calibrated.usable
    )
    return Dashboard(
        rfp=rfp,
        criteria=criteria,
        scored=[c for c in criteria if not c.is_gate],
        rows=rows,
        reviewers=sorted(progress.values(), key=lambda p: p.email),
        distributions=distributions,
        rule=scoring.overall_rule(specs),
        calibration=calibrated,
        uncertainty=intervals,
        line=line_at,
        names=progress,
        specs=specs,
        reviews=counted,
        results=scored,
    )


def heat_map(board: Dashboard, rows: list[Row] | None = None) -> str:
    """The heat map of mean scores for these rows (all of the board's by default); "" if none."""
    rows = board.rows if rows is None else rows
    if not rows:
        return ""
    return charts.heat_map(
        [
            (
                row.proposal.title,
                [scoring.as_decimal(row.result.criteria[c.key].mean) for c in board.scored],
            )
            for row in rows
        ],
        [c.name for c in board.scored],
        scale_min=min((c.scale_min for c in board.scored), default=0),
        scale_max=max((c.scale_max for c in board.scored), default=5),
    )


def distribution_charts(board: Dashboard, *, ident: str = "dist") -> list[tuple]:
    """(criterion, bar chart of the scores it was given) for each scored criterion."""
    return [
        (
            c,
            charts.distribution(
                c.name, board.distributions[c.key], scale_min=c.scale_min, ident=f"{ident}-{c.pk}"
            ),
        )
        for c in board.scored
    ]


# Proposals drawn on the picture of rank intervals (and listed in the table under it): a window
# of this many around the funding line when there are more; the ranking's Likely rank column
# gives every proposal's interval.
CHART_ROWS = 40


def chart_start(ranked: int, places: int) -> int:
    """Where the window of CHART_ROWS proposals around the funding line starts (0-based) among
    `ranked` proposals by expected rank."""
    if ranked <= CHART_ROWS:
        return 0
    return min(max(0, places - CHART_ROWS // 2), ranked - CHART_ROWS)


def intervals_chart(board: Dashboard) -> tuple[str, int, int]:
    """(the picture of expected ranks, 80 % intervals and the funding line, the first and the
    last place it shows); ("", 0, 0) when nothing is ranked."""
    pairs = board.intervals
    if not pairs or board.line is None:
        return "", 0, 0
    start = chart_start(len(pairs), board.line.places)
    shown = pairs[start : start + CHART_ROWS]
    svg = charts.rank_intervals(
        [(row.proposal.title, i.expected_rank, i.low, i.high, i.in_band) for row, i in shown],
        places=board.line.places,
        total=len(board.uncertainty.intervals),
    )
    return svg, start + 1, start + len(shown)
