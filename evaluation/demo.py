"""The demo as a whole, and its evaluation: the decided demo RFP reviewed and decided by the
demo reviewers and staff.

load_demo() loads proposals' demo (RFPs, people, the decided RFP's proposals, opened) and then
evaluates each decided RFP it created; `manage.py load_demo` runs it. Everything goes through
the same services as real use, with `now` set to the 2019 dates, so the demo's dashboard,
charts, audit trail and debriefs are what the portal would have shown.

Before the decisions are published, staff draw a recorded lottery (evaluation.lottery: the
seed's commitment first, the draw a quarter of an hour later) that orders the reserve list: the
proposals not selected, should a selected team withdraw. It chooses no one (places=None), so the
demo decides the same on every load whatever the seed draws; only the reserve order varies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction

from evaluation import dashboard, decisions, lottery, services
from evaluation.models import Decision, Lottery
from proposals import demo, demo_teams
from proposals.models import RFP, Feature
from rfp_portal import permissions
from rfp_portal.models import User

# Scores per demo reviewer (1..3) for each team's proposal, in the order of
# proposals.demo_teams.TEAMS.
SCORES = ((4, 5, 4), (3, 4, 3), (4, 3, 5), (2, 2, 3), (5, 1, 4))


@transaction.atomic
def load_demo(*, now: datetime, directory: Path = demo.DEMO_DATA_DIR) -> demo.DemoReport:
    """The whole demo; idempotent: what exists already is left untouched."""
    report = demo.load_demo(now=now, directory=directory)
    if report.decided:
        staff = User.objects.get(email=demo.DEMO_PEOPLE[0].email)
        demo_reviewers = [p.email for p in demo.DEMO_PEOPLE if permissions.Role.REVIEWER in p.roles]
        reviewers = list(User.objects.filter(email__in=demo_reviewers))
        for rfp in report.decided:
            evaluate_decided_rfp(rfp, staff=staff, reviewers=reviewers)
    return report


def evaluate_decided_rfp(rfp: RFP, *, staff: User, reviewers: list[User]) -> None:
    """Review and decide the opened RFP's team proposals, and publish the decisions."""
    opened_at = rfp.deadline_instant  # proposals.demo_teams opened it then
    proposals = demo_teams.team_proposals(rfp)
    for reviewer in reviewers:
        invitation = services.invite_reviewer(
            rfp=rfp, email=reviewer.email, staff_user=staff, now=opened_at - timedelta(days=20)
        )
        services.accept_reviewer_invitation(
            invitation=invitation, user=reviewer, now=opened_at - timedelta(days=19)
        )
    review_time = opened_at + timedelta(days=2)
    for index, proposal in enumerate(proposals):
        for position, reviewer in enumerate(reviewers):
            assignment = services.assign(
                proposal=proposal, reviewer=reviewer, staff_user=staff, now=opened_at
            )
            # One declared conflict, so the dashboard shows how conflicts look.
            conflicted = index == 3 and position == 1
            services.declare_conflict(
                assignment=assignment,
                user=reviewer,
                conflict=conflicted,
                reason="Worked with this team in 2018." if conflicted else "",
                now=opened_at + timedelta(hours=1),
            )
            if conflicted:
                continue
            score = SCORES[index][position]
            services.save_review(
                assignment=assignment,
                user=reviewer,
                assessments=[
                    services.AssessmentInput(
                        criterion=c,
                        score=None if c.is_gate else max(0, min(5, score - (c.position % 2))),
                        verdict=("fail" if index == 3 and c.key == "assessable" else "pass")
                        if c.is_gate
                        else "",
                        comment="",
                    )
                    for c in rfp.criteria.all()
                ],
                overall_comment="Demo review.",
                submit=True,
                now=review_time,
            )
    features = list(Feature.objects.filter(milestone__rfp=rfp).order_by("pk"))
    security = [f for f in features if f.milestone.position == 0]
    accessibility = [f for f in features if f.milestone.position == 1]
    decided = opened_at + timedelta(days=6)
    plans = [
        ("selected", "Strongest team for the security milestone.", security),
        ("not_selected", "Over budget without explanation for the deviations.", []),
        ("selected", "Best accessibility and localization experience.", accessibility),
        ("disqualified", "Not detailed enough to assess (gate).", []),
        ("not_selected", "Reviewers disagreed widely; the selected proposals scored higher.", []),
    ]
    for proposal, (outcome, rationale, awarded) in zip(proposals, plans, strict=True):
        decisions.record_decision(
            proposal=proposal,
            staff_user=staff,
            outcome=outcome,
            rationale=rationale,
            awards={f.pk: f.budget for f in awarded},
            confirm_over_cap=False,
            now=decided,
        )
    reserve_lottery(rfp, staff=staff, now=decided + timedelta(minutes=30))
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=decided + timedelta(hours=2))


RESERVE = "Order of the reserve list, should a selected team withdraw."


def reserve_lottery(rfp: RFP, *, staff: User, now: datetime) -> Lottery | None:
    """Commit at `now`, and draw 15 minutes later, a lottery ordering the reserve list: the
    proposals not selected that are in the band at the dashboard's funding line (after the
    places selected), or, when fewer than two are, every proposal not selected that passed the
    gates, and the note says why. None when fewer than two proposals are not selected."""
    board = dashboard.build(rfp)
    places = board.line.places
    rows = [
        row
        for row in sorted(board.rows, key=lambda row: row.proposal.pk)
        if row.rank is not None
        and row.decision is not None
        and row.decision.outcome == Decision.Outcome.NOT_SELECTED
    ]
    band = set(board.uncertainty.band)
    in_band = [row for row in rows if row.proposal.pk in band]
    if len(in_band) >= 2:
        rows = in_band
        why = (
            f"{_titles(rows)} are in the band at the funding line after place {places}: "
            "their 80 % intervals of ranks cross it, so their reviews cannot set them apart."
        )
    elif len(rows) >= 2:
        why = (
            f"Fewer than two of the proposals not selected are in the band at the funding line "
            f"after place {places}, so the draw orders every proposal not selected that passed "
            f"the gates ({_titles(rows)}): the reserve list holds them all."
        )
    else:
        return None
    overalls = {row.overall_points for row in rows}
    if len(overalls) == 1:
        why += f" Their Overall is the same, {overalls.pop()}, so the scores cannot order them."
    committed = lottery.commit(
        rfp=rfp,
        candidates=[row.proposal.pk for row in rows],
        places=None,
        actor=staff,
        now=now,
        note=f"{RESERVE} {why}",
    )
    return lottery.draw(lottery=committed, actor=staff, now=now + timedelta(minutes=15))


def _titles(rows) -> str:
    titles = [f"“{row.proposal.title}”" for row in rows]
    return ", ".join(titles[:-1]) + f" and {titles[-1]}" if len(titles) > 1 else titles[0]
