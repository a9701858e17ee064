"""Issue 18, the transparency log, in headless chromium: a proposer submits and downloads the
signed receipt (.json); a stranger, signed in as nobody, goes from the site's footer to
/transparency/ and to the RFP's log (also reachable from the RFP page's key facts), sees the
history of signed heads written for people (size, root hash, time; no raw timestamps), checks
the receipt file there (it is leaf 0, under the latest head) and sees a changed file refused
in words. Staff then open the RFP after its deadline, and the log shows the final head. axe
runs on every page."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from proposals.models import TransparencyLog, TreeHead
from rfp_portal import deadlines
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.lifecycle import pass_deadline
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import ready_draft
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Heron Labs: logged uploads"
RECEIPT_FILE = "The signed receipt file (.json)"
# A timestamp as a machine writes it (2026-12-01T21:05:07, 2026-12-01 21:05): never for people.
RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _check(page, receipt):
    page.get_by_label(RECEIPT_FILE).set_input_files(receipt)
    page.get_by_role("button", name="Check the receipt").click()
    expect(page.get_by_role("heading", level=2, name="Result")).to_be_visible()


def _assert_for_people(page, proposal, proposer):
    main = page.locator("main").inner_text()
    assert not RAW_ISO.search(main), f"a raw timestamp on the log: {RAW_ISO.search(main)[0]}"
    for private in (proposal.title, proposer.email, proposer.full_name):
        if private:
            assert private not in main, f"the log shows {private!r}"


def test_a_receipt_is_found_in_the_log_and_the_final_head_is_shown(
    page, stranger, open_rfp, proposer, staff, password, tmp_path, assert_accessible
):
    # The proposer submits and keeps the signed receipt file.
    proposal = ready_draft(open_rfp, proposer, TITLE, with_pdf=False)
    pdf = tmp_path / "heron.pdf"
    pdf.write_bytes(make_pdf(2))
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    page.get_by_label("Proposal document (PDF)").set_input_files(pdf)
    page.get_by_role("button", name="Save and submit now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed receipt (.json)").click()
    receipt = tmp_path / download.value.suggested_filename
    download.value.save_as(receipt)
    kept = json.loads(receipt.read_text())
    assert kept["statement"]["log_index"] == 0
    assert kept["inclusion"]["leaf_index"] == 0

    # A stranger: from the footer to every RFP's log, then this RFP's.
    stranger.goto("/")
    stranger.locator("footer").get_by_role("link", name="Transparency log").click()
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Transparency log")
    expect(stranger.locator("main")).to_contain_text(
        "No timestamp authority is configured: tree heads carry the portal's own time"
    )
    logs = stranger.get_by_role("table", name="The log of each RFP")
    expect(logs.get_by_role("row", name=open_rfp.title)).to_contain_text("1 leaf")
    _assert_for_people(stranger, proposal, proposer)
    assert_accessible(stranger)

    logs.get_by_role("link", name=open_rfp.title).click()
    expect(stranger.get_by_role("heading", level=1)).to_have_text(
        f"Transparency log: {open_rfp.title}"
    )
    log = TransparencyLog.objects.get(rfp=open_rfp)
    head = TreeHead.objects.filter(log=log).order_by("-timestamp", "-pk").first()
    assert (head.tree_size, head.root_hash, head.final) == (1, log.root_hash, False)
    heads = stranger.get_by_role("table", name="Signed tree heads")
    rows = heads.locator("tbody tr")
    expect(rows).to_have_count(TreeHead.objects.filter(log=log).count())
    newest = rows.first
    expect(newest.locator("td").nth(0)).to_have_text("1")
    expect(newest).to_contain_text(log.root_hash)
    expect(newest).to_contain_text(deadlines.format_in_zone(head.timestamp, "UTC").text)
    expect(newest).not_to_contain_text("final")
    expect(stranger.locator("main")).to_contain_text(
        "Not yet: it is made, and mailed to every bidder, when the RFP opens."
    )
    _assert_for_people(stranger, proposal, proposer)
    assert_accessible(stranger)

    # The RFP's public page links to the same log.
    stranger.goto(open_rfp.get_absolute_url())
    stranger.get_by_role("link", name="Every receipt of this RFP, publicly logged").click()
    expect(stranger.get_by_role("heading", level=1)).to_have_text(
        f"Transparency log: {open_rfp.title}"
    )

    # The receipt file is in the log: leaf 0 under the latest signed head.
    _check(stranger, receipt)
    result = stranger.locator(".verify-result")
    expect(result).to_contain_text(
        "In the log: this receipt is leaf 0 of the 1 leaves under the latest signed head, and "
        "its signature is valid."
    )
    _assert_for_people(stranger, proposal, proposer)
    assert_accessible(stranger)

    # One character of the receipt code changed: refused, in words.
    tampered = json.loads(receipt.read_text())
    code = tampered["statement"]["receipt_code"]
    tampered["statement"]["receipt_code"] = code[:-1] + ("A" if code[-1] != "A" else "B")
    changed = tmp_path / "tampered.json"
    changed.write_text(json.dumps(tampered, indent=2, sort_keys=True) + "\n")
    _check(stranger, changed)
    expect(result).to_contain_text("Not shown to be in this log.")
    expect(result).not_to_contain_text("In the log:")
    assert result.locator("p").nth(1).inner_text().strip()  # the reason, in words
    assert_accessible(stranger)

    # The deadline passes; staff open the RFP by hand; the final head is shown as final.
    pass_deadline(open_rfp)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{open_rfp.slug}/open/")
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Open the proposals now").click()
    expect(page.locator(".messages")).to_contain_text(f"“{open_rfp.title}” is opened")
    final = TreeHead.objects.get(log=log, final=True)
    assert (final.tree_size, final.root_hash) == (1, log.root_hash)

    stranger.reload()
    expect(stranger.locator("main")).to_contain_text(
        "1 leaf, made when the RFP opened: the set of on-time submissions."
    )
    expect(stranger.get_by_role("link", name="The final head (JSON)")).to_have_attribute(
        "href", f"/transparency/{open_rfp.slug}/heads/{final.pk}/"
    )
    final_row = heads.locator("tbody tr").filter(has_text="final")
    expect(final_row).to_have_count(1)
    expect(final_row).to_contain_text(final.root_hash)
    expect(final_row).to_contain_text(deadlines.format_in_zone(final.timestamp, "UTC").text)
    _assert_for_people(stranger, proposal, proposer)
    assert_accessible(stranger)

    stranger.goto("/transparency/")
    expect(
        stranger.get_by_role("table", name="The log of each RFP").get_by_role(
            "row", name=open_rfp.title
        )
    ).to_contain_text("1 leaf")
    expect(stranger.get_by_role("link", name="1 leaf")).to_have_attribute(
        "href", f"/transparency/{open_rfp.slug}/heads/{final.pk}/"
    )
    assert_accessible(stranger)
