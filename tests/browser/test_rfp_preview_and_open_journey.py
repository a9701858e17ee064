"""Staff preview a draft as visitors will see it (in English and Spanish, with its warnings) and
go on to Publish…; and open by hand an RFP whose cut-off has passed while the scheduler is late,
after the confirmation (issue 16)."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from proposals.models import RFP, Criterion, ProposalElement
from rfp_portal.models import AuditEvent
from tests.factories import (
    AssignmentFactory,
    CriterionFactory,
    ElementFactory,
    FeatureFactory,
    MilestoneFactory,
    ProposalFactory,
    RFPFactory,
)
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_preview_a_draft_in_both_languages_then_publish(page, staff, password, assert_accessible):
    rfp = RFPFactory(
        status=RFP.Status.DRAFT,
        published_at=None,
        title="Draft to preview",
        deadline_date=date.today() + timedelta(days=5),
    )
    milestone = MilestoneFactory(rfp=rfp, name="The work")
    FeatureFactory(milestone=milestone, name="Unpaid part", budget=Decimal(0), cap=Decimal(10))
    FeatureFactory(milestone=milestone, name="Paid part")
    ElementFactory(rfp=rfp, kind=ProposalElement.Kind.TEXT, label="The team")
    CriterionFactory(rfp=rfp, kind=Criterion.Kind.SCORED, name="Quality", questions=[])
    sign_in(page, staff.email, password, code=totp_code())

    page.goto("/staff/")
    page.get_by_role("link", name="Preview Draft to preview").click()
    banner = page.get_by_role("region", name="Preview: this is how visitors will see this RFP")
    expect(banner).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Draft to preview")
    # The time left, and the warnings, each saying how to fix it, linked to its step.
    expect(banner).to_contain_text("left")
    warnings = banner.get_by_role("list", name="4 things to check before publishing")
    expect(warnings).to_contain_text(
        re.compile(r"Only \d+ days until the deadline; bidders usually need at least 14 days")
    )
    expect(warnings).to_contain_text("“Unpaid part” has a budget of 0")
    expect(warnings).to_contain_text("No proposal element asks for a PDF document")
    expect(warnings).to_contain_text("“Quality” has no guiding questions")
    expect(warnings.get_by_role("link", name="Fix it in “Criteria”")).to_have_attribute(
        "href", f"/staff/rfps/{rfp.slug}/edit/criteria/"
    )
    # As a signed-out visitor sees it once published.
    expect(page.get_by_role("link", name="Sign in to propose")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Draft: not visible to the public")
    assert_accessible(page)

    # In Spanish: the whole page, its language declared.
    page.get_by_role("link", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Alcance y presupuesto")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Scope and budget")).to_be_visible()

    # Publish…: the confirmation repeats what looks wrong, and publishes after "I understand".
    banner.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Publish “Draft to preview”")
    expect(page.locator("main")).to_contain_text("Allowed, but it looks wrong:")
    expect(page.locator("main")).to_contain_text("“Quality” has no guiding questions")
    assert_accessible(page)
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Publish and e-mail").click()
    expect(page.locator("body")).to_contain_text("is published")
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.PUBLISHED


def test_open_by_hand_after_the_cutoff(page, staff, password, assert_accessible):
    rfp = RFPFactory(
        title="Late scheduler",
        deadline_date=date.today() - timedelta(days=1),
        deadline_zone="UTC",
    )
    AssignmentFactory(proposal=ProposalFactory(rfp=rfp, submitted=True))
    waiting = RFPFactory(title="Still sealed")  # before its cut-off: nothing to open
    sign_in(page, staff.email, password, code=totp_code())

    page.goto("/staff/")
    expect(page.get_by_role("link", name="Open now… Still sealed")).to_have_count(0)
    page.get_by_role("link", name="Open now… Late scheduler").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Open the proposals of “Late scheduler”"
    )
    expect(page.locator("main")).to_contain_text("1 submitted proposal becomes readable")
    expect(page.locator("main")).to_contain_text("Reviewers assigned before opening are e-mailed")
    expect(page.locator("main")).to_contain_text("cannot be undone")
    assert_accessible(page)

    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Open the proposals now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff overview")
    expect(page.locator(".messages")).to_contain_text("“Late scheduler” is opened")
    expect(page.get_by_role("link", name="Open now… Late scheduler")).to_have_count(0)
    assert_accessible(page)
    rfp.refresh_from_db()
    assert rfp.opened_at is not None
    event = AuditEvent.objects.get(action="rfp.opened")
    assert event.actor == staff and event.details == {"submitted": 1, "by_hand": True}

    # The RFP before its cut-off: the page explains, and offers no button.
    page.goto(f"/staff/rfps/{waiting.slug}/open/")
    expect(page.locator("main")).to_contain_text("Proposals are sealed until")
    expect(page.get_by_role("button", name="Open the proposals now")).to_have_count(0)
    assert_accessible(page)
