"""The proposer's and the reviewer's journeys with JavaScript switched off.

Every form posts normally; htmx and portal.js are enhancements only. axe-core is not run here:
it is itself a script injected into the page, and with JavaScript disabled in the context it
cannot run (the same pages are checked with JavaScript on by the other journeys and the crawl).
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evaluation import services
from evaluation.models import Review
from proposals.models import Proposal
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import open_now
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(no_script_page):
    return no_script_page


def test_a_proposer_drafts_uploads_and_submits_without_javascript(
    page, open_rfp, proposer, password, tmp_path
):
    pdf_file = tmp_path / "no-js.pdf"
    pdf_file.write_bytes(make_pdf(4))
    sign_in(page, proposer.email, password)
    page.goto(open_rfp.get_absolute_url())
    # Without the script the countdown says when it was computed, and a form sets the zone.
    expect(page.locator(".countdown__asof")).to_be_visible()
    page.locator(".tz-picker summary").click()
    page.locator(".tz-picker select").select_option("America/New_York")
    page.get_by_role("button", name="Use this zone").click()
    expect(page.locator("section.deadline")).to_contain_text("America/New_York")

    page.get_by_label("A title for your proposal").fill("No-script Labs")
    page.get_by_role("button", name="Start a proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("No-script Labs")

    page.get_by_label("The team").fill("Two maintainers who browse without scripts.")
    page.get_by_label(re.compile("I agree")).check()
    for box in page.locator("input[type=checkbox][name=e_milestones]").all():
        box.check()
    page.get_by_label("Similar projects").fill("A static site generator.")
    for area in page.locator("textarea[name^=e_timeline__]").all():
        area.fill("Four weeks")
    for amount in page.locator("input[name^=e_budget__]").all():
        amount.fill("1000")
    page.get_by_label("Proposal document (PDF)").set_input_files(pdf_file)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Your draft has been saved.")
    # The budget check was refreshed by the save (and says so), and the PDF is in.
    # (Playwright's text matching skips <noscript>, which the page renders here; read the HTML.)
    assert "Save the draft to update the budget check." in page.content()
    expect(page.locator("#budget-check tbody")).to_contain_text("1,000")
    expect(page.locator(".element--pdf")).to_contain_text("4 pages")

    page.get_by_role("button", name="Save and review before submitting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    expect(page.locator("main")).to_contain_text("Every required part is there.")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    code = page.locator(".receipt__code").first.inner_text()
    assert re.fullmatch(r"R-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    proposal = Proposal.objects.get(title="No-script Labs")
    assert proposal.versions.get().receipt_code == code


def test_b_incomplete_submit_without_javascript_lists_what_is_missing(
    page, open_rfp, proposer, password
):
    sign_in(page, proposer.email, password)
    page.goto(open_rfp.get_absolute_url())
    page.get_by_label("A title for your proposal").fill("Half done")
    page.get_by_role("button", name="Start a proposal").click()
    page.get_by_role("button", name="Save and review before submitting").click()
    page.get_by_role("button", name="Submit proposal").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Not submitted")
    # Each missing part links to its field on the draft page, and the link works.
    summary.get_by_role("link", name="The team").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Half done")
    assert page.url.endswith("#id_e_team")


def test_c_reviewer_declares_scores_and_submits_without_javascript(
    page, evaluation_setup, staff, password
):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    services.assign(proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now())
    open_now(s["rfp"])
    sign_in(page, reviewer.email, password, code=totp_code())
    page.get_by_role("link", name="Reviews").click()
    page.get_by_role("link", name=f"Proposal #{s['alpha'].pk}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflict of interest")
    page.get_by_label("No conflict").check()
    page.get_by_role("button", name="Declare").click()
    expect(page.locator(".review-proposal")).to_contain_text("ten years of Python packaging")

    form = page.locator(".review-form")
    # Submitting with nothing chosen: the errors come back from the server, by criterion.
    page.get_by_role("button", name="Submit review").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose a score before submitting.")
    assert not Review.objects.filter(state="submitted").exists()

    for group in form.locator("fieldset.criterion-field").all():
        name = group.locator("legend").inner_text()
        if "pass or fail" in name:
            group.get_by_label("pass", exact=True).check()
        else:
            group.get_by_label(re.compile(r"^\s*4:")).check()
    page.get_by_label("Overall comment").fill("Reviewed without scripts.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft review saved.")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator(".messages")).to_contain_text("Your review has been submitted.")
    review = Review.objects.get(assignment__reviewer=reviewer)
    assert review.state == "submitted"
    assert review.overall_comment == "Reviewed without scripts."
