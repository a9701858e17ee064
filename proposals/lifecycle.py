"""What stage a proposal is in, for its team: the one answer every page of the proposer's area
shows (the proposal page, *My proposals*, the submit page) and what decides which controls a
page offers.

    draft ─▶ submitted (n versions) ─▶ withdrawn ─▶ submitted again …   (until the deadline)
                                 │ deadline + grace passes (or the RFP is opened)
                                 ▼
    not submitted (a draft never submitted) · withdrawn · closed ─▶ under review (opened)
                                                                   ─▶ decided (published)

The base stages need nothing from the evaluation. Whether a decision is published, and what it
awarded, belongs to the evaluation above this layer: it registers a reader
(proposals.rules.register_decision_reader, in evaluation.apps) and the stage asks through
proposals.rules.published_decisions, one query for a whole list of proposals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from proposals import rules, submission
from proposals.models import Proposal, SubmissionVersion


class Stage(StrEnum):
    DRAFT = "draft"  # open, never submitted
    SUBMITTED = "submitted"  # open, a version counts; the team may still revise or withdraw
    WITHDRAWN = "withdrawn"  # withdrawn (open: may submit again; closed: not evaluated)
    NOT_SUBMITTED = "not_submitted"  # closed, never submitted: not evaluated
    CLOSED = "closed"  # closed, submitted; the RFP is not opened yet
    UNDER_REVIEW = "under_review"  # opened, submitted; decisions not published yet
    DECIDED = "decided"  # the decision is published


@dataclass(frozen=True)
class Award:
    feature: str
    amount: Decimal


@dataclass(frozen=True)
class PublishedDecision:
    """A proposal's decision as its team may read it, once the RFP's decisions are published.

    outcome: "selected", "not_selected" or "disqualified" (evaluation.models.Decision.Outcome)."""

    outcome: str
    published_at: datetime
    awards: tuple[Award, ...] = field(default=())

    @property
    def selected(self) -> bool:
        return self.outcome == "selected"

    @property
    def total(self) -> Decimal:
        return sum((award.amount for award in self.awards), Decimal(0))

    @property
    def label(self) -> str:
        if self.selected:
            return _("Selected")
        if self.outcome == "disqualified":
            return _("Not selected: disqualified at a gate")
        return _("Not selected")


@dataclass(frozen=True)
class Lifecycle:
    """One proposal's stage at `now`, with what its pages need to show it."""

    proposal: Proposal
    stage: Stage
    versions: tuple[SubmissionVersion, ...]  # newest first
    revisions: submission.Revisions
    accepting: bool  # edits, submits and withdrawals are accepted now
    decision: PublishedDecision | None

    @property
    def latest(self) -> SubmissionVersion | None:
        return self.versions[0] if self.versions else None

    @property
    def rfp(self):
        return self.proposal.rfp

    @property
    def editable(self) -> bool:
        """The proposal page is a form (save, upload, autosave); otherwise it is read-only."""
        return self.accepting

    @property
    def may_submit(self) -> bool:
        """A submit would be accepted as far as time and the revision limit go."""
        return self.accepting and self.revisions.may_submit

    @property
    def sealed(self) -> bool:
        """Only the team reads it, until the RFP is opened at the deadline (rule 2)."""
        return rules.is_sealed(self.rfp)

    @property
    def closed_at(self) -> datetime:
        """When submissions closed (for a page that says since when)."""
        return self.rfp.opened_at or self.rfp.submission_cutoff

    @property
    def label(self) -> str:
        if self.stage == Stage.DECIDED and self.decision is not None:
            return self.decision.label
        n = len(self.versions)
        return {
            Stage.DRAFT: _("Draft"),
            Stage.SUBMITTED: ngettext("Submitted (%(n)s version)", "Submitted (%(n)s versions)", n)
            % {"n": n},
            Stage.WITHDRAWN: _("Withdrawn"),
            Stage.NOT_SUBMITTED: _("Not submitted"),
            Stage.CLOSED: _("Closed: awaiting review"),
            Stage.UNDER_REVIEW: _("Under review"),
        }.get(self.stage, _("Decided"))

    @property
    def css(self) -> str:
        """The state pill's modifier: the stage, or the decision's outcome once decided."""
        if self.stage == Stage.DECIDED and self.decision is not None:
            return self.decision.outcome
        return str(self.stage)


def base_stage(proposal: Proposal, *, accepting: bool) -> Stage:
    """The stage from the proposal and the clock alone (no decision)."""
    if proposal.state == Proposal.State.WITHDRAWN:
        return Stage.WITHDRAWN
    if accepting:
        return Stage.SUBMITTED if proposal.state == Proposal.State.SUBMITTED else Stage.DRAFT
    if proposal.state != Proposal.State.SUBMITTED:
        return Stage.NOT_SUBMITTED
    return Stage.UNDER_REVIEW if proposal.rfp.opened_at is not None else Stage.CLOSED


_UNKNOWN = object()


def lifecycle_of(
    proposal: Proposal,
    now: datetime,
    *,
    versions: Iterable[SubmissionVersion] | None = None,
    decision: PublishedDecision | object | None = _UNKNOWN,
) -> Lifecycle:
    """The proposal's Lifecycle at `now`. Pass `versions` (newest first) when the page has
    loaded them, and `decision` when it has read the decisions of a whole list
    (lifecycles_of does both)."""
    versions = tuple(proposal.versions.all() if versions is None else versions)
    accepting = submission.accepts_changes(proposal.rfp, now)
    stage = base_stage(proposal, accepting=accepting)
    if decision is _UNKNOWN:
        decision = (
            rules.published_decisions([proposal]).get(proposal.pk)
            if stage in (Stage.CLOSED, Stage.UNDER_REVIEW)
            else None
        )
    if decision is not None and stage in (Stage.CLOSED, Stage.UNDER_REVIEW):
        stage = Stage.DECIDED
    else:
        decision = None
    return Lifecycle(
        proposal=proposal,
        stage=stage,
        versions=versions,
        revisions=submission.revisions(proposal, versions=len(versions)),
        accepting=accepting,
        decision=decision,
    )


def lifecycles_of(proposals: Iterable[Proposal], now: datetime) -> list[Lifecycle]:
    """The Lifecycle of each proposal (with its versions prefetched), reading the published
    decisions of all of them at once."""
    proposals = list(proposals)
    decisions = rules.published_decisions(proposals)
    return [
        lifecycle_of(
            proposal,
            now,
            versions=proposal.versions.all(),
            decision=decisions.get(proposal.pk),
        )
        for proposal in proposals
    ]
