"""Every page of the product, for every role, through axe-core and a CSP check.

For each role the test signs in through the real sign-in page, then crawls: it starts at the home
page and follows same-origin links breadth-first (GET only, bounded), and then visits the pages
the journeys reach that no link in the navigation leads to (forms shown with their errors, a
receipt verified, error pages as rendered for the user, the Django admin for staff). On every
page it runs axe-core (WCAG 2.1 A and AA) and checks the Content-Security-Policy header, and
while it is on a page, anything the browser reports as broken is a finding too: a console error
(an htmx syntax error, a script refused by the CSP), an uncaught script error, a request that
failed, or a sub-resource (script, stylesheet, image, font, fetch) answered with HTTP 400 or
more. The page itself may answer 403 or 404 when that is the point. All findings of a role are
collected and reported together, so one run shows everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from evaluation.models import Export, PoolMember
from proposals import demo
from proposals.models import Proposal
from tests.factories import PASSWORD
from tests.helpers import world as common
from tests.helpers.browser import FAILED_TO_LOAD, WCAG_TAGS
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.crawling import Frontier
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGE_CAP = 60  # pages crawled from links, per role (the explicit pages come on top)
# Not followed: signing out, downloads (they are files, not pages: PDFs, calendars, feeds,
# exports, keys, timestamp tokens, and the JSON of receipts, the transparency log and open
# contracting data), the language switch, and one-click links that change something
# (unsubscribe, invitations).
SKIP = re.compile(
    r"/accounts/logout/|\.pdf$|\.ics$|\.atom$|\.csv$|\.zip$|\.pem$|\.tsr$|\.json$"
    r"|/download/|/document/|^/i18n/|^/transparency/[^/]+/(heads|proof|consistency|leaves)/"
    r"|^/static/|^/media/|^/subscribe/(stop|confirm)/|^/invitations/|^/reviewers/join/"
)
# The admin is crawled only through its own explicit pages (index, a changelist, a change
# form): its links would fill any cap with near-identical changelists.
NOT_CRAWLED = re.compile(r"^/admin/")


def csp_problem(headers: dict[str, str]) -> str | None:
    """None if the response carries a CSP whose script-src allows no inline script."""
    policy = headers.get("content-security-policy")
    if not policy:
        return "no Content-Security-Policy header"
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    scripts = directives.get("script-src", directives.get("default-src"))
    if scripts is None:
        return "CSP has neither script-src nor default-src"
    if "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts:
        return f"CSP script-src allows inline or eval: {' '.join(scripts)}"
    return None


@dataclass
class Crawl:
    page: object
    axe: object
    origin: str
    visited: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)
    # Navigations of the page begun so far, and whether one is under way: a fetch (an htmx
    # poll, say) cut off because the page is being left is not broken.
    navigations: int = 0
    navigating: bool = False
    started: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        page = self.page
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        page.on("request", self.on_request)
        page.on("requestfailed", self.on_request_failed)
        page.on("response", self.on_response)
        page.on("requestfinished", lambda request: self.started.pop(request, None))
        page.on("domcontentloaded", self.on_loaded)

    def path_of(self, url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit(("", "", parts.path, parts.query, ""))

    # --- What the browser reports while a page is shown ---------------------------------------

    def on_page(self, problem: str) -> None:
        self.findings.append(f"{self.path_of(self.page.url)}: {problem}")

    def is_page_itself(self, request) -> bool:
        return request.is_navigation_request() and request.frame == self.page.main_frame

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        if message.text.startswith(FAILED_TO_LOAD):
            return
        source = message.location.get("url", "")
        where = f" ({self.path_of(source)})" if source and source != self.page.url else ""
        self.on_page(f"console error{where}: {message.text}")

    def on_page_error(self, error) -> None:
        self.on_page(f"uncaught script error: {error}")

    def on_request(self, request) -> None:
        if self.is_page_itself(request):
            self.navigations += 1
            self.navigating = True
        self.started[request] = self.navigations

    def on_loaded(self, _page) -> None:
        self.navigating = False

    def on_request_failed(self, request) -> None:
        failure = request.failure or "?"
        started = self.started.pop(request, self.navigations)
        left = self.navigating or started < self.navigations
        if failure == "net::ERR_ABORTED" and left and not self.is_page_itself(request):
            return  # cut off by leaving the page
        self.on_page(
            f"request failed: {request.method} {self.path_of(request.url)} "
            f"({request.resource_type}): {failure}"
        )

    def on_response(self, response) -> None:
        request = response.request
        if response.status >= 400 and not self.is_page_itself(request):
            self.on_page(
                f"HTTP {response.status} for {request.resource_type} "
                f"{request.method} {self.path_of(response.url)}"
            )

    def check(self, response, label: str, *, expected_status: int | None = None) -> None:
        """axe and CSP on the page just loaded (by goto or by a form post)."""
        final = self.path_of(self.page.url)
        if response is not None and response.request.redirected_from is not None:
            # Several links can redirect to one page (e.g. to re-authenticate): check it once.
            final = final.partition("?")[0]
        if response is not None and response.request.method == "GET":
            if final in self.checked:
                return
            self.checked.add(final)
        where = f"{label} ({self.path_of(self.page.url)})"
        self.visited.append(where)
        if response is None:
            self.findings.append(f"{where}: no response")
            return
        status = response.status
        wanted = expected_status or 200
        if status != wanted:
            self.findings.append(f"{where}: HTTP {status}, expected {wanted}")
        headers = response.all_headers()
        if problem := csp_problem(headers):
            self.findings.append(f"{where}: {problem}")
        if "text/html" not in headers.get("content-type", ""):
            return
        self.run_axe(where)

    def run_axe(self, where: str) -> None:
        result = self.axe.run(self.page)
        for violation in result.response["violations"]:
            if WCAG_TAGS & set(violation["tags"]):
                targets = "; ".join(
                    node["target"][0] if node["target"] else "?" for node in violation["nodes"][:4]
                )
                self.findings.append(
                    f"{where}: axe {violation['id']} ({violation['impact']}): "
                    f"{violation['help']} — {targets}"
                )

    def visit(self, path: str, *, expected_status: int | None = None) -> None:
        if path in self.checked:
            return  # crawled already
        response = self.page.goto(path)
        self.check(response, path, expected_status=expected_status)

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all(
            "a[href]:not([download])", "els => els.map(e => e.href)"
        )
        found = []
        for href in hrefs:
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                continue
            path = urlunsplit(("", "", parts.path, parts.query, ""))
            if SKIP.search(parts.path) or NOT_CRAWLED.search(parts.path):
                continue
            found.append(path)
        return found

    def crawl(self, start: str = "/") -> None:
        frontier = Frontier([start])
        crawled = 0
        while frontier and crawled < PAGE_CAP:
            path = frontier.pop()
            response = self.page.goto(path)
            crawled += 1
            self.check(response, path)
            if response is None or "text/html" not in response.headers.get("content-type", ""):
                continue
            for link in self.links():
                frontier.add(link)


# --- The world every role looks at ------------------------------------------------------


def build_world() -> dict:
    # The demo; the proposer's submitted proposal and a draft for a second open RFP, both shared
    # with a co-author; questions and an addendum on the open RFP.
    world = common.demo_world()
    second_call = common.copy_of_open_rfp(world.now, "pypi-second-call", "PyPI second call")
    common.share_proposals(world, second_call)
    common.ask_and_amend(world)

    # A second RFP in evaluation: one assignment still to declare, one with a draft review.
    common.review_round(world)
    common.open_review_round(world)
    PoolMember.objects.create(rfp=world.review_rfp, user=world.reviewer)
    common.start_reviews(world)
    # Exports of the decided RFP: one finished is not needed (downloads are not pages), one
    # still running shows the progress row that polls.
    Export.objects.create(
        rfp=world.decided,
        kind=Export.Kind.SCORES,
        requested_by=world.staff,
        progress=40,
        state=Export.State.RUNNING,
    )
    Export.objects.create(
        rfp=world.decided,
        kind=Export.Kind.SUMMARY,
        requested_by=world.staff,
        state=Export.State.FAILED,
        message="Interrupted.",
    )

    return {
        "staff": world.staff,
        "reviewer": world.reviewer,
        "proposer": world.proposer,
        "coauthor": world.coauthor,
        "mossgreen": world.mossgreen,
        "submitted": world.submitted,
        "draft": world.draft,
        "first": world.first,
        "second": world.second,
        "decided": world.decided,
        "open_rfp": world.open_rfp,
        "review_rfp": world.review_rfp,
        "decided_proposal": world.decided_proposal,
    }


# --- What each role does beyond the crawl ---------------------------------------------------


def anonymous_extras(crawl: Crawl, world: dict) -> None:
    page = crawl.page
    crawl.visit("/no-such-page/", expected_status=404)
    crawl.visit(f"/rfps/{world['open_rfp'].slug}/addenda/1/")
    # Sign-up with bad data: the error summary and invalid fields.
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("not an address")
    page.get_by_label("Password", exact=True).fill("short")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Sign Up").click()
    crawl.check(posted.value, "sign-up with errors", expected_status=200)
    # A receipt verified, with its result.
    version = world["submitted"].versions.get()
    page.goto("/verify/")
    page.get_by_label("Receipt code").fill(version.receipt_code)
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Verify").click()
    expect(page.locator(".verify-result")).to_be_visible()
    crawl.check(posted.value, "verify with a result")
    page.goto("/verify/")
    page.get_by_label("Receipt code").fill("R-NOPE-NOPE-NOPE")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Verify").click()
    crawl.check(posted.value, "verify an unknown code")
    # Asking a question needs an account: the RFP page sends a visitor to sign in.
    crawl.visit("/proposals/", expected_status=200)  # redirected to the sign-in page


def proposer_extras(crawl: Crawl, world: dict) -> None:
    page = crawl.page
    draft, submitted = world["draft"], world["submitted"]
    crawl.visit(f"/proposals/{draft.pk}/")
    crawl.visit(f"/proposals/{draft.pk}/team/")
    crawl.visit(f"/proposals/{submitted.pk}/withdraw/")
    crawl.visit(f"/proposals/{submitted.pk}/versions/1/")
    crawl.visit(f"/proposals/{submitted.pk}/submit/")
    draft_form_budget_check(crawl, draft)
    # Submitting an incomplete draft: the errors, listed with links to the fields.
    page.goto(f"/proposals/{draft.pk}/submit/")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Submit proposal").click()
    crawl.check(posted.value, "submit an incomplete draft", expected_status=400)
    # Saving a draft with a bad amount: the form with its errors.
    page.goto(f"/proposals/{draft.pk}/")
    page.locator("input[name^=e_budget__]").first.fill("lots")
    with page.expect_navigation() as p:
        page.get_by_role("button", name="Save draft").click()
    crawl.check(p.value, "draft with errors", expected_status=400)
    crawl.visit(f"/rfps/{world['open_rfp'].slug}/addenda/1/")
    crawl.visit(f"/proposals/{world['first'].pk}/", expected_status=404)
    crawl.visit("/staff/", expected_status=403)
    crawl.visit("/no-such-page/", expected_status=404)


def draft_form_budget_check(crawl: Crawl, draft: Proposal) -> None:
    """The draft form's budget check follows the amounts as they are typed (htmx), and only
    them: typing in a text field posts no budget check. Any console error meanwhile (an hx-trigger
    htmx cannot parse, say) is a finding of the crawl."""
    page = crawl.page
    path = f"/proposals/{draft.pk}/"
    budget_url = f"{crawl.origin}{path}budget-check/"
    posted = []

    def budget_posts(request):
        if request.url == budget_url:
            posted.append(request)

    crawl.check(page.goto(path), "draft form with the budget check")
    page.on("request", budget_posts)
    try:
        page.get_by_label("The team").press_sequentially("Pat, Sam")
        page.wait_for_timeout(1_000)  # twice the budget check's delay
        if posted:
            crawl.findings.append(f"{path}: typing in a text field posted a budget check")
        posted.clear()
        amount = page.locator("input[name^=e_budget__]").first
        try:
            with page.expect_response(budget_url, timeout=5_000) as checked:
                amount.press_sequentially("31337")
        except PlaywrightTimeoutError:
            crawl.findings.append(f"{path}: typing an amount posted no budget check")
            return
        if checked.value.status != 200 or len(posted) != 1:
            crawl.findings.append(
                f"{path}: typing an amount posted {len(posted)} budget checks, "
                f"the last answered HTTP {checked.value.status}"
            )
        expect(page.locator("#budget-check")).to_contain_text("31,337")
    finally:
        page.remove_listener("request", budget_posts)
    crawl.run_axe("draft form after the budget check followed the typing")


def coauthor_extras(crawl: Crawl, world: dict) -> None:
    draft = world["draft"]
    crawl.visit(f"/proposals/{draft.pk}/")
    crawl.visit(f"/proposals/{draft.pk}/team/")
    crawl.visit(f"/proposals/{draft.pk}/submit/")
    crawl.visit(f"/proposals/{world['submitted'].pk}/versions/1/")
    crawl.visit(f"/proposals/{world['first'].pk}/", expected_status=404)


def debriefed_extras(crawl: Crawl, world: dict) -> None:
    decided = world["decided_proposal"]
    crawl.visit(f"/proposals/{decided.pk}/decision/")
    crawl.visit(f"/proposals/{decided.pk}/versions/1/")
    crawl.visit(f"/proposals/{world['first'].pk}/clarifications/")


def reviewer_extras(crawl: Crawl, world: dict) -> None:
    page = crawl.page
    first, second = world["first"], world["second"]
    crawl.visit(f"/review/{first.pk}/conflict/")
    crawl.visit(f"/review/{second.pk}/")
    crawl.visit(f"/proposals/{second.pk}/clarifications/")
    decided = world["decided_proposal"]
    crawl.visit(f"/review/{decided.pk}/")
    # Submitting an incomplete review: the errors.
    page.goto(f"/review/{second.pk}/")
    with page.expect_navigation() as p:
        page.get_by_role("button", name="Submit review").click()
    crawl.check(p.value, "submit an incomplete review", expected_status=400)
    crawl.visit("/staff/", expected_status=403)
    crawl.visit("/no-such-page/", expected_status=404)


def staff_extras(crawl: Crawl, world: dict) -> None:
    page = crawl.page
    decided, open_rfp, review_rfp = world["decided"], world["open_rfp"], world["review_rfp"]
    for rfp in (decided, review_rfp):
        crawl.visit(f"/staff/rfps/{rfp.slug}/evaluation/")
        crawl.visit(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/")
        crawl.visit(f"/staff/rfps/{rfp.slug}/evaluation/exports/")
    crawl.visit(f"/staff/rfps/{decided.slug}/evaluation/decisions/{world['decided_proposal'].pk}/")
    crawl.visit(f"/staff/rfps/{review_rfp.slug}/evaluation/decisions/{world['first'].pk}/")
    crawl.visit(f"/staff/rfps/{open_rfp.slug}/addendum/")
    crawl.visit(f"/staff/rfps/{open_rfp.slug}/questions/")
    crawl.visit(f"/staff/rfps/{open_rfp.slug}/evaluation/exports/")
    crawl.visit("/staff/audit/")
    crawl.visit(f"/proposals/{decided.proposals.first().pk}/versions/1/")
    # The automatic assignment preview.
    page.goto(f"/staff/rfps/{review_rfp.slug}/evaluation/")
    page.get_by_label("Reviewers per proposal").fill("1")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Preview automatic assignment").click()
    crawl.check(posted.value, "automatic assignment preview")
    # An addendum without its change note: the form's errors.
    page.goto(f"/staff/rfps/{open_rfp.slug}/addendum/")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Publish addendum").click()
    crawl.check(posted.value, "addendum with errors", expected_status=400)
    # The Django admin.
    crawl.visit("/admin/")
    crawl.visit("/admin/proposals/rfp/")
    crawl.visit(f"/admin/proposals/rfp/{open_rfp.pk}/change/")
    crawl.visit("/admin/rfp_portal/user/")
    crawl.visit(f"/admin/rfp_portal/user/{world['proposer'].pk}/change/")
    crawl.visit("/admin/rfp_portal/auditevent/")
    crawl.visit("/no-such-page/", expected_status=404)


ROLES = {
    # role: (e-mail, demo password?, TOTP?, extras)
    "anonymous": (None, False, anonymous_extras),
    "proposer": ("proposer@example.org", False, proposer_extras),
    "coauthor": ("coauthor@example.org", False, coauthor_extras),
    "debriefed_team": ("lead@mossgreen.example", False, debriefed_extras),
    "reviewer": ("reviewer@example.org", True, reviewer_extras),
    "staff": ("staff@example.org", True, staff_extras),
}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_is_accessible_and_has_a_strict_csp(role, page, live_server, axe):
    world = build_world()
    email, with_totp, extras = ROLES[role]
    if email:
        password = PASSWORD if email == "coauthor@example.org" else demo.DEMO_PASSWORD
        code = totp_code(demo.DEMO_TOTP_SECRET) if with_totp else None
        sign_in(page, email, password, code=code)
    crawl = Crawl(page=page, axe=axe, origin=live_server.url)
    crawl.crawl("/")
    extras(crawl, world)
    print(f"{role}: {len(crawl.visited)} pages:", *crawl.visited, sep="\n  ")
    report = "\n".join(crawl.findings)
    assert not crawl.findings, (
        f"{role}: {len(crawl.findings)} problems on {len(crawl.visited)} pages:\n{report}"
    )
