"""Journeys of the foundation in headless chromium, each page checked with axe-core."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from evaluation import demo as whole_demo
from proposals.models import RFP
from rfp_portal import deadlines, permissions
from rfp_portal.models import User
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_data():
    from django.utils import timezone

    whole_demo.load_demo(now=timezone.now())


def test_visitor_reads_home_and_rfp_page_with_deadline_in_aoe_utc_and_local_time(
    page, demo_data, assert_accessible
):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests for Proposals")
    open_section = page.locator("section", has=page.locator("#open-heading"))
    expect(open_section.get_by_role("link", name="PyPI Advanced Security, Q4 2019")).to_be_visible()
    past_section = page.locator("section", has=page.locator("#past-heading"))
    expect(
        past_section.get_by_role("link", name="PyPI Security and Accessibility, Q1 2019")
    ).to_be_visible()
    # Each card gives the deadline in AoE, UTC and the visitor's own zone.
    expect(past_section.locator(".rfp-card__deadline")).to_contain_text("AoE")
    expect(past_section.locator(".rfp-card__deadline")).to_contain_text("12:00 UTC")
    expect(past_section.locator(".rfp-card__deadline")).to_contain_text(
        "Friday 1 February 2019, 13:00 Europe/Berlin (UTC+01:00)"
    )
    assert_accessible(page)

    past_section.get_by_role("link", name="PyPI Security and Accessibility, Q1 2019").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "PyPI Security and Accessibility, Q1 2019"
    )
    panel = page.locator("section.deadline")
    expect(panel).to_contain_text(
        "Thursday 31 January 2019, end of day (24:00) AoE (UTC\u221212:00)"
    )
    expect(panel).to_contain_text("Friday 1 February 2019, 12:00 UTC")
    # The browser runs in Europe/Berlin: portal.js told the portal its zone on the home page, so
    # the server writes the deadline in it like the other lines (tests/browser/test_local_time.py
    # checks the line portal.js writes before the portal knows the zone).
    expect(panel.locator("[data-local-time]")).to_have_count(0)
    expect(panel).to_contain_text("Your time (Europe/Berlin)")
    expect(panel).to_contain_text("Friday 1 February 2019, 13:00 Europe/Berlin (UTC+01:00)")
    expect(panel.locator(".countdown")).to_contain_text("Closed")
    expect(page.get_by_role("table")).to_contain_text("Multi-Factor Auth")
    expect(page.locator("#criteria")).to_contain_text("Experience and competency")
    assert_accessible(page)

    # Reloaded, the server knows the zone (portal.js set the cookie) and writes it itself.
    page.reload()
    expect(panel).to_contain_text("Your time (Europe/Berlin)")

    page.goto(RFP.objects.get(slug="pypi-2019-q4").get_absolute_url())
    open_rfp = RFP.objects.get(slug="pypi-2019-q4")
    expect(page.locator("section.deadline")).to_contain_text(
        deadlines.format_deadline(open_rfp.deadline_instant, "AoE")
    )
    # The deadline date is 14 days ahead; its end of day AoE is 14 to 15.5 days away.
    expect(page.locator(".countdown__text")).to_contain_text(re.compile(r"1[45] days"))
    assert_accessible(page)


def test_new_proposer_signs_up_follows_mail_link_and_signs_in(page, assert_accessible):
    page.goto("/")
    page.get_by_role("link", name="Create account").click()
    assert_accessible(page)
    page.get_by_label("Email").fill("ada@example.net")
    page.get_by_label("Full name").fill("Ada Example")
    page.get_by_label("Password", exact=True).fill("Correct-Horse-Battery-9")
    page.get_by_label("Password (again)").fill("Correct-Horse-Battery-9")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    assert_accessible(page)

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    assert_accessible(page)
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("confirmed")
    user = User.objects.get(email="ada@example.net")
    assert user.emailaddress_set.get().verified
    assert permissions.has_role(user, permissions.Role.PROPOSER)

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").click()
    assert_accessible(page)
    page.get_by_label("Email").fill("ada@example.net")
    page.get_by_label("Password").fill("Correct-Horse-Battery-9")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name=re.compile("Account"))).to_be_visible()
    page.get_by_role("link", name=re.compile("Account")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert_accessible(page)


def test_staff_signs_in_with_totp_and_reaches_staff_pages(page, staff, password, assert_accessible):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    assert_accessible(page)
    page.get_by_label("Code").fill(totp_code())
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff overview")
    assert_accessible(page)
    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page).to_have_title(re.compile("RFP Portal admin"))


def test_reviewer_without_mfa_is_sent_to_set_it_up_then_gets_in(
    page, reviewer_without_mfa, password, assert_accessible
):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(reviewer_without_mfa.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Reviews").click()
    expect(page.locator(".messages")).to_contain_text("two-factor authentication")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    assert_accessible(page)
    page.get_by_role("link", name="Activate").first.click()
    # allauth asks for the password again before a security change ("Confirm Access").
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Access")
    assert_accessible(page)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    assert_accessible(page)
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    page.goto("/review/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your review queue")
    assert_accessible(page)
