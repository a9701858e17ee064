"""Issue 18, signed receipts, in headless chromium: the proposer submits and downloads the
signed receipt (.json); a stranger, signed in as nobody, checks it on /verify/ (alone and with
the PDF), sees the RFP and the times written for people and nothing about the team or the
proposal; a changed file, a file that is not JSON and a file too large are refused in words,
and the form keeps working. axe runs on the receipt page and on every result. The last test
does the same without JavaScript.

/verify/ allows 10 posts a minute per address (rfp_portal.settings RATELIMITS), and every test
starts with an empty cache: each test stays under it."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from proposals import receipt_signing, submission
from proposals.models import ReceiptSignature
from rfp_portal import deadlines
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.proposals import complete_answers, ready_draft
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Heron Labs: signed uploads"
VALID = "Valid: the portal signed this receipt, and nothing in it was changed."
NOT_VALID = "Not valid: this is not a genuine signed receipt of this portal."
RECEIPT_FILE = "Or the signed receipt file (.json)"
PDF_FILE = "The PDF you submitted (optional)"
# A timestamp as a machine writes it (2026-12-01T21:05:07, 2026-12-01 21:05): never for people.
RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@pytest.fixture
def pdf_file(tmp_path):
    path = tmp_path / "heron-proposal.pdf"
    path.write_bytes(make_pdf(3))
    return path


def _verify(page, receipt=None, pdf=None):
    """Post /verify/'s form with the given files (the page is already on /verify/)."""
    if receipt is not None:
        page.get_by_label(RECEIPT_FILE).set_input_files(receipt)
    if pdf is not None:
        page.get_by_label(PDF_FILE).set_input_files(pdf)
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify a receipt")


def _assert_no_python_error(page):
    """No Python error text (json's or the UTF-8 codec's) reaches the page."""
    main = page.locator("main").inner_text()
    for technical in ("Expecting value", "line 1 column", "(char ", "codec", "can't decode"):
        assert technical not in main, f"Python's error text on /verify/: {technical!r}"


def _assert_for_people(page, proposal, proposer):
    """What a valid result shows is the RFP and the times; never the team or the proposal,
    never a raw timestamp."""
    main = page.locator("main").inner_text()
    assert not RAW_ISO.search(main), f"a raw timestamp on /verify/: {RAW_ISO.search(main)[0]}"
    for private in (
        proposal.title,
        complete_answers(proposal.rfp)["team"],
        proposer.email,
        proposer.full_name,
        proposer.organisation,
    ):
        if private:
            assert private not in main, f"/verify/ shows {private!r}"


def _write(path, document: dict):
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def _signed_file(tmp_path, proposal, name="receipt.json"):
    signature = ReceiptSignature.objects.get(version__proposal=proposal)
    path = tmp_path / name
    path.write_bytes(receipt_signing.receipt_file_bytes(signature))
    return path


def test_a_proposer_downloads_the_signed_receipt_and_a_stranger_verifies_it(
    page, stranger, open_rfp, proposer, password, pdf_file, tmp_path, assert_accessible
):
    proposal = ready_draft(open_rfp, proposer, TITLE, with_pdf=False)
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    page.get_by_label("Proposal document (PDF)").set_input_files(pdf_file)
    page.get_by_role("button", name="Save and submit now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    code = page.locator(".receipt__code").first.inner_text()
    version = proposal.versions.get()
    assert code == version.receipt_code
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed receipt (.json)").click()
    assert download.value.suggested_filename == f"receipt-{code}.json"
    receipt = tmp_path / download.value.suggested_filename
    download.value.save_as(receipt)
    kept = json.loads(receipt.read_text())
    assert kept["format"] == receipt_signing.FILE_FORMAT
    assert kept["statement"]["receipt_code"] == code
    assert kept["statement"]["rfp_title"] == open_rfp.title
    assert kept["statement"]["version"] == 1
    # The pseudonymous proposal id names neither the proposal's key nor its team.
    assert TITLE not in receipt.read_text() and proposer.email not in receipt.read_text()
    assert str(proposal.pk) != kept["statement"]["proposal"]

    # A stranger (another browser, nobody signed in) checks the file alone...
    stranger.goto("/")
    stranger.get_by_role("link", name="Verify a receipt").click()
    _verify(stranger, receipt=receipt)
    result = stranger.locator(".verify-result")
    expect(result).to_contain_text(VALID)
    expect(result).to_contain_text(open_rfp.title)
    expect(result).to_contain_text(code)
    expect(result).to_contain_text("version 1")
    # The received time for people, in UTC and in the RFP's deadline zone, and the deadline.
    expect(result).to_contain_text(deadlines.format_in_zone(version.received_at, "UTC").text)
    expect(result).to_contain_text(
        deadlines.format_in_zone(version.received_at, open_rfp.deadline_zone).text
    )
    expect(result).to_contain_text(
        deadlines.format_deadline(open_rfp.deadline_instant, open_rfp.deadline_zone)
    )
    expect(result).not_to_contain_text("The file matches")  # no PDF given, nothing said of it
    _assert_for_people(stranger, proposal, proposer)
    assert_accessible(stranger)

    # ...then with the PDF that was submitted, and with another PDF.
    _verify(stranger, receipt=receipt, pdf=pdf_file)
    expect(result).to_contain_text(VALID)
    expect(result).to_contain_text("The file matches the PDF named in the receipt exactly.")
    _assert_for_people(stranger, proposal, proposer)
    assert_accessible(stranger)
    other_pdf = tmp_path / "another.pdf"
    other_pdf.write_bytes(make_pdf(4))
    _verify(stranger, receipt=receipt, pdf=other_pdf)
    expect(result).to_contain_text(VALID)  # the receipt is genuine; the PDF is not the one
    expect(result).to_contain_text("The file does NOT match the PDF named in the receipt.")
    assert_accessible(stranger)

    # One character of the readable statement's receipt code changed: refused, and why.
    tampered = json.loads(receipt.read_text())
    last = tampered["statement"]["receipt_code"][-1]
    tampered["statement"]["receipt_code"] = code[:-1] + ("A" if last != "A" else "B")
    _verify(stranger, receipt=_write(tmp_path / "tampered.json", tampered))
    expect(result).to_contain_text(NOT_VALID)
    expect(result).to_contain_text("The readable statement does not match the signed bytes")
    expect(result).not_to_contain_text(VALID)
    expect(result).not_to_contain_text(open_rfp.title)
    assert_accessible(stranger)

    # A forger who changes the signed bytes too (and the readable copy to match) is caught by
    # the signature.
    forged = json.loads(receipt.read_text())
    forged["statement"]["receipt_code"] = tampered["statement"]["receipt_code"]
    forged["signed_bytes_base64"] = base64.b64encode(
        receipt_signing.canonical(forged["statement"])
    ).decode("ascii")
    _verify(stranger, receipt=_write(tmp_path / "forged.json", forged))
    expect(result).to_contain_text(NOT_VALID)
    expect(result).to_contain_text("The signature is not valid for this statement")
    assert_accessible(stranger)


def test_b_files_that_are_no_receipt_are_refused_in_words_and_the_form_keeps_working(
    page, open_rfp, proposer, tmp_path, assert_accessible
):
    proposal = ready_draft(open_rfp, proposer, TITLE)
    proposal.refresh_from_db()
    submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    )
    receipt = _signed_file(tmp_path, proposal)
    page.goto("/verify/")
    errors = page.locator("main")

    # A text file that is not JSON.
    notes = tmp_path / "notes.txt"
    notes.write_text("My receipt code is on the PDF.\n")
    _verify(page, receipt=notes)
    expect(page.locator(".verify-result")).to_contain_text(NOT_VALID)
    expect(page.locator(".verify-result")).to_contain_text(
        "This file cannot be read as a signed receipt"
    )
    _assert_no_python_error(page)
    assert_accessible(page)

    # A binary file that is neither JSON nor a PDF (a photo of the printed receipt).
    photo = tmp_path / "receipt.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    _verify(page, receipt=photo)
    expect(page.locator(".verify-result")).to_contain_text(
        "This file cannot be read as a signed receipt"
    )
    _assert_no_python_error(page)

    # The proposal's PDF put in the receipt's place by mistake: said so, and where it goes.
    pdf = tmp_path / "proposal.pdf"
    pdf.write_bytes(make_pdf(2))
    _verify(page, receipt=pdf)
    expect(page.locator(".verify-result")).to_contain_text(NOT_VALID)
    expect(page.locator(".verify-result")).to_contain_text(
        "This file is a PDF, not the signed receipt."
    )
    expect(page.locator(".verify-result")).to_contain_text(
        f"To check your PDF, add it in the field “{PDF_FILE}”"
    )
    _assert_no_python_error(page)
    assert_accessible(page)

    # A file larger than any receipt (receipt_signing.MAX_FILE_BYTES): refused before reading,
    # with that one error (not also "enter the receipt code"), and the code typed is kept.
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"padding": "x" * (receipt_signing.MAX_FILE_BYTES + 1)}))
    page.get_by_label("Receipt code").fill("R-ABCD-EFGH-JKMN")
    _verify(page, receipt=big)
    limit_kb = receipt_signing.MAX_FILE_BYTES // 1024
    expect(errors).to_contain_text(
        f"The file is larger than {limit_kb} KB: it is not a signed receipt."
    )
    expect(errors).not_to_contain_text("Enter the receipt code")
    # The error summary lists that one error, nothing else.
    expect(page.locator(".error-summary li")).to_have_count(1)
    expect(page.get_by_label("Receipt code")).to_have_value("R-ABCD-EFGH-JKMN")
    expect(page.locator(".verify-result")).to_have_count(0)
    assert_accessible(page)
    page.get_by_label("Receipt code").fill("")

    # Nothing lost: the same form, on the same page, checks the real receipt.
    _verify(page, receipt=receipt)
    expect(page.locator(".verify-result")).to_contain_text(VALID)
    expect(page.locator(".verify-result")).to_contain_text(open_rfp.title)
    expect(errors).not_to_contain_text("larger than")
    _assert_for_people(page, proposal, proposer)
    assert_accessible(page)


def test_c_without_javascript_the_receipt_is_downloaded_and_verified(
    no_script_page, open_rfp, proposer, password, tmp_path
):
    """The same journey with JavaScript off (axe cannot run without it: see
    test_no_javascript)."""
    page = no_script_page
    proposal = ready_draft(open_rfp, proposer, TITLE)
    proposal.refresh_from_db()
    submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    )
    version = proposal.versions.get()
    sign_in(page, proposer.email, password)
    page.goto(f"/proposals/{proposal.pk}/versions/1/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed receipt (.json)").click()
    receipt = tmp_path / "receipt.json"
    download.value.save_as(receipt)
    assert json.loads(receipt.read_text())["statement"]["receipt_code"] == version.receipt_code

    page.get_by_role("button", name="Sign out").click()
    page.goto("/verify/")
    _verify(page, receipt=receipt)
    result = page.locator(".verify-result")
    expect(result).to_contain_text(VALID)
    expect(result).to_contain_text(open_rfp.title)
    expect(result).to_contain_text(deadlines.format_in_zone(version.received_at, "UTC").text)
    _assert_for_people(page, proposal, proposer)

    tampered = json.loads(receipt.read_text())
    tampered["statement"]["version"] = 2
    _verify(page, receipt=_write(tmp_path / "tampered.json", tampered))
    expect(result).to_contain_text(NOT_VALID)
