"""The RFP page on a phone (390 by 844) and on a 1280-pixel screen: the deadline and the call to
action are in the first screen, the scope table's Cap column is not cut off, and the page never
scrolls sideways (issue 15, point 6)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from proposals import submission
from tests.helpers.browser import ARTIFACTS
from tests.helpers.browser_sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def phone_page(browser, live_server):
    """A page in a phone's browser (390 by 844, touch), in Berlin and British English."""
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        timezone_id="Europe/Berlin",
        locale="en-GB",
        base_url=live_server.url,
    )
    yield context.new_page()
    context.close()


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def assert_in_first_screen(page, locator, what: str):
    """The element's box lies within the first screen of the page (scrolled to the top)."""
    height = page.viewport_size["height"]
    width = page.viewport_size["width"]
    found = box(locator)
    if not (found["y"] >= 0 and found["y"] + found["height"] <= height):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)  # what the first screen shows instead
        page.screenshot(path=ARTIFACTS / f"rfp-page-{width}px.png")
    assert found["y"] >= 0 and found["y"] + found["height"] <= height, (
        f"{what} is at {found['y']:.0f}-{found['y'] + found['height']:.0f} px, "
        f"below the first {height} px"
    )
    assert found["x"] >= 0 and found["x"] + found["width"] <= width, (
        f"{what} is cut off sideways ({found['x']:.0f}+{found['width']:.0f} px of {width})"
    )


def assert_deadline_in_first_screen(page):
    """The deadline, with the time left, heads the box that says how to take part; the panel
    with the deadline in every zone follows it."""
    deadline = page.locator(".take-part .take-part__deadline")
    expect(deadline.locator("time")).to_contain_text("AoE")
    expect(deadline).to_contain_text("left")
    assert_in_first_screen(page, deadline, "the deadline")


def assert_no_sideways_scroll(page):
    widths = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= page.viewport_size["width"], f"the page scrolls sideways: {widths}"


def assert_cap_column_reachable(page):
    """Every cell of the Cap column is inside the viewport's width, or inside a scroll region
    (keyboard-focusable and labelled) that reaches it."""
    table = page.locator("table.scope-table")
    header = table.get_by_role("columnheader", name="Cap")
    expect(header).to_be_visible()
    cells = table.locator("tbody tr:not(.scope-table__milestone) td:last-child")
    assert cells.count() > 0
    width = page.viewport_size["width"]
    for cell in [header, *cells.all()]:
        found = box(cell)
        if found["x"] + found["width"] <= width:
            continue
        region = page.evaluate(
            """(cell) => {
                const wrap = cell.closest('.table-wrap');
                if (!wrap) return null;
                const r = wrap.getBoundingClientRect();
                return {
                    scrolls: wrap.scrollWidth > wrap.clientWidth,
                    focusable: wrap.tabIndex >= 0,
                    labelled: !!(wrap.getAttribute('aria-labelledby')
                                 || wrap.getAttribute('aria-label')),
                    right: r.right,
                };
            }""",
            cell.element_handle(),
        )
        assert region and region["scrolls"] and region["focusable"] and region["labelled"], (
            f"the Cap column is cut off at {found['x']:.0f}+{found['width']:.0f} px of {width}"
        )
        assert region["right"] <= width


def test_on_a_phone_an_anonymous_visitor_sees_the_deadline_and_how_to_take_part_first(
    phone_page, open_rfp, assert_accessible
):
    page = phone_page
    page.goto(open_rfp.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(open_rfp.title)
    assert_deadline_in_first_screen(page)
    assert_in_first_screen(
        page, page.get_by_role("link", name="Sign in to propose"), "the call to action"
    )
    assert_no_sideways_scroll(page)
    assert_cap_column_reachable(page)
    assert_accessible(page)


def test_on_a_phone_a_proposer_sees_the_deadline_and_start_a_proposal_first(
    phone_page, open_rfp, proposer, password, assert_accessible
):
    page = phone_page
    sign_in(page, proposer.email, password)
    page.goto(open_rfp.get_absolute_url())
    assert_deadline_in_first_screen(page)
    assert_in_first_screen(
        page, page.get_by_role("button", name="Start a proposal"), "Start a proposal"
    )
    assert_no_sideways_scroll(page)
    assert_cap_column_reachable(page)
    assert_accessible(page)

    # With a draft, the same place continues it.
    submission.start_proposal(rfp=open_rfp, user=proposer, title="Phone draft", now=timezone.now())
    page.reload()
    assert_in_first_screen(
        page,
        page.get_by_role("link", name="Continue your proposal"),
        "Continue your proposal",
    )


def test_at_1280_pixels_the_deadline_and_the_call_to_action_stay_in_the_first_screen(
    page, open_rfp, proposer, password, assert_accessible
):
    page.set_viewport_size(DESKTOP)
    sign_in(page, proposer.email, password)
    page.goto(open_rfp.get_absolute_url())
    assert_deadline_in_first_screen(page)
    assert_in_first_screen(
        page, page.get_by_role("button", name="Start a proposal"), "Start a proposal"
    )
    # The panel with the deadline in every zone starts in the first screen too.
    assert_in_first_screen(page, page.locator("#deadline-heading"), "the deadline panel")
    # The aside is still the right-hand column, beside the title and the text.
    title, aside = box(page.locator("#rfp-title")), box(page.locator("aside.rfp-aside"))
    assert aside["x"] > title["x"] + title["width"] - 1 and aside["y"] < title["y"] + 200
    assert_no_sideways_scroll(page)
    assert_cap_column_reachable(page)
    assert_accessible(page)
