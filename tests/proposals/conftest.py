"""An open RFP loaded from the shared data, and helpers to fill a complete proposal."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from proposals import submission
from proposals.models import RFP, Feature
from tests.pdfs import make_pdf


def complete_answers(rfp: RFP, amount: str = "1000") -> dict:
    features = list(Feature.objects.filter(milestone__rfp=rfp))
    return {
        "team": "Two maintainers with ten years of Python packaging work.",
        "agreement": True,
        "milestones": sorted(m.pk for m in rfp.milestones.all()),
        "similar_projects": "We built TUF support elsewhere.",
        "timeline": {str(f.pk): "Four weeks" for f in features},
        "budget": {str(f.pk): amount for f in features},
    }


def pdf_upload(pages: int = 2, name: str = "proposal.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(pages), content_type="application/pdf")


@pytest.fixture
def draft(open_rfp, proposer):
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Our TUF proposal", now=timezone.now()
    )
    return submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="Our TUF proposal",
        fields=complete_answers(open_rfp),
        document=pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
