"""The decided demo RFP, evaluated end to end with fictional teams, reviews and decisions.

Everything goes through the same services as real use, with `now` set to the 2019 dates, so
the demo's dashboard, charts, audit trail and debriefs are what the portal would have shown.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from proposals import submission
from proposals.models import RFP, Feature, Proposal, ProposalElement
from rfp_portal.models import User

# (team e-mail, title, share of each feature's budget asked, scores per reviewer 1..3)
TEAMS = (
    ("lead@mossgreen.example", "Mossgreen: MFA, API keys and audit trail", 0.95, (4, 5, 4)),
    ("hello@tern-labs.example", "Tern Labs: security milestone", 1.10, (3, 4, 3)),
    ("ana@quillwork.example", "Quillwork: accessibility and localization", 0.90, (4, 3, 5)),
    ("ops@brightfield.example", "Brightfield: the whole RFP", 1.35, (2, 2, 3)),
    ("team@kestrel-a11y.example", "Kestrel: accessibility first", 0.80, (5, 1, 4)),
)


def _pdf(pages: int) -> SimpleUploadedFile:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile("proposal.pdf", buffer.getvalue(), content_type="application/pdf")


def _answers(rfp: RFP, share: float) -> dict:
    features = list(Feature.objects.filter(milestone__rfp=rfp))
    answers: dict = {}
    for element in rfp.elements.all():
        kind = element.kind
        if kind == ProposalElement.Kind.TEXT:
            answers[element.key] = f"Demo answer for “{element.label}”."
        elif kind == ProposalElement.Kind.AGREEMENT:
            answers[element.key] = True
        elif kind == ProposalElement.Kind.MILESTONE_CHOICE:
            answers[element.key] = sorted(m.pk for m in rfp.milestones.all())
        elif kind == ProposalElement.Kind.PER_FEATURE_TEXT:
            answers[element.key] = {str(f.pk): "Three to five weeks." for f in features}
        elif kind == ProposalElement.Kind.PER_FEATURE_AMOUNT:
            answers[element.key] = {
                str(f.pk): str((f.budget * Decimal(str(share))).quantize(Decimal("1")))
                for f in features
            }
    return answers


def evaluate_decided_rfp(rfp: RFP, *, staff: User, reviewers: list[User]) -> None:
    from evaluation import decisions, services

    received = rfp.deadline_instant - timedelta(days=3)
    proposals = []
    for index, (email, title, share, _scores) in enumerate(TEAMS):
        owner = User.objects.get(email=email)
        at = received + timedelta(hours=index * 5)
        proposal = submission.start_proposal(rfp=rfp, user=owner, title=title, now=at)
        proposal = submission.save_draft(
            proposal=proposal,
            user=owner,
            title=title,
            fields=_answers(rfp, share),
            document=_pdf(6 + index),
            expected_edit=proposal.edit_count,
            now=at,
        )
        submission.submit_proposal(
            proposal=proposal, user=owner, expected_edit=proposal.edit_count, now=at
        )
        proposals.append(proposal)
    opened_at = rfp.deadline_instant
    submission.open_due_rfps(now=opened_at)
    rfp.refresh_from_db()
    # Reloaded: the objects above still carry the RFP as it was before opening.
    proposals = [Proposal.objects.select_related("rfp").get(pk=p.pk) for p in proposals]
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
            score = TEAMS[index][3][position]
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


def demo_now() -> datetime:
    return datetime.now(UTC)
