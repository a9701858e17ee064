"""The demo as a whole, and its evaluation: the decided demo RFP reviewed and decided by the
demo reviewers and staff.

load_demo() loads proposals' demo (RFPs, people, the decided RFP's proposals, opened) and then
evaluates each decided RFP it created; `manage.py load_demo` runs it. Everything goes through
the same services as real use, with `now` set to the 2019 dates, so the demo's dashboard,
charts, audit trail and debriefs are what the portal would have shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction

from evaluation import decisions, services
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
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=decided + timedelta(hours=2))
