"""Deliberate acts in headless chromium (issue 16): a hand assignment with a likely conflict is
confirmed on a page of its own; the preliminary status and the decisions are sent from
confirmation pages that say how many people are mailed. axe on every page."""

import re

import pytest
from playwright.sync_api import expect

from evaluation import decisions
from evaluation.models import Assignment, PoolMember
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.lifecycle import decide
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import open_now
from tests.helpers.reviews import make_reviewer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_assign_a_reviewer_from_the_teams_domain_after_a_warning(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    open_now(s["rfp"])
    insider = make_reviewer("insider@alpha-team.example.io", "Elsewhere")
    PoolMember.objects.create(rfp=s["rfp"], user=insider)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/")
    assert_accessible(page)
    row = page.get_by_role("row").filter(has_text="Alpha proposal")
    row.get_by_label("Reviewer for Alpha proposal").select_option(
        label="insider@alpha-team.example.io (likely conflict)"
    )
    row.get_by_role("button", name="Assign").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("A likely conflict of interest")
    expect(page.get_by_role("alert")).to_contain_text(
        "insider@alpha-team.example.io shares the e-mail domain alpha-team.example.io with the "
        "team member alpha@alpha-team.example.io."
    )
    assert_accessible(page)
    assert not Assignment.objects.filter(reviewer=insider).exists()
    page.get_by_role("button", name="Assign all the same").click()

    expect(page.locator(".messages")).to_contain_text(
        "insider@alpha-team.example.io is assigned to Alpha proposal."
    )
    assert_accessible(page)
    assert Assignment.objects.filter(proposal=s["alpha"], reviewer=insider).exists()
    event = AuditEvent.objects.get(action=AuditAction.ASSIGNMENT_CONFLICT_CONFIRMED)
    assert "alpha-team.example.io" in event.details["reason"]


def test_staff_send_the_preliminary_status_and_publish_decisions_after_confirming(
    page, evaluation_setup, staff, password, assert_accessible
):
    s = evaluation_setup
    open_now(s["rfp"])
    decide(s["alpha"], staff)
    decide(s["beta"], staff)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/dashboard/")
    assert_accessible(page)

    page.get_by_label(re.compile("^Preliminary status")).fill("We decide next week.")
    page.get_by_role("button", name="Send preliminary status…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send preliminary status")
    expect(page.locator("main")).to_contain_text("2 people are e-mailed.")
    assert_accessible(page)
    assert not OutboxMessage.objects.filter(template="evaluation/email/preliminary").exists()
    page.get_by_role("button", name="Send to 2 people").click()
    expect(page.locator(".messages")).to_contain_text("Preliminary status sent; 2 e-mails queued.")

    page.get_by_role("link", name="Publish all decisions…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish all decisions")
    expect(page.locator("main")).to_contain_text("2 teams will be told their decisions.")
    expect(page.locator("main")).to_contain_text("Publishing cannot be undone.")
    assert_accessible(page)
    assert not decisions.is_published(s["rfp"])
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Publish and e-mail 2 people").click()
    expect(page.locator(".messages")).to_contain_text("Decisions published; 2 e-mails queued.")
    assert_accessible(page)
    assert OutboxMessage.objects.filter(template="evaluation/email/decision").count() == 2

    page.goto(f"/staff/rfps/{s['rfp'].slug}/evaluation/decisions/publish/")
    expect(page.locator("main")).to_contain_text("Decisions were published")
    expect(page.locator("main form")).to_have_count(0)
    assert_accessible(page)
