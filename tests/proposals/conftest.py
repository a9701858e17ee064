"""A draft with complete answers and a PDF, on the open RFP (tests/conftest.py)."""

import pytest
from django.utils import timezone

from proposals import submission
from tests.helpers.proposals import complete_answers, pdf_upload


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
