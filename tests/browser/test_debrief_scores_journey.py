"""Calibrated scores in the debriefs, in chromium (issue 17, point 1): staff open the publish
page of an RFP whose calibration is usable, choose calibrated scores and publish; the proposer
signs in and the debrief says its scores are calibrated and shows the calibrated Overall, with
a worked sum that ends on it. axe on every page."""

import re

import pytest
from playwright.sync_api import expect

from evaluation import calibration, decisions
from evaluation.models import DecisionRelease
from tests.evaluation.test_debrief_scores import biased_reviews
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.lifecycle import decide
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_choose_calibrated_scores_and_the_proposer_reads_them(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    proposals = biased_reviews(s, staff)
    for proposal in proposals:
        decide(proposal, staff)
    beta = proposals[1]
    result = calibration.calibrate_rfp(s["rfp"])
    assert result.usable, result.message
    mine = result.proposals[beta.pk]
    assert mine.overall_points() != mine.raw_points()

    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/dashboard/")
    page.get_by_role("link", name="Publish all decisions…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish all decisions")
    scores = page.get_by_role("group", name="Scores in the teams' debriefs")
    raw = scores.get_by_role("radio", name=re.compile("^Raw:"))
    calibrated = scores.get_by_role("radio", name=re.compile("^Calibrated:"))
    expect(raw).to_be_checked()
    expect(calibrated).not_to_be_checked()
    expect(scores).to_contain_text("shows no reviewer's leniency or name")
    assert_accessible(page)

    calibrated.check()
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name=re.compile("^Publish and e-mail")).click()
    expect(page.locator(".messages")).to_contain_text("Decisions published")
    assert decisions.is_published(s["rfp"])
    assert DecisionRelease.objects.get(rfp=s["rfp"]).debrief_scores == "calibrated"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    sign_in(page, beta.owner.email, password)
    page.goto(f"/proposals/{beta.pk}/decision/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Decision and debrief")
    table = page.get_by_role("table", name="Your calibrated scores (on a scale of 0 to 5)")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Calibrated mean")).to_be_visible()
    expect(table.locator("tfoot td").first).to_have_text(str(mine.overall_points()))
    expect(page.locator("[data-debrief-scores]")).to_have_text(
        re.compile(r"^These are calibrated scores: each reviewer's general leniency or severity")
    )
    expect(page.locator("#overall-definition")).to_contain_text(f"= {mine.overall_points()}.")
    expect(page.locator("main")).not_to_contain_text(str(mine.raw_points()))
    for reviewer in s["reviewers"]:
        expect(page.locator("main")).not_to_contain_text(reviewer.email)
    assert_accessible(page)
