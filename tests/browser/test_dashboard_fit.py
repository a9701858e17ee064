"""The staff dashboard fits the screen (issue 15): at 1280 x 800 the ranking shows rank, title,
Overall, spread, flags, budget and decision without sideways scrolling, titles take two lines at
most, and the criterion columns come on demand; on a phone (390 px) the page itself never
scrolls sideways (the table may, inside its own region). axe on every state."""

import re

import pytest
from playwright.sync_api import expect

from proposals.models import Proposal
from tests.evaluation.test_overall_explained import scored_rfp
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALWAYS = ["Rank", "Proposal", "Overall", "Spread", "Flags", "Budget", "Decision"]
LONG_TITLE = (
    "Hardening the package index against dependency confusion, typosquatting and account "
    "takeover: signed uploads, two-factor enforcement for critical projects and an audit of "
    "the upload pipeline"
)

MEASURE = """() => {
  const table = document.querySelector('.ranking-table');
  const wrap = table.closest('.table-wrap');
  const link = [...table.querySelectorAll('tbody th[scope="row"] a')].find(
    (a) => a.textContent.startsWith('Hardening'));
  const style = getComputedStyle(link);
  const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
  return {
    tableWidth: table.scrollWidth,
    wrapScroll: wrap.scrollWidth,
    wrapClient: wrap.clientWidth,
    pageScroll: document.documentElement.scrollWidth,
    pageClient: document.documentElement.clientWidth,
    titleLines: link.getBoundingClientRect().height / line,
  };
}"""


def staff_signed_in(page, setup, staff, password, *, width, height):
    """The RFP of scored_rfp with Beta's title LONG_TITLE, and staff signed in on a screen of
    `width` by `height`; the RFP."""
    rfp = scored_rfp(setup, staff)
    Proposal.objects.filter(pk=setup["beta"].pk).update(title=LONG_TITLE)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, staff.email, password, code=totp_code())
    return rfp


def header_cell(page, name):
    return page.locator(".ranking-table thead th").filter(has_text=re.compile(rf"^{name}$"))


def test_the_ranking_fits_1280_pixels_and_criterion_columns_come_on_demand(
    page, evaluation_setup, staff, password, assert_accessible
):
    rfp = staff_signed_in(page, evaluation_setup, staff, password, width=1280, height=800)
    page.goto(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")

    fit = page.evaluate(MEASURE)
    assert fit["wrapScroll"] <= fit["wrapClient"], fit  # no sideways scrolling in the table
    assert fit["pageScroll"] <= fit["pageClient"], fit
    for name in ALWAYS:
        box = header_cell(page, name).bounding_box()
        assert box is not None, name
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (name, box)
    # A long title takes two lines at most; the whole title stays the link's name and tooltip.
    assert fit["titleLines"] <= 2.1, fit
    title_link = page.get_by_role("link", name=LONG_TITLE, exact=True)
    expect(title_link).to_have_attribute("title", LONG_TITLE)
    # The definition of Overall is on the page, and says how to see the criterion means.
    definition = page.locator("#overall-definition")
    expect(definition).to_contain_text("Overall is the weighted mean of the criterion means")
    expect(definition).to_contain_text("Tick \u201cCriterion means\u201d")
    expect(header_cell(page, "Median")).to_have_count(0)
    assert_accessible(page)

    # The criterion columns (with their weights) and the median, on demand; remembered in the
    # address, so a reload or a shared link shows the same columns.
    page.get_by_label("Criterion means").check()
    page.get_by_label("Median").check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"columns=criteria&columns=median"))
    for name in ("Experience and competency (\u00d72)", "Cost (\u00d71)", "Median"):
        expect(header_cell(page, re.escape(name))).to_be_visible()
    expect(page.get_by_label("Criterion means")).to_be_checked()
    expect(definition).not_to_contain_text("Tick \u201cCriterion means\u201d")
    # Wider now: the table may scroll inside its region, the page does not.
    fit = page.evaluate(MEASURE)
    assert fit["pageScroll"] <= fit["pageClient"], fit
    assert_accessible(page)


def test_the_dashboard_on_a_phone_scrolls_the_table_not_the_page(
    page, evaluation_setup, staff, password, assert_accessible
):
    rfp = staff_signed_in(page, evaluation_setup, staff, password, width=390, height=844)
    for query in ("", "?columns=criteria&columns=median&columns=reviews"):
        page.goto(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/{query}")
        fit = page.evaluate(MEASURE)
        assert fit["pageScroll"] <= fit["pageClient"], (query, fit)
        assert fit["titleLines"] <= 2.1, fit
        # The table's own region scrolls to its far side; Decision is reachable there.
        region = page.get_by_role("region", name=re.compile("Ranking"))
        region.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        box = header_cell(page, "Decision").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        expect(page.get_by_label("Criterion means")).to_be_visible()
        assert_accessible(page)
