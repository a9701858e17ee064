"""The proposal's life as people see it in chromium, axe on every page: a proposer after the
decisions sees the decision first and nothing to edit; a reviewer after the review due date
sees the review read-only, with who can reopen it."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.helpers.browser_sign_in import sign_in
from tests.helpers.lifecycle import decisions_published, pass_review_due
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments, declare_no_conflict, save_review

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_proposer_after_the_decisions_sees_the_decision_first_and_nothing_to_edit(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    first, second = decisions_published(s, staff)

    sign_in(page, s["alpha_owner"].email, password)
    page.goto(reverse("my_proposals"))
    decisions = page.locator("section.decisions-lead")
    expect(decisions.get_by_role("heading", level=2)).to_have_text("Decisions")
    expect(decisions).to_contain_text("Selected")
    expect(decisions).to_contain_text(f"{first.name} (USD 8,000)")
    expect(page.locator("tbody")).not_to_contain_text("Submitted")
    assert_accessible(page)

    page.get_by_role("link", name="Alpha proposal", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alpha proposal")
    # The first heading after the title is the decision.
    expect(page.locator("main h2").first).to_have_text("Decision: Selected")
    expect(page.locator(".stage-card")).to_contain_text(f"{second.name}: USD 5,000")
    for name in ("Save draft", "Save and submit now", "Save and review before submitting"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.locator("input[type=file], textarea, #proposal-form")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("Only your team can read it")
    expect(page.locator("main")).to_contain_text("Two maintainers with ten years")
    assert_accessible(page)

    page.get_by_role("link", name="Read the decision and debrief").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Decision and debrief")
    assert_accessible(page)


def test_a_reviewer_after_the_due_date_sees_the_review_read_only(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    assignment = s["assign"](s["alpha"], reviewer, staff)
    open_now(s["rfp"])
    declare_no_conflict(assignment, reviewer)
    save_review(
        assignment, reviewer, assessments(s["rfp"]), submit=True, comment="A credible team."
    )
    pass_review_due(s["rfp"])

    sign_in(page, reviewer.email, password, code=totp_code())
    page.get_by_role("link", name="Reviews").click()
    expect(page.locator("tbody")).to_contain_text("closed: submitted")
    assert_accessible(page)
    page.get_by_role("link", name="Alpha proposal").click()
    review = page.locator(".review-form")
    expect(review).to_contain_text("Reviews closed at their due date")
    expect(review).to_contain_text("Only the foundation's staff can reopen a review")
    expect(review).to_contain_text("A credible team.")
    expect(review.get_by_role("radio")).to_have_count(0)
    expect(review.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("review|Save draft"))).to_have_count(0)
    assert_accessible(page)
