"""What assistive technology is told: form errors, the countdown, and focus after htmx swaps.

- A form with errors starts with an error summary (role="alert") that takes the focus and links
  to each field in error; each such field has aria-invalid="true" and aria-describedby naming
  its error message, also in groups of radios or checkboxes.
- The deadline countdown changes every few seconds, so it is not a live region: it would
  interrupt a screen reader all the time.
- When htmx replaces a region holding the focus, the focus stays in it (never falls to <body>),
  and a finished export is announced once through a status region.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evaluation import services
from evaluation.models import Export
from proposals import submission
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import open_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# For each link of the error summary: its target and how that target describes itself.
SUMMARY_LINKS = """() => {
  const summary = document.querySelector("[data-error-summary]");
  return Array.from(summary.querySelectorAll("a[href^='#']")).map(a => {
    const field = document.getElementById(a.getAttribute("href").slice(1));
    const described = field ? (field.getAttribute("aria-describedby") || "").split(/\\s+/) : [];
    const messages = described.map(id => document.getElementById(id)).filter(Boolean)
      .filter(el => el.classList.contains("errorlist")).map(el => el.textContent.trim());
    return {
      href: a.getAttribute("href"),
      text: a.textContent.trim(),
      found: !!field,
      tag: field ? field.tagName.toLowerCase() : "",
      invalid: field ? field.getAttribute("aria-invalid") : null,
      messages: messages,
    };
  });
}"""


def active_matches(page, selector: str) -> bool:
    return page.evaluate(
        "s => !!document.activeElement && document.activeElement.matches(s)", selector
    )


def assert_summary_links_each_field(page, expected_count: int | None = None) -> list[dict]:
    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_attribute("role", "alert")
    # portal.js moves the focus to the summary, so it is read first.
    expect(summary).to_be_focused()
    links = page.evaluate(SUMMARY_LINKS)
    assert links, "the error summary links to no field"
    if expected_count is not None:
        assert len(links) == expected_count, links
    for link in links:
        assert link["found"], f"{link['href']} points at nothing"
        assert link["invalid"] == "true", f"{link['href']} is not aria-invalid: {link}"
        assert link["messages"], f"{link['href']} is not described by its error: {link}"
        assert any(message in link["text"] for message in link["messages"]), link
    return links


def follow_first_link(page, links: list[dict]) -> None:
    """Following a summary link (by keyboard) puts the focus in that field."""
    page.locator("[data-error-summary] a").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator(links[0]["href"])).to_be_focused()


def test_sign_up_errors_are_summarised_linked_and_described(page):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("not an address")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label(re.compile("Password \\(again\\)")).fill("different")
    page.get_by_role("button", name="Sign Up").click()
    links = assert_summary_links_each_field(page)
    assert {"#id_email", "#id_password1"} <= {link["href"] for link in links}
    follow_first_link(page, links)


def test_draft_errors_link_to_the_amount_and_submit_lists_missing_parts(
    page, open_rfp, proposer, password
):
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Half done", now=timezone.now()
    )
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    for box in page.locator("input[type=checkbox][name=e_milestones]").all():
        box.check()
    page.get_by_role("button", name="Save draft").click()  # features appear with milestones
    page.locator("input[name^=e_budget__]").first.fill("a lot")
    page.get_by_role("button", name="Save draft").click()
    links = assert_summary_links_each_field(page, expected_count=1)
    assert links[0]["href"].startswith("#id_e_budget__")
    follow_first_link(page, links)

    # Submitting the incomplete draft: an alert listing each missing part, linked to its field
    # on the draft page; following a link lands in that field.
    page.goto(f"/proposals/{proposal.pk}/submit/")
    page.get_by_role("button", name="Submit proposal").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not submitted")
    expect(page.locator("[data-error-summary]")).to_be_focused()
    hrefs = alert.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert f"{proposal.get_absolute_url()}#id_e_team" in hrefs
    assert f"{proposal.get_absolute_url()}#id_document" in hrefs
    alert.get_by_role("link", name="The team").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Half done")
    expect(page.locator("#id_e_team")).to_be_focused()


def test_review_errors_mark_every_radio_of_each_unjudged_criterion(
    page, evaluation_setup, staff, password
):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    assignment = services.assign(
        proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now()
    )
    open_now(s["rfp"])
    services.declare_conflict(
        assignment=assignment, user=reviewer, conflict=False, reason="", now=timezone.now()
    )
    sign_in(page, reviewer.email, password, code=totp_code())
    page.goto(f"/review/{s['alpha'].pk}/")
    page.locator(".review-form").get_by_role("group", name="Cost").get_by_label(
        re.compile(r"^\s*3:")
    ).check()
    page.get_by_role("button", name="Submit review").click()
    criteria = s["rfp"].criteria.count()
    links = assert_summary_links_each_field(page, expected_count=criteria - 1)
    assert all(re.fullmatch(r"#id_c\d+_0", link["href"]) for link in links)
    # Every option of an unjudged criterion carries the error, not only the first one.
    radios = page.locator(".criterion-field input[type=radio][aria-invalid=true]")
    for radio in radios.all():
        name = radio.get_attribute("name")
        assert f"id_{name}_error" in radio.get_attribute("aria-describedby").split()
    cost = page.locator(".review-form").get_by_role("group", name="Cost")
    expect(cost.locator("input[aria-invalid]")).to_have_count(0)
    expect(cost.get_by_label(re.compile(r"^\s*3:"))).to_be_checked()  # kept what was chosen
    follow_first_link(page, links)


def test_the_countdown_is_not_a_live_region(page, open_rfp, proposer, password):
    check = """() => Array.from(document.querySelectorAll("[data-countdown]")).map(el => {
      const live = el.closest(
        "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log]," +
        " [role=marquee], [role=timer]");
      return live ? live.outerHTML.slice(0, 120) : null;
    })"""
    page.goto(open_rfp.get_absolute_url())
    found = page.evaluate(check)
    assert found and found == [None] * len(found), found
    # It still counts (with JavaScript) and says what it means in words.
    expect(page.locator("[data-countdown-text]").first).to_contain_text(re.compile(r"left|day"))
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Timed", now=timezone.now()
    )
    sign_in(page, proposer.email, password)
    for url in (proposal.get_absolute_url(), f"/proposals/{proposal.pk}/submit/", "/"):
        page.goto(url)
        assert page.evaluate(check) == [None] * len(page.evaluate(check)), url


def test_focus_stays_in_the_budget_check_when_htmx_replaces_it(page, open_rfp, proposer, password):
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Budget", now=timezone.now()
    )
    sign_in(page, proposer.email, password)
    page.goto(proposal.get_absolute_url())
    for box in page.locator("input[type=checkbox][name=e_milestones]").all():
        box.check()
    page.get_by_role("button", name="Save draft").click()
    amounts = page.locator("input[name^=e_budget__]")
    amounts.last.focus()
    page.keyboard.type("99999")
    # Straight on to the budget check (a focusable region) before the check comes back.
    page.keyboard.press("Tab")
    assert active_matches(page, "#budget-check")
    expect(page.locator("#budget-check")).to_contain_text("99,999")
    assert active_matches(page, "#budget-check"), "the swap dropped the focus"


def test_export_progress_keeps_focus_and_announces_the_finished_export(
    page, evaluation_setup, staff, password
):
    rfp = evaluation_setup["rfp"]
    open_now(rfp)
    export = Export.objects.create(
        rfp=rfp, kind=Export.Kind.SCORES, requested_by=staff, state=Export.State.RUNNING
    )
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{rfp.slug}/evaluation/exports/")
    row = page.locator(f"#export-{export.pk}")
    expect(row.locator("progress")).to_be_visible()
    status = page.locator("#exports-status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_text("")
    # A row being followed has nothing focusable; make its heading cell focusable, as a
    # stand-in for anything focusable inside a swapped region, and put the focus there.
    row.locator("th").evaluate("th => { th.tabIndex = -1; th.focus(); }")
    assert active_matches(page, f"#export-{export.pk} th")

    Export.objects.filter(pk=export.pk).update(
        state=Export.State.DONE, progress=100, file="exports/scores.csv"
    )
    expect(row.get_by_role("link", name=re.compile("Download"))).to_be_visible()
    expect(status).to_have_text("Export ready to download: scores (CSV).")
    # The old cell is gone; the focus went to the new row's download link, not to <body>.
    expect(row.get_by_role("link", name=re.compile("Download"))).to_be_focused()
