"""Playwright on Debian's chromium (never a downloaded browser), with axe-core checks."""

import os
import shutil

import pytest

from tests.helpers.browser import ARTIFACTS, WCAG_TAGS
from tests.helpers.required_services import require_or_skip

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        require_or_skip(f"chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed")
    with sync_playwright() as playwright:
        # launch() gives every run a fresh temporary profile (user-data dir) of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


def _page(browser, live_server, request, **options):
    """A fresh browser context and page on the live server; a failing test leaves a screenshot
    and the HTML behind, to look at."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        base_url=live_server.url,
        **options,
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
        (ARTIFACTS / f"{request.node.name}.html").write_text(page.content())
    context.close()


@pytest.fixture
def page(browser, live_server, request):
    yield from _page(browser, live_server, request, timezone_id="Europe/Berlin")


@pytest.fixture
def stranger(browser, live_server, request):
    """A second, separate browser (its own context), signed in as nobody, in another zone than
    `page`'s: an anonymous visitor beside the proposer."""
    yield from _page(browser, live_server, request, timezone_id="America/New_York")


@pytest.fixture
def no_script_page(browser, live_server, request):
    """A page with JavaScript switched off: every form must still work. (axe-core is itself a
    script, so it cannot run here; the same pages are checked with JavaScript on.)"""
    yield from _page(browser, live_server, request, java_script_enabled=False)


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """Run axe-core on the page and fail on any WCAG 2.1 A/AA violation, naming each."""

    def check(page):
        result = axe.run(page)
        violations = [v for v in result.response["violations"] if WCAG_TAGS & set(v["tags"])]
        details = "\n".join(
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
            for v in violations
        )
        assert not violations, f"axe found WCAG violations on {page.url}:\n{details}"

    return check
