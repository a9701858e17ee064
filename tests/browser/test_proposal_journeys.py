"""The proposer's journeys (and the staff addendum) in headless chromium, axe on every page."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from proposals import submission
from proposals.models import Proposal
from proposals.services import compute_deadline
from tests.factories import UserFactory
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import complete_answers, ready_draft
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pdf_file(tmp_path):
    path = tmp_path / "our-proposal.pdf"
    path.write_bytes(make_pdf(3))
    return path


def test_a_proposer_drafts_uploads_checks_budget_submits_and_verifies_receipt(
    page, open_rfp, proposer, password, pdf_file, assert_accessible
):
    sign_in(page, proposer.email, password)
    page.goto(open_rfp.get_absolute_url())
    page.get_by_role("button", name="Keep me informed about this RFP").click()
    expect(page.locator(".messages")).to_contain_text("deadline reminders")
    assert_accessible(page)

    page.get_by_label("A title for your proposal").fill("Tern Labs: signing PyPI")
    page.get_by_role("button", name="Start a proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tern Labs: signing PyPI")
    assert_accessible(page)

    page.get_by_label("The team").fill("Two maintainers with packaging experience.")
    page.get_by_label(re.compile("I agree")).check()
    for box in page.locator("input[type=checkbox][name=e_milestones]").all():
        box.check()
    page.get_by_label("Similar projects").fill("Signing for another index.")
    for area in page.locator("textarea[name^=e_timeline__]").all():
        area.fill("Four weeks")
    amounts = page.locator("input[name^=e_budget__]")
    amounts.nth(0).fill("26000")
    amounts.nth(1).fill("25000")
    amounts.nth(2).fill("3000")
    # The budget check follows the typing (htmx), explained in words.
    check = page.locator("#budget-check")
    expect(check).to_contain_text("Over budget by 1,000 but within the cap")
    expect(check).to_contain_text("Over the cap by 500")
    assert_accessible(page)
    amounts.nth(1).fill("20000")
    expect(check).not_to_contain_text("Over the cap")

    page.get_by_label("Proposal document (PDF)").set_input_files(pdf_file)
    page.get_by_role("button", name="Save and review before submitting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    expect(page.locator("main")).to_contain_text("Every required part is there.")
    expect(page.locator("main")).to_contain_text("3 pages")
    assert_accessible(page)

    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    code = page.locator(".receipt__code").first.inner_text()
    assert re.fullmatch(r"R-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert_accessible(page)
    assert any(code in m.body for m in mail.outbox)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the receipt (PDF)").click()
    assert download.value.suggested_filename == f"receipt-{code}.pdf"

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Verify a receipt").click()
    page.get_by_label("Receipt code").fill(code.lower())
    page.get_by_label("The PDF you submitted (optional)").set_input_files(pdf_file)
    page.get_by_role("button", name="Verify").click()
    result = page.locator(".verify-result")
    expect(result).to_contain_text("received on time")
    expect(result).to_contain_text("The file matches the submitted PDF exactly.")
    expect(result).not_to_contain_text("Tern Labs")
    assert_accessible(page)


def test_a2_proposer_saves_and_submits_in_one_step_after_adding_the_missing_pdf(
    page, open_rfp, proposer, password, pdf_file, assert_accessible
):
    proposal = ready_draft(open_rfp, proposer, "One-step proposal", with_pdf=False)
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    page.get_by_label("The team").fill("Edited just before submitting.")
    # Without the PDF: the draft is saved, nothing is submitted, the review page says why.
    page.get_by_role("button", name="Save and submit now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    expect(page.locator(".messages")).to_contain_text("it was not submitted")
    missing = page.get_by_role("link", name="Proposal document (PDF)")
    expect(missing).to_be_visible()
    assert_accessible(page)
    proposal.refresh_from_db()
    assert proposal.fields["team"] == "Edited just before submitting."
    assert not proposal.versions.exists()

    missing.click()
    expect(page.get_by_label("Proposal document (PDF)")).to_be_visible()
    page.get_by_label("Proposal document (PDF)").set_input_files(pdf_file)
    page.get_by_role("button", name="Save and submit now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    expect(page.locator(".messages")).to_contain_text("Your proposal has been received.")
    code = page.locator(".receipt__code").first.inner_text()
    version = proposal.versions.get()
    assert code == version.receipt_code and version.document_pages == 3
    assert_accessible(page)


def test_b_proposer_revises_then_withdraws(page, open_rfp, proposer, password, assert_accessible):
    proposal = ready_draft(open_rfp, proposer)
    proposal.refresh_from_db()
    submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    )
    sign_in(page, proposer.email, password)
    page.get_by_role("link", name="My proposals").click()
    expect(page.locator("table")).to_contain_text("submitted", ignore_case=True)
    assert_accessible(page)
    page.get_by_role("link", name="Ready proposal").click()
    page.get_by_label("The team").fill("Three maintainers now.")
    page.get_by_role("button", name="Save and review before submitting").click()
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 2")
    assert proposal.versions.count() == 2

    page.goto(proposal.get_absolute_url())
    expect(page.locator(".status-panel")).to_contain_text("Version 1")
    page.get_by_role("link", name="Withdraw…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Withdraw your proposal?")
    assert_accessible(page)
    page.get_by_role("button", name="Yes, withdraw it").click()
    expect(page.locator(".messages")).to_contain_text("withdrawn")
    expect(page.locator("table")).to_contain_text("withdrawn", ignore_case=True)
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.WITHDRAWN


def test_c_coauthor_accepts_invitation_and_edits(
    page, open_rfp, proposer, password, assert_accessible
):
    from proposals import team

    proposal = ready_draft(open_rfp, proposer)
    coauthor = UserFactory(email="co@example.net")
    team.invite(proposal=proposal, owner=proposer, email=coauthor.email, now=timezone.now())
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[-1].body).group(0)
    page.goto("/" + link.split("://", 1)[1].split("/", 1)[1])
    expect(page.locator(".messages")).to_contain_text("to join the proposal")
    page.get_by_label("Email").fill(coauthor.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invitation to co-author a proposal")
    assert_accessible(page)
    page.get_by_role("button", name="Join the team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ready proposal")
    page.get_by_label("Similar projects").fill("Co-author's addition.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Your draft has been saved.")
    proposal.refresh_from_db()
    assert proposal.fields["similar_projects"] == "Co-author's addition."
    page.get_by_role("link", name="Team and co-authors").click()
    expect(page.locator("table")).to_contain_text("co-author")
    expect(page.get_by_role("button", name=re.compile("Remove"))).to_have_count(0)
    assert_accessible(page)


def test_d_late_submit_is_refused_and_draft_kept(
    page, open_rfp, proposer, password, assert_accessible
):
    proposal = ready_draft(open_rfp, proposer)
    sign_in(page, proposer.email, password)
    page.goto(f"/proposals/{proposal.pk}/submit/")
    expect(page.get_by_role("button", name="Submit proposal")).to_be_visible()
    # The deadline passes while the page is open.
    # (Two days back: "yesterday" in AoE can still be running, AoE being UTC-12.)
    open_rfp.deadline_date = timezone.now().date() - timedelta(days=2)
    compute_deadline(open_rfp)
    open_rfp.save()
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("alert")).to_contain_text("The deadline has passed")
    expect(page.get_by_role("alert")).to_contain_text("Your draft is kept")
    assert_accessible(page)
    page.goto(proposal.get_absolute_url())
    # Closed: the draft is kept and shown read-only, with nothing left to edit.
    expect(page.locator("main")).to_contain_text(complete_answers(open_rfp)["team"])
    expect(page.get_by_role("button", name="Save draft")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("can no longer be submitted")
    assert not proposal.versions.exists()


def test_e_staff_extend_deadline_by_addendum_and_proposer_acknowledges(
    page, browser, live_server, open_rfp, proposer, staff, password, assert_accessible
):
    proposal = ready_draft(open_rfp, proposer)
    old_date = open_rfp.deadline_date
    sign_in(page, staff.email, password, code=totp_code())
    page.get_by_role("link", name="Staff").click()
    page.get_by_role("link", name=f"Addendum {open_rfp.title}").click()
    assert_accessible(page)
    page.get_by_label("What changed and why").fill("Extended by one week after questions.")
    page.get_by_label("Deadline date").fill((old_date + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Publish addendum").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Addendum 1")
    expect(page.locator("main")).to_contain_text("The deadline has moved")
    assert_accessible(page)
    open_rfp.refresh_from_db()
    assert open_rfp.deadline_date == old_date + timedelta(days=7)
    assert any(proposer.email in m.to for m in mail.outbox)

    other = browser.new_context(base_url=live_server.url, timezone_id="America/New_York")
    proposer_page = other.new_page()
    sign_in(proposer_page, proposer.email, password)
    proposer_page.goto(f"/proposals/{proposal.pk}/submit/")
    pending = proposer_page.locator(".addenda-pending")
    expect(pending).to_contain_text("Addendum 1")
    proposer_page.get_by_role("button", name="Submit proposal").click()
    expect(proposer_page.get_by_role("alert")).to_contain_text("acknowledge each addendum")
    assert_accessible(proposer_page)
    proposer_page.get_by_role("button", name="I have read addendum 1").click()
    proposer_page.get_by_role("button", name="Submit proposal").click()
    expect(proposer_page.get_by_role("heading", level=1)).to_have_text(
        "Proposal received: version 1"
    )
    proposer_page.goto(open_rfp.get_absolute_url())
    expect(proposer_page.locator("section.deadline")).to_contain_text(
        (old_date + timedelta(days=7)).strftime("%-d %B %Y")
    )
    expect(proposer_page.locator("#addenda")).to_contain_text("deadline changed")
    assert_accessible(proposer_page)
    other.close()


def test_draft_autosaves_while_typing_and_a_later_save_is_not_stale(
    page, open_rfp, proposer, password
):
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Autosaved", now=timezone.now()
    )
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    page.get_by_label("The team").fill("Typed, never saved by hand.")
    expect(page.locator("#autosave-status")).to_contain_text(
        "Draft saved automatically", timeout=15_000
    )
    proposal.refresh_from_db()
    assert proposal.fields["team"] == "Typed, never saved by hand."
    # The form now carries the new edit count, so saving by hand is not "changed elsewhere".
    page.get_by_label("Similar projects").fill("And this.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Your draft has been saved.")
    proposal.refresh_from_db()
    assert proposal.fields["similar_projects"] == "And this."


def test_f_a_pdf_too_complex_to_check_is_refused_in_words_and_the_next_waits_a_minute(
    page, open_rfp, proposer, password, pdf_file, tmp_path, assert_accessible
):
    """Issue 13: a hostile PDF (an object-stream bomb) is refused within seconds, in words, with
    every answer kept; the account's next upload is not checked for a minute, and says so."""
    from tests.proposals.hostile_pdfs import objstm_bomb

    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(objstm_bomb())
    proposal = ready_draft(open_rfp, proposer, "Rival proposal", with_pdf=False)
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    page.get_by_label("The team").fill("Typed just before the upload.")
    page.get_by_label("Proposal document (PDF)").set_input_files(bomb)
    page.get_by_role("button", name="Save draft").click()
    error = page.locator("#id_document_error, .errorlist").first
    expect(page.locator("main")).to_contain_text("This PDF is too complex to check")
    expect(page.locator("main")).to_contain_text("Nothing was saved.")
    expect(page.get_by_label("The team")).to_have_value("Typed just before the upload.")
    expect(error).to_be_visible()
    assert_accessible(page)
    shots = Path(os.environ.get("LOOK_DIR", tmp_path))  # LOOK_DIR=/tmp/x keeps them to look at
    page.screenshot(path=str(shots / "too-complex.png"), full_page=True)

    page.get_by_label("Proposal document (PDF)").set_input_files(pdf_file)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("main")).to_contain_text("waits a minute before checking another one")
    expect(page.get_by_label("The team")).to_have_value("Typed just before the upload.")
    assert_accessible(page)
    page.screenshot(path=str(shots / "paused.png"), full_page=True)
    proposal.refresh_from_db()
    assert not proposal.document and not proposal.versions.exists()
