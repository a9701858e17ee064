"""The staff dashboard's data: scores, flags, ranking, budget checks and progress for an RFP.

A fixed number of queries whatever the number of proposals (a test pins it): everything is
read in bulk, then computed in Python with evaluation.scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation import charts, scoring
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

    @property
    def overall_points(self):
        return scoring.overall_points(self.result)

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


# Rows per dashboard page: ranking and charts of distributions use every proposal.
PAGE_SIZE = 100

SORTS = {
    "rank": lambda row: (row.rank is None, row.rank or 0, row.proposal.pk),
    "title": lambda row: row.proposal.title.lower(),
    "spread": lambda row: (-(row.result.overall_spread or 0), row.proposal.pk),
    "reviews": lambda row: (row.result.reviews, row.proposal.pk),
}
# The ranking always shows rank, title, Overall, spread, flags, budget and decision (they fit a
# 1280-pixel screen); staff add these columns on demand, as HotCRP lets chairs choose columns.
OPTIONAL_COLUMNS = ("criteria", "median", "reviews")
ALWAYS_SHOWN = 7


def chosen_columns(values) -> list[str]:
    """The optional columns asked for (?columns=criteria&columns=median), unknown ones ignored."""
    return [c for c in OPTIONAL_COLUMNS if c in set(values)]


FLAGS = {
    "disagreement": lambda row: row.result.disagreement,
    "gate": lambda row: row.result.gate_flagged,
    "incomplete": lambda row: row.result.incomplete,
    "over_cap": lambda row: row.budget.any_over_cap or not row.budget.total_within_cap,
}


def build(rfp: RFP, *, sort: str = "rank", flag: str | None = None) -> Dashboard:
    criteria = list(rfp.criteria.all())
    specs = scoring.criterion_specs(criteria)
    by_id = {c.pk: c for c in criteria}
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
    reviews: dict[int, list[scoring.ReviewInput]] = {}
    distributions = {
        c.key: [0] * (c.scale_max - c.scale_min + 1) for c in criteria if not c.is_gate
    }
    # Plain values, not model instances: with thousands of reviews (tens of thousands of
    # assessments) building objects was most of the dashboard's time (bench/dashboard).
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
    for review_id, proposal_id, reviewer_id in submitted_reviews.order_by("pk").values_list(
        "pk", "assignment__proposal_id", "assignment__reviewer_id"
    ):
        scores, gates = judged.get(review_id, ({}, {}))
        reviews.setdefault(proposal_id, []).append(scoring.ReviewInput(reviewer_id, scores, gates))
        if reviewer_id in progress:
            progress[reviewer_id].submitted += 1
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
            )
        )
    if flag in FLAGS:
        rows = [row for row in rows if FLAGS[flag](row)]
    rows.sort(key=SORTS.get(sort, SORTS["rank"]))
    return Dashboard(
        rfp=rfp,
        criteria=criteria,
        scored=[c for c in criteria if not c.is_gate],
        rows=rows,
        reviewers=sorted(progress.values(), key=lambda p: p.email),
        distributions=distributions,
        rule=scoring.overall_rule(specs),
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
