"""The proposals of the decided demo RFP: fictional teams submit them, and the RFP opens.

Everything goes through the same services as real use, with `now` set to the 2019 dates, so
the demo's proposals, receipts and audit trail are what the portal would have shown.
evaluation.demo then reviews and decides them. The benchmarks in bench/ fill their proposals
in with _answers().
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from proposals import services, submission
from proposals.models import RFP, Feature, Proposal, ProposalElement
from rfp_portal.models import User

# (team e-mail, title, share of each feature's budget asked)
TEAMS = (
    ("lead@mossgreen.example", "Mossgreen: MFA, API keys and audit trail", 0.95),
    ("hello@tern-labs.example", "Tern Labs: security milestone", 1.10),
    ("ana@quillwork.example", "Quillwork: accessibility and localization", 0.90),
    ("ops@brightfield.example", "Brightfield: the whole RFP", 1.35),
    ("team@kestrel-a11y.example", "Kestrel: accessibility first", 0.80),
)


def _pdf(pages: int) -> SimpleUploadedFile:
    # Imported here, as it always was: pypdf is slow to import (see pdfguard), and only loading
    # the demo needs it, not every process that imports this module.
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


def submit_team_proposals(rfp: RFP) -> None:
    """Each team in TEAMS submits its proposal in the days before the deadline; then the RFP
    opens at its deadline (`rfp` is reloaded, opened)."""
    received = rfp.deadline_instant - timedelta(days=3)
    for index, (email, title, share) in enumerate(TEAMS):
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
    services.open_due_rfps(now=rfp.deadline_instant)
    rfp.refresh_from_db()


def team_proposals(rfp: RFP) -> list[Proposal]:
    """The teams' proposals to `rfp`, in the order of TEAMS, each with its RFP as it is now."""
    return [
        Proposal.objects.select_related("rfp").get(rfp=rfp, owner__email=email)
        for email, _title, _share in TEAMS
    ]
