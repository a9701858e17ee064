"""Staff read calibration and rank intervals on the demo's decided RFP (issue 17, points 1 and
2): the calibrated column beside the raw Overall, each reviewer's leniency, the picture of
expected ranks with the funding line, which staff move with a plain form; the ranking by the
calibrated Overall; the ranking still fits 1280 pixels; axe on every state."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evaluation import calibration
from evaluation import demo as whole_demo
from proposals import demo
from proposals.models import RFP
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIT = """() => {
  const table = document.querySelector('.ranking-table');
  const wrap = table.closest('.table-wrap');
  return {
    wrapScroll: wrap.scrollWidth, wrapClient: wrap.clientWidth,
    pageScroll: document.documentElement.scrollWidth,
    pageClient: document.documentElement.clientWidth,
  };
}"""


def header_cell(page, name):
    return page.locator(".ranking-table thead th").filter(has_text=re.compile(rf"^{name}$"))


def test_staff_read_calibrated_scores_leniency_and_move_the_funding_line(page, assert_accessible):
    whole_demo.load_demo(now=timezone.now())
    rfp = RFP.objects.get(slug="pypi-2019-q1")
    result = calibration.calibrate_rfp(rfp)
    assert result.usable, result.message
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "staff@example.org", demo.DEMO_PASSWORD, code=totp_code(demo.DEMO_TOTP_SECRET))
    page.goto(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")

    # The calibrated column beside the raw one, its header linking to what it means.
    expect(header_cell(page, "Calibrated")).to_be_visible()
    page.get_by_role("link", name="Calibrated", exact=True).click()
    expect(page.locator("#calibration-definition")).to_contain_text("leniency")
    if result.ridge == float("inf"):  # the demo's reviewers differ no more than they disagree
        expect(page.locator("#calibration-definition")).to_contain_text("nothing is taken out")
    fit = page.evaluate(FIT)
    assert fit["wrapScroll"] <= fit["wrapClient"], fit  # still no sideways scrolling
    assert fit["pageScroll"] <= fit["pageClient"], fit
    for name in ("Rank", "Overall", "Calibrated", "Likely rank", "Decision"):
        box = header_cell(page, name).bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280, (name, box)
    # Each reviewer's leniency, with its sentence.
    leniency = page.get_by_role("region", name="Estimated leniency per reviewer")
    expect(leniency).to_contain_text("reviewer@example.org")
    expect(leniency).to_contain_text(
        re.compile(r"Scores (in line with|[\d.]+ points (above|below))")
    )
    # Two proposals selected: the line is after place 2, drawn on the picture.
    picture = page.get_by_role(
        "img", name="Expected rank with its 80 % interval, and the funding line"
    )
    expect(picture).to_be_visible()
    expect(picture).to_contain_text("Funding line: 2 funded")
    expect(page.get_by_label("Places funded (the funding line)")).to_have_value("2")
    assert_accessible(page)

    # Staff move the line: a plain GET form, the page's other choices kept.
    page.get_by_label("Places funded (the funding line)").fill("1")
    page.get_by_role("button", name="Move the funding line").click()
    expect(page).to_have_url(re.compile(r"line=1"))
    expect(picture).to_contain_text("Funding line: 1 funded")
    section = page.locator("section.intervals")
    expect(section).to_contain_text("crosses the funding line after place 1")
    table = page.get_by_role(
        "region", name="Expected rank, 80 % interval and chance of a funded place"
    )
    expect(table).to_contain_text("of redraws")
    assert_accessible(page)

    # Rank by the calibrated Overall, and back.
    page.get_by_role("button", name="Rank by the calibrated Overall").click()
    expect(page).to_have_url(re.compile(r"sort=calibrated"))
    expect(header_cell(page, re.escape("Rank (calibrated)"))).to_be_visible()
    expect(page.get_by_label("Places funded (the funding line)")).to_have_value("1")
    assert_accessible(page)
    page.get_by_role("button", name="Rank by the raw Overall").click()
    expect(header_cell(page, "Rank")).to_be_visible()
