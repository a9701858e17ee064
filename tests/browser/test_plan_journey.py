"""The funding plan in headless chromium (issue 17, "Done means"): staff compute a plan, lock one
proposal, solve again, adopt the plan after its confirmation, then publish the decisions through
the usual confirmation; a lottery among the band is committed and drawn. axe on every page."""

import re

import pytest
from playwright.sync_api import expect

from evaluation import decisions
from evaluation.models import Decision
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.lifecycle import pass_deadline
from tests.helpers.mfa import totp_code
from tests.helpers.reviews import submit_reviews

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def reviewed_then_follow(page, s, staff, password, *, start, link, heading):
    """The RFP opened with Alpha scored 5 and 2 (Overall 3.5) and Beta 4 and 2 (Overall 3);
    staff signed in (second factor included) on the evaluation page at `start` follow `link` to
    the page headed `heading`."""
    pass_deadline(s["rfp"])
    submit_reviews(s, staff, {s["alpha"]: (5, 2), s["beta"]: (4, 2)})
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/{start}")
    page.get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def in_plan(page, title):
    return page.locator("tr[data-plan-row]").filter(has_text=title)


def test_staff_compute_lock_adopt_and_publish_a_plan(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    reviewed_then_follow(
        page, s, staff, password, start="", link="Funding plan", heading="Funding plan"
    )
    expect(in_plan(page, "Alpha proposal")).to_contain_text("funded")
    expect(in_plan(page, "Beta proposal")).to_contain_text("not funded")
    assert_accessible(page)

    # Lock Beta and solve again: Beta takes every feature.
    page.get_by_label("Lock Beta proposal").check()
    page.get_by_role("button", name="Solve again").click()
    expect(in_plan(page, "Beta proposal").get_by_role("strong")).to_have_text("funded")
    expect(in_plan(page, "Alpha proposal")).to_contain_text("not funded")
    expect(page.get_by_label("Lock Beta proposal")).to_be_checked()
    assert_accessible(page)

    page.get_by_role("link", name="Adopt this plan…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adopt the funding plan")
    expect(page.locator("tr[data-draft]").filter(has_text="Beta proposal")).to_contain_text(
        "Selected in the funding plan"
    )
    assert_accessible(page)
    assert not Decision.objects.exists()
    page.get_by_label("Fill in these draft decisions").check()
    page.get_by_role("button", name="Adopt the plan").click()
    expect(page.locator(".messages")).to_contain_text(
        "Plan adopted as draft decisions: 1 selected, 1 not selected."
    )
    assert Decision.objects.get(proposal=s["beta"]).outcome == "selected"
    assert Decision.objects.get(proposal=s["alpha"]).outcome == "not_selected"
    event = AuditEvent.objects.get(action=AuditAction.PLAN_ADOPTED)
    assert event.details["locked"] == [s["beta"].pk]
    assert not decisions.is_published(s["rfp"])

    page.get_by_role("link", name="Publish all decisions…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish all decisions")
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name=re.compile("^Publish and e-mail")).click()
    expect(page.locator(".messages")).to_contain_text("Decisions published")
    assert decisions.is_published(s["rfp"])


def test_staff_draw_a_lottery_among_the_band(
    page, evaluation_setup, staff, password, assert_accessible
):
    reviewed_then_follow(
        page,
        evaluation_setup,
        staff,
        password,
        start="plan/",
        link="Draw a lottery among the band…",
        heading="Lottery at the funding line",
    )
    assert_accessible(page)
    page.get_by_role("button", name="Commit the seed").click()
    expect(page.locator("[data-commitment]")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    expect(page.locator("[data-seed]")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Draw").click()
    expect(page.locator("[data-seed]")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    assert_accessible(page)
    page.get_by_role("link", name="Lock the chosen and solve again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Funding plan")
    expect(page.locator("[data-lottery]")).to_contain_text("drawn")
    assert_accessible(page)
