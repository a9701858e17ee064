"""The evaluation's part of a proposal's stage (proposals.lifecycle): its published decision.

Registered with proposals.rules.register_decision_reader in EvaluationConfig.ready(): the
proposer's pages ask proposals, which cannot import the evaluation above it. A decision is
readable by its team only once the RFP's decisions are published (rule 8: in one batch).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from evaluation.models import Decision
from proposals.lifecycle import Award, PublishedDecision
from proposals.models import Feature, Proposal


def published_decisions(proposals: list[Proposal]) -> dict[int, PublishedDecision]:
    """{proposal id: its published decision} for those of `proposals` that have one.

    One query for the decisions of the whole list, and one for the names of the features they
    award (only when something was awarded), whatever the number of proposals."""
    ids = [proposal.pk for proposal in proposals]
    if not ids:
        return {}
    decisions = list(
        Decision.objects.filter(
            proposal_id__in=ids,
            proposal__rfp__decision_release__published_at__isnull=False,
        ).values(
            "proposal_id",
            "outcome",
            "awards",
            "proposal__rfp__decision_release__published_at",
        )
    )
    feature_ids = {
        int(fid)
        for row in decisions
        if row["outcome"] == Decision.Outcome.SELECTED
        for fid in (row["awards"] or {})
        if str(fid).isdigit()
    }
    features = (
        {f.pk: f for f in Feature.objects.filter(pk__in=feature_ids).select_related("milestone")}
        if feature_ids
        else {}
    )

    def order(fid: str):
        feature = features.get(int(fid)) if str(fid).isdigit() else None
        if feature is None:
            return (1, 0, 0, str(fid))
        return (0, feature.milestone.position, feature.position, feature.pk)

    found = {}
    for row in decisions:
        awards = []
        if row["outcome"] == Decision.Outcome.SELECTED:
            for fid in sorted(row["awards"] or {}, key=order):
                feature = features.get(int(fid)) if str(fid).isdigit() else None
                try:
                    amount = Decimal(str(row["awards"][fid]))
                except InvalidOperation:
                    continue
                awards.append(Award(feature=feature.name if feature else str(fid), amount=amount))
        found[row["proposal_id"]] = PublishedDecision(
            outcome=row["outcome"],
            published_at=row["proposal__rfp__decision_release__published_at"],
            awards=tuple(awards),
        )
    return found
