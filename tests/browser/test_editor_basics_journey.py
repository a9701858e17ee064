"""Staff write a new RFP's basics and deadline in the editor (issue 16): with JavaScript the body's
preview and the deadline's instant follow what is typed before anything is saved; without it the
"Preview the body" and "Show the deadline" buttons show the same, and saving works the same."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from proposals.editor_forms import MAX_BODY_BYTES
from proposals.models import RFP
from rfp_portal import deadlines
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_basics(page, *, slug: str) -> None:
    page.get_by_label("Title").fill("Packaging security, 2027")
    page.get_by_label("Slug").fill(slug)
    page.get_by_label("Funder").fill("Example Foundation")
    page.get_by_label("Issuer").fill("Python Software Foundation")
    page.get_by_label("Summary").fill("Harden the packaging toolchain.")
    page.get_by_label("Body (Markdown)").fill("## Scope\n\nSign **every** release.")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Total cap").fill("120000")


def test_new_rfp_basics_and_deadline_with_live_previews(page, staff, password, assert_accessible):
    sign_in(page, staff.email, password, code=totp_code())
    page.goto("/staff/")
    page.get_by_role("link", name="New RFP", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New RFP")
    assert_accessible(page)

    # The body's preview appears as it is typed, before anything is saved.
    fill_basics(page, slug="packaging-2027")
    preview = page.get_by_role("region", name="Preview of the body")
    expect(preview.get_by_role("heading", name="Scope")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("every")
    assert not RFP.objects.filter(slug="packaging-2027").exists()
    # Too long a body is refused, and the preview says why (an answer htmx would not swap).
    page.get_by_label("Body (Markdown)").fill("x" * (MAX_BODY_BYTES + 1))
    expect(preview).to_contain_text("at most 100 KB is allowed")
    page.get_by_label("Body (Markdown)").fill("Only *this* now.")
    expect(preview.locator("em")).to_have_text("this")
    assert_accessible(page)

    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=2, name="Deadline and rules")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    rfp = RFP.objects.get(slug="packaging-2027")
    assert rfp.status == RFP.Status.DRAFT and rfp.body_markdown == "Only *this* now."
    assert_accessible(page)

    # The deadline step: the panel follows the date, the zone and the time of day.
    panel = page.get_by_role("region", name="The deadline will be")
    day = timezone.now().date() + timedelta(days=45)
    page.get_by_label("Deadline date").fill(day.isoformat())
    aoe = deadlines.deadline_instant(day, "AoE")
    expect(panel).to_contain_text(deadlines.format_deadline(aoe, "AoE"))
    page.get_by_label("Time zone").select_option("America/New_York")
    new_york = deadlines.deadline_instant(day, "America/New_York")
    expect(panel).to_contain_text(deadlines.format_deadline(new_york, "America/New_York"))
    expect(panel).to_contain_text(deadlines.format_deadline(new_york, "Europe/Berlin"))
    expect(panel).to_contain_text("left")
    page.get_by_label("At a time of day").check()
    expect(panel).to_contain_text("Time of day")  # asks for the time before computing
    page.get_by_label("Time of day", exact=True).fill("17:00")
    at_five = deadlines.deadline_instant(day, "America/New_York", end_of_day=False, at=time(17))
    expect(panel).to_contain_text(deadlines.format_deadline(at_five, "America/New_York"))
    expect(panel).to_contain_text(deadlines.format_deadline(at_five, "UTC"))
    rfp.refresh_from_db()
    assert rfp.deadline_zone == "AoE"  # nothing saved yet
    assert_accessible(page)

    page.get_by_label("Grace period after the deadline (seconds)").fill("600")
    page.get_by_label("Maximum revisions").fill("2")
    page.get_by_label("Reviews due").fill((day + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    rfp.refresh_from_db()
    assert rfp.deadline_instant == at_five
    assert (rfp.deadline_zone, rfp.grace_seconds, rfp.max_revisions) == ("America/New_York", 600, 2)
    # The saved page shows the stored instant.
    expect(panel).to_contain_text(deadlines.format_deadline(at_five, "America/New_York"))

    # A deadline in the past is refused, saying when it would have been.
    page.get_by_label("Deadline date").fill((timezone.now().date() - timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("which has passed")
    assert_accessible(page)
    rfp.refresh_from_db()
    assert rfp.deadline_instant == at_five


def test_new_rfp_basics_and_deadline_without_javascript(no_script_page, staff, password):
    # axe-core is a script: it cannot run here (the same pages are checked above).
    page = no_script_page
    sign_in(page, staff.email, password, code=totp_code())
    page.goto("/staff/rfps/new/")
    fill_basics(page, slug="packaging-no-js")

    # "Preview the body" shows the page again with the preview; nothing is saved.
    page.get_by_role("button", name="Preview the body").click()
    preview = page.get_by_role("region", name="Preview of the body")
    expect(preview.locator("strong")).to_have_text("every")
    expect(page.get_by_label("Title")).to_have_value("Packaging security, 2027")
    assert not RFP.objects.filter(slug="packaging-no-js").exists()

    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=2, name="Deadline and rules")).to_be_visible()
    rfp = RFP.objects.get(slug="packaging-no-js")

    # "Show the deadline" computes the instant for the zone chosen; nothing is saved.
    day = timezone.now().date() + timedelta(days=30)
    page.get_by_label("Deadline date").fill(day.isoformat())
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Show the deadline").click()
    panel = page.get_by_role("region", name="The deadline will be")
    tokyo = deadlines.deadline_instant(day, "Asia/Tokyo")
    expect(panel).to_contain_text(deadlines.format_deadline(tokyo, "Asia/Tokyo"))
    expect(panel).to_contain_text(deadlines.format_deadline(tokyo, "UTC"))
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    rfp.refresh_from_db()
    assert rfp.deadline_zone == "AoE"

    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/staff/rfps/packaging-no-js/edit/timeline/$"))
    rfp.refresh_from_db()
    assert (rfp.deadline_zone, rfp.deadline_instant) == ("Asia/Tokyo", tokyo)
