"""The funding plan in headless chromium (issue 17, "Done means"): staff compute a plan, lock one
proposal, solve again, adopt the plan after its confirmation, then publish the decisions through
the usual confirmation; a lottery among the band is committed and drawn. axe on every page."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evaluation import decisions, services
from evaluation.models import Decision
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.lifecycle import pass_deadline
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments, declare_no_conflict

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def reviewed(s, staff):
    """Opened; Alpha scored 5 and 2 (Overall 3.5), Beta 4 and 2 (Overall 3)."""
    rfp = s["rfp"]
    pass_deadline(rfp)
    open_now(rfp)
    for proposal, scores in ((s["alpha"], (5, 2)), (s["beta"], (4, 2))):
        for reviewer, score in zip(s["reviewers"][:2], scores, strict=True):
            assignment = services.assign(
                proposal=proposal, reviewer=reviewer, staff_user=staff, now=timezone.now()
            )
            declare_no_conflict(assignment, reviewer)
            services.save_review(
                assignment=assignment,
                user=reviewer,
                assessments=assessments(rfp, score),
                overall_comment="",
                submit=True,
                now=timezone.now(),
            )


def in_plan(page, title):
    return page.locator("tr[data-plan-row]").filter(has_text=title)


def test_staff_compute_lock_adopt_and_publish_a_plan(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    reviewed(s, staff)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/")
    page.get_by_role("link", name="Funding plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Funding plan")
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
    s = evaluation_setup
    reviewed(s, staff)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/plan/")
    page.get_by_role("link", name="Draw a lottery among the band…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lottery at the funding line")
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
