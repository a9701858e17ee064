"""One realistic portal, built only through the product's services, for the security tests.

Two RFPs loaded from the shared demo data:

- "authz-open": its deadline is 14 days ahead, so it is sealed (phase "sealed").
- "authz-opened": its deadline passed three days ago; everything on it was done at the instants
  the product would have done it (services take `now=`), then `open_due_rfps` opened it as the
  beat task would (phases "opened" and, after `publish_decisions`, "decided").

On each RFP the proposer `owner` has a proposal with a co-author (invited and accepted through
proposals.team), a submitted version and a newer draft; the proposer `other` has a submitted
proposal of their own. Every proposal carries a unique marker in its title, its answers and
its PDF's file name, so a test can tell exactly whose content a response shows.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP
from django.test import Client
from django.utils import timezone

from evaluation import decisions, export_requests, exports, services, threads
from evaluation.models import Assignment, Export, Review
from proposals import addenda, demo, questions, submission, subscriptions
from proposals import services as rfp_services
from proposals import team as team_service
from proposals.models import RFP, Proposal, ProposalMember, SubmissionVersion
from rfp_portal import permissions
from tests.factories import UserFactory
from tests.helpers.mfa import TOTP_SECRET
from tests.helpers.proposals import complete_answers, pdf_upload

ANON = "anonymous"
OTHER = "proposer_other_team"
OWNER = "proposer_owner"
COAUTHOR = "coauthor"
REV_NONE = "reviewer_not_assigned"
REV_CONFLICT = "reviewer_conflict"
REV_FREE = "reviewer_assigned"
STAFF = "staff"
ROLES = (ANON, OTHER, OWNER, COAUTHOR, REV_NONE, REV_CONFLICT, REV_FREE, STAFF)
TEAM = frozenset({OWNER, COAUTHOR})
PROPOSERS = frozenset({OTHER, OWNER, COAUTHOR})
REVIEWERS = frozenset({REV_NONE, REV_CONFLICT, REV_FREE})

SEALED, OPENED, DECIDED = "sealed", "opened", "decided"
PHASES = (SEALED, OPENED, DECIDED)


def marker(key: str) -> str:
    """A string that occurs nowhere but in one proposal's content."""
    return f"Qzx{key}Mrk7"


@dataclass
class Side:
    """Everything on one RFP."""

    rfp: RFP
    proposal: Proposal  # the owner's (with a co-author)
    other_proposal: Proposal  # the other team's
    version: SubmissionVersion
    coauthor_member: ProposalMember
    invitation_token: str  # an open co-author invitation to the owner's proposal
    reviewer_invitation_token: str
    addendum_number: int
    review: Review | None = None
    export: Export | None = None
    markers: dict[str, int] = field(default_factory=dict)  # marker -> proposal pk


@dataclass
class Scenario:
    users: dict[str, Any]
    sealed: Side
    opened: Side
    subscription_tokens: dict[str, str]

    def side(self, phase: str) -> Side:
        return self.sealed if phase == SEALED else self.opened

    def all_markers(self) -> dict[str, Proposal]:
        result = {}
        for side in (self.sealed, self.opened):
            result[marker(f"{side.rfp.slug}-own")] = side.proposal
            result[marker(f"{side.rfp.slug}-other")] = side.other_proposal
        return result


def _load(slug: str, *, deadline_in_days: int, now) -> RFP:
    data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q4.toml").read_text())
    data["slug"] = slug
    data["title"] = f"RFP {slug}"
    today = timezone.now().date()
    # demo_shift puts the deadline 14 days after `today`.
    shift = rfp_services.demo_shift(data, today=today + timedelta(days=deadline_in_days - 14))
    return rfp_services.load_rfp(data, shift=shift, now=now).rfp


def marked_proposal(rfp, owner, key: str, at) -> Proposal:
    mark = marker(key)
    proposal = submission.start_proposal(rfp=rfp, user=owner, title=f"Title {mark}", now=at)
    fields = complete_answers(rfp)
    fields["team"] = f"Our team {mark} has done this before."
    fields["similar_projects"] = f"Similar work: {mark}."
    return submission.save_draft(
        proposal=proposal,
        user=owner,
        title=f"Title {mark}",
        fields=fields,
        document=pdf_upload(name=f"{mark}.pdf"),
        expected_edit=proposal.edit_count,
        now=at,
    )


def submit_acknowledging_addenda(proposal, user, at) -> SubmissionVersion:
    proposal.refresh_from_db()
    for pending in addenda.unacknowledged_addenda(proposal.rfp, user):
        addenda.acknowledge(addendum=pending, user=user, now=at)
    return submission.submit_proposal(
        proposal=proposal, user=user, expected_edit=proposal.edit_count, now=at
    ).version


def _build_side(users, rfp, t0) -> Side:
    """Everything that happens on an RFP before its deadline, starting at t0."""
    step = timedelta(minutes=7)
    at = iter(t0 + step * i for i in range(1, 100))
    staff, owner, coauthor, other = users[STAFF], users[OWNER], users[COAUTHOR], users[OTHER]
    slug = rfp.slug

    for key in (REV_NONE, REV_CONFLICT, REV_FREE):
        invitation = services.invite_reviewer(
            rfp=rfp, email=users[key].email, staff_user=staff, now=next(at)
        )
        services.accept_reviewer_invitation(invitation=invitation, user=users[key], now=next(at))
    pending_reviewer = services.invite_reviewer(
        rfp=rfp, email=f"pending-reviewer@{slug}.example.org", staff_user=staff, now=next(at)
    )
    addendum = addenda.publish_addendum(
        rfp=rfp,
        changes={"summary": rfp.summary + " (amended)"},
        change_note="The summary is clearer.",
        actor=staff,
        now=next(at),
    )
    questions.ask(rfp=rfp, user=owner, text="May we bid for one milestone only?", now=next(at))
    addenda.register_interest(rfp=rfp, user=other, now=next(at))

    proposal = marked_proposal(rfp, owner, f"{slug}-own", next(at))
    invitation = team_service.invite(
        proposal=proposal, owner=owner, email=coauthor.email, now=next(at)
    )
    team_service.accept(invitation=invitation, user=coauthor, now=next(at))
    pending = team_service.invite(
        proposal=proposal, owner=owner, email=f"pending@{slug}.example.org", now=next(at)
    )
    version = submit_acknowledging_addenda(proposal, owner, next(at))
    proposal.refresh_from_db()
    # A newer draft after the submitted version.
    proposal = submission.save_draft(
        proposal=proposal,
        user=coauthor,
        title=proposal.title + " (draft 2)",
        fields=proposal.fields,
        document=None,
        expected_edit=proposal.edit_count,
        now=next(at),
    )
    other_proposal = marked_proposal(rfp, other, f"{slug}-other", next(at))
    submit_acknowledging_addenda(other_proposal, other, next(at))
    other_proposal.refresh_from_db()
    # Before opening, staff may assign blind (they see counts, not titles).
    services.assign(proposal=proposal, reviewer=users[REV_FREE], staff_user=staff, now=next(at))
    services.assign(proposal=proposal, reviewer=users[REV_CONFLICT], staff_user=staff, now=next(at))
    services.assign(
        proposal=other_proposal, reviewer=users[REV_NONE], staff_user=staff, now=next(at)
    )
    return Side(
        rfp=rfp,
        proposal=proposal,
        other_proposal=other_proposal,
        version=version,
        coauthor_member=proposal.members.get(user=coauthor),
        invitation_token=team_service.invitation_token(pending),
        reviewer_invitation_token=services.invitation_token(pending_reviewer),
        addendum_number=addendum.number,
    )


def _review_inputs(rfp, score: int):
    return [
        services.AssessmentInput(
            c, None if c.is_gate else score, "pass" if c.is_gate else "", "Solid."
        )
        for c in rfp.criteria.all()
    ]


def _evaluate(users, side: Side, now) -> None:
    """After opening: conflicts declared, a review, a clarification, a discussion, an export."""
    staff = users[STAFF]
    at = iter(now + timedelta(seconds=i) for i in range(1, 100))
    for key, proposal, conflict in (
        (REV_FREE, side.proposal, False),
        (REV_CONFLICT, side.proposal, True),
        (REV_NONE, side.other_proposal, False),
    ):
        assignment = Assignment.objects.get(proposal=proposal, reviewer=users[key])
        services.declare_conflict(
            assignment=assignment,
            user=users[key],
            conflict=conflict,
            reason="I worked with this team last year." if conflict else "",
            now=next(at),
        )
    for key, proposal, score in ((REV_FREE, side.proposal, 4), (REV_NONE, side.other_proposal, 2)):
        assignment = Assignment.objects.get(proposal=proposal, reviewer=users[key])
        review = services.save_review(
            assignment=assignment,
            user=users[key],
            assessments=_review_inputs(side.rfp, score),
            overall_comment="Convincing plan.",
            submit=True,
            now=next(at),
        )
        if key == REV_FREE:
            side.review = review
    threads.post_clarification(
        proposal=side.proposal, user=users[REV_FREE], text="Which TUF roles?", now=next(at)
    )
    threads.post_clarification(
        proposal=side.proposal, user=users[OWNER], text="Root and targets.", now=next(at)
    )
    threads.post_discussion(
        proposal=side.proposal, user=staff, text="Strong on security.", now=next(at)
    )
    export = export_requests.request_export(rfp=side.rfp, kind="summary", user=staff, now=next(at))
    side.export = exports.run(export.pk)


def decide(scenario: Scenario) -> None:
    """Phase "decided": a decision for every proposal, then publish_decisions."""
    side, staff = scenario.opened, scenario.users[STAFF]
    now = timezone.now()
    feature = side.rfp.milestones.first().features.first()
    decisions.record_decision(
        proposal=side.proposal,
        staff_user=staff,
        outcome="selected",
        rationale="Best plan for TUF.",
        awards={feature.pk: feature.budget},
        confirm_over_cap=False,
        now=now,
    )
    decisions.record_decision(
        proposal=side.other_proposal,
        staff_user=staff,
        outcome="not_selected",
        rationale="Less detail than the selected one.",
        awards={},
        confirm_over_cap=False,
        now=now,
    )
    decisions.publish_decisions(rfp=side.rfp, staff_user=staff, now=now)


def build_scenario() -> Scenario:
    now = timezone.now()
    users = {
        OTHER: UserFactory(
            email="other@rival.example.net",
            organisation="Rival",
            roles=[permissions.Role.PROPOSER],
        ),
        OWNER: UserFactory(
            email="owner@team.example.io", organisation="Team", roles=[permissions.Role.PROPOSER]
        ),
        COAUTHOR: UserFactory(email="coauthor@partner.example.io", organisation="Partner"),
        STAFF: UserFactory(
            email="staff@foundation.example.org",
            roles=[permissions.Role.STAFF],
            is_staff=True,
        ),
    }
    TOTP.activate(users[STAFF], TOTP_SECRET)
    for key, domain in ((REV_NONE, "uni1"), (REV_CONFLICT, "uni2"), (REV_FREE, "uni3")):
        user = UserFactory(email=f"{key}@{domain}.example.edu", organisation=domain)
        TOTP.activate(user, TOTP_SECRET)
        users[key] = user

    sealed_rfp = _load("authz-open", deadline_in_days=14, now=now - timedelta(days=2))
    sealed = _build_side(users, sealed_rfp, now - timedelta(days=1))

    opened_rfp = _load("authz-opened", deadline_in_days=-3, now=now - timedelta(days=30))
    opened = _build_side(users, opened_rfp, opened_rfp.deadline_instant - timedelta(days=5))
    assert not rfp_services.open_due_rfps(now=opened_rfp.deadline_instant - timedelta(seconds=1))
    assert rfp_services.open_due_rfps(now=now) == [opened_rfp]
    opened_rfp.refresh_from_db()
    opened.rfp = opened_rfp
    opened.proposal = Proposal.objects.get(pk=opened.proposal.pk)
    opened.other_proposal = Proposal.objects.get(pk=opened.other_proposal.pk)
    _evaluate(users, opened, now)

    subscription = subscriptions.subscribe(email="reader@example.org", now=now)
    for side in (sealed, opened):
        side.proposal = Proposal.objects.get(pk=side.proposal.pk)
        side.other_proposal = Proposal.objects.get(pk=side.other_proposal.pk)
    for user in users.values():
        permissions._forget(user)
    return Scenario(
        users=users,
        sealed=sealed,
        opened=opened,
        subscription_tokens={
            "confirm": subscriptions.token_for(subscription, "confirm"),
            "stop": subscriptions.token_for(subscription, "stop"),
        },
    )


def clients_for(users) -> dict[str, Client]:
    """A signed-in client per role (reviewers and staff have TOTP, which is what the portal's
    MFA gate checks)."""
    result = {ANON: Client()}
    for key, user in users.items():
        client = Client()
        client.force_login(user)
        result[key] = client
    return result
