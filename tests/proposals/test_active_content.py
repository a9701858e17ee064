"""Active content in a proposal's PDF (JavaScript, actions, embedded files, forms) is named: staff
choose per RFP whether to refuse it; otherwise it is accepted, and reviewers are warned."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from evaluation import services
from proposals import pdf_check, submission
from tests.helpers.proposals import complete_answers, open_now, pdf_upload
from tests.helpers.reviews import declare_no_conflict, make_reviewer
from tests.proposals.hostile_pdfs import active_content

pytestmark = pytest.mark.django_db


def active_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("scripted.pdf", active_content(), content_type="application/pdf")


def save(proposal, user, document):
    return submission.save_draft(
        proposal=proposal,
        user=user,
        title=proposal.title,
        fields=complete_answers(proposal.rfp),
        document=document,
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )


def test_an_rfp_that_refuses_active_content_refuses_it_in_words_and_keeps_the_draft(
    open_rfp, proposer
):
    open_rfp.refuse_active_content = True
    open_rfp.save(update_fields=["refuse_active_content"])
    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Scripted", now=timezone.now()
    )
    with pytest.raises(pdf_check.PDFRejected) as refused:
        save(draft, proposer, active_upload())
    assert "does not accept PDFs with active content" in str(refused.value)
    assert "JavaScript" in str(refused.value)
    draft.refresh_from_db()
    assert not draft.document and draft.edit_count == 0  # nothing half-saved


def test_the_draft_form_says_so_before_upload_when_the_rfp_refuses_it(client, open_rfp, proposer):
    open_rfp.refuse_active_content = True
    open_rfp.save(update_fields=["refuse_active_content"])
    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Plain", now=timezone.now()
    )
    client.force_login(proposer)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "without active content (JavaScript, actions, embedded files or forms)" in page


def test_accepted_by_default_recorded_on_the_version_and_shown_to_the_team(
    client, open_rfp, proposer
):
    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Scripted", now=timezone.now()
    )
    draft = save(draft, proposer, active_upload())
    assert "javascript" in draft.document_active_content
    client.force_login(proposer)
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "This PDF contains JavaScript" in page

    result = submission.submit_proposal(
        proposal=draft, user=proposer, expected_edit=draft.edit_count, now=timezone.now()
    )
    assert result.version.document_active_content == draft.document_active_content
    version_page = client.get(
        reverse("proposal_version", args=[draft.pk, result.version.number])
    ).content.decode()
    assert "Careful: this PDF contains JavaScript" in version_page


def test_reviewers_are_warned_before_they_open_it(client, open_rfp, proposer, staff):
    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Scripted", now=timezone.now()
    )
    draft = save(draft, proposer, active_upload())
    submission.submit_proposal(
        proposal=draft, user=proposer, expected_edit=draft.edit_count, now=timezone.now()
    )
    plain = make_reviewer("plain@uni.example.edu")
    from evaluation.models import PoolMember

    PoolMember.objects.create(rfp=open_rfp, user=plain)
    open_now(open_rfp)
    assignment = services.assign(
        proposal=draft, reviewer=plain, staff_user=staff, now=timezone.now()
    )
    declare_no_conflict(assignment, plain)
    client.force_login(plain)
    page = client.get(reverse("review", args=[draft.pk])).content.decode()
    assert "Careful: this PDF contains JavaScript" in page


def test_a_plain_pdf_carries_no_warning(client, draft, proposer):
    assert draft.document_active_content == []
    client.force_login(proposer)
    assert "This PDF contains" not in client.get(draft.get_absolute_url()).content.decode()


def test_every_kind_the_check_finds_has_words():
    from proposals import pdfguard

    assert set(pdfguard.ACTIVE_KINDS) == set(pdf_check.ACTIVE_CONTENT_LABELS)
    assert pdf_check.describe_active_content(["embedded_files", "javascript"]) == (
        "JavaScript, embedded files"
    )


@pytest.mark.django_db(transaction=True)
def test_the_pdf_is_checked_before_any_transaction_or_lock(open_rfp, proposer, monkeypatch):
    # A check may take its whole time limit on a hostile file: outside the transaction it holds
    # no proposal row, no share lock on the RFP and, on SQLite, not the database's write lock.
    from django.db import connection

    in_transaction = []
    real_inspect = pdf_check.inspect_pdf

    def spy(*args, **kwargs):
        in_transaction.append(connection.in_atomic_block)
        return real_inspect(*args, **kwargs)

    monkeypatch.setattr(pdf_check, "inspect_pdf", spy)
    draft = submission.start_proposal(rfp=open_rfp, user=proposer, title="Ours", now=timezone.now())
    draft = save(draft, proposer, pdf_upload())
    submission.save_and_submit(
        proposal=draft,
        user=proposer,
        title=draft.title,
        fields=complete_answers(open_rfp),
        document=pdf_upload(3),
        expected_edit=draft.edit_count,
        now=timezone.now(),
    )
    assert in_transaction == [False, False]
    draft.refresh_from_db()
    assert draft.document_pages == 3 and draft.versions.count() == 1
