"""The visitor's own zone line that portal.js writes reads exactly like the server's lines, in
the page's language: "Wednesday 16 December 2026, 21:00 Asia/Tokyo (UTC+09:00)", not the
browser's "Wednesday, December 16, 2026 at 21:00 GMT+9"."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from playwright.sync_api import expect

from rfp_portal import deadlines
from tests.factories import RFPFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visitor(browser, live_server):
    """A page in a browser of the given zone and page language, that has not yet told the
    portal its zone."""
    contexts = []

    def open_page(zone: str, language: str):
        context = browser.new_context(
            viewport={"width": 1280, "height": 900},
            timezone_id=zone,
            locale="en-US",  # the browser's own format is US-style: the page must not use it
            base_url=live_server.url,
        )
        context.add_cookies(
            [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Wednesday 16 December 2026, 21:00 Asia/Tokyo (UTC+09:00)"),
        ("es", "miércoles 16 de diciembre de 2026, 21:00 Asia/Tokyo (UTC+09:00)"),
    ],
)
def test_the_local_line_reads_like_the_servers_in_the_pages_language(
    visitor, assert_accessible, language, expected
):
    # End of day 15 December AoE is 12:00 UTC on the 16th: 21:00 in Tokyo.
    rfp = RFPFactory(deadline_date=date(2026, 12, 15), title="Tokyo check")
    page = visitor("Asia/Tokyo", language)
    page.goto(rfp.get_absolute_url())
    local = page.locator("[data-local-time]")
    expect(local).to_be_visible()
    expect(local.locator("[data-local-text]")).to_have_text(expected)
    expect(local.locator("dt")).to_contain_text("(Asia/Tokyo)")
    assert_accessible(page)

    # Reloaded, the server knows the zone (portal.js set the cookie) and writes the same line.
    page.reload()
    expect(page.locator("[data-local-time]")).to_have_count(0)
    expect(page.locator(".deadline__zones")).to_contain_text(expected)

    # The RFP's card on the home page, in a browser the portal does not know yet.
    page = visitor("Asia/Tokyo", language)
    page.goto("/")
    card = page.locator(".rfp-card", has_text="Tokyo check").locator("[data-local-inline]")
    expect(card).to_have_text(f"= {expected}")


def test_an_end_of_day_deadline_in_the_visitors_zone_reads_as_end_of_day(visitor):
    # End of day 16 December in Berlin, seen from Berlin without the server knowing the zone:
    # the line is the RFP's own, so portal.js adds no second one.
    rfp = RFPFactory(
        deadline_zone="Europe/Berlin",
        deadline_date=date(2026, 12, 16),
        deadline_instant=deadlines.deadline_instant(date(2026, 12, 16), "Europe/Berlin"),
    )
    page = visitor("Europe/Berlin", "en")
    page.goto(rfp.get_absolute_url())
    expect(page.locator(".deadline__zones")).to_contain_text(
        "Wednesday 16 December 2026, end of day (24:00) Europe/Berlin (UTC+01:00)"
    )
    expect(page.locator("[data-local-time]")).to_be_hidden()

    # Seen from New York, the Berlin deadline is 18:00 there, written as the server would.
    page = visitor("America/New_York", "en")
    page.goto(rfp.get_absolute_url())
    expect(page.locator("[data-local-text]")).to_have_text(
        f"Wednesday 16 December 2026, 18:00 America/New_York (UTC{deadlines.MINUS_SIGN}05:00)"
    )
