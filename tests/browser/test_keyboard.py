"""Keyboard only, no mouse: a proposer submits a proposal; a reviewer scores one.

Nothing is clicked or filled: focus moves with Tab (and arrow keys inside a radio group), text is
typed, buttons and links are pressed with Enter or Space. The only exception is the one a
keyboard user has too: the operating system's file chooser, opened here by pressing Space on the
focused file input and answered with the file. At every stop the focused element must show a
visible focus indicator.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evaluation import services
from evaluation.models import Review
from proposals.models import Proposal
from tests.helpers.mfa import TOTP_SECRET, totp_code
from tests.helpers.proposals import open_now
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the focused element is, read (never changed) from the page.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  let name = el.getAttribute("aria-label") || "";
  if (!name && el.getAttribute("aria-labelledby")) {
    name = el.getAttribute("aria-labelledby").split(/\\s+/)
      .map(id => (document.getElementById(id) || {}).textContent || "").join(" ");
  }
  if (!name && el.labels && el.labels.length) {
    name = Array.from(el.labels).map(l => l.textContent).join(" ");
  }
  if (!name) name = el.innerText || el.value || "";
  const style = getComputedStyle(el);
  return {
    name: name.replace(/\\s+/g, " ").trim(),
    tag: el.tagName.toLowerCase(),
    type: el.type || "",
    field: el.name || "",
    checked: !!el.checked,
    focusVisible: el.matches(":focus-visible"),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== "none",
  };
}"""


def focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def assert_focus_visible(page, info: dict) -> None:
    assert info["outline"] or info["shadow"], (
        f"no visible focus indicator on <{info['tag']}> {info['name']!r} at {page.url}"
    )


def tab_to(page, name, *, max_tabs: int = 200, backwards: bool = False) -> dict:
    """Press Tab until the focused element's accessible name matches; check its focus ring."""
    pattern = name if isinstance(name, re.Pattern) else re.compile(re.escape(name))
    for _ in range(max_tabs):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        info = focused(page)
        if info and pattern.search(info["name"]):
            assert_focus_visible(page, info)
            return info
    raise AssertionError(f"{name!r} not reached with {max_tabs} tabs on {page.url}")


def sign_in_by_keyboard(page, email, password, *, code=None):
    page.goto("/accounts/login/")
    tab_to(page, "Email")
    page.keyboard.type(email)
    tab_to(page, "Password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    if code:
        expect(page.get_by_label("Code")).to_be_visible()
        tab_to(page, "Code")
        page.keyboard.type(code)
        page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_proposer_submits_a_proposal_by_keyboard(page, open_rfp, proposer, password, tmp_path):
    pdf_file = tmp_path / "keyboard.pdf"
    pdf_file.write_bytes(make_pdf(2))
    # Listening from the start turns on Playwright's file-chooser interception before the key
    # press (turned on lazily, it can race the press and miss the chooser).
    page.on("filechooser", lambda chooser: None)
    sign_in_by_keyboard(page, proposer.email, password)
    page.goto("/")
    tab_to(page, open_rfp.title)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(open_rfp.title)

    tab_to(page, "A title for your proposal")
    page.keyboard.type("Keyboard Co-op: accessible PyPI")
    tab_to(page, "Start a proposal")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard Co-op: accessible PyPI")

    # Through the whole draft form with Tab, answering each field as it comes.
    for _ in range(120):
        page.keyboard.press("Tab")
        info = focused(page)
        assert info, f"focus fell to <body> on {page.url}"
        assert_focus_visible(page, info)
        field = info["field"]
        if field == "document":
            with page.expect_file_chooser() as chooser:
                page.keyboard.press("Space")
            chooser.value.set_files(pdf_file)
        elif field.startswith("e_budget__"):
            page.keyboard.type("1000")
        elif field.startswith("e_timeline__"):
            page.keyboard.type("Four weeks")
        elif info["type"] == "checkbox" and not info["checked"]:
            page.keyboard.press("Space")  # the agreement and each milestone
        elif info["tag"] == "textarea":
            page.keyboard.type("Two maintainers; we test with screen readers every week.")
        elif info["name"] == "Save and review before submitting":
            break
    else:
        raise AssertionError("the submit button was never reached")
    expect(page.locator("#budget-check")).to_contain_text("Total")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    expect(page.locator("main")).to_contain_text("Every required part is there.")

    tab_to(page, "Submit proposal")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Proposal received: version 1")
    proposal = Proposal.objects.get(title="Keyboard Co-op: accessible PyPI")
    assert proposal.versions.count() == 1
    assert proposal.document_pages == 2


def test_b_reviewer_scores_a_proposal_by_keyboard(page, evaluation_setup, staff, password):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    services.assign(proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now())
    open_now(s["rfp"])
    sign_in_by_keyboard(page, reviewer.email, password, code=totp_code(TOTP_SECRET))

    tab_to(page, re.compile("^Reviews$"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your review queue")
    tab_to(page, f"Proposal #{s['alpha'].pk}")  # its title stays hidden until declared
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflict of interest")

    info = tab_to(page, re.compile("^No conflict"))
    assert info["type"] == "radio"
    page.keyboard.press("Space")
    tab_to(page, "Declare")
    page.keyboard.press("Enter")
    expect(page.locator(".review-proposal")).to_contain_text("ten years of Python packaging")

    # Each criterion is a radio group: Tab enters it, Space picks the first option (a gate's
    # "pass"), arrow keys move to a score; Tab leaves for the comment, then the next group.
    chosen = set()
    for _ in range(150):
        page.keyboard.press("Tab")
        info = focused(page)
        assert info, f"focus fell to <body> on {page.url}"
        assert_focus_visible(page, info)
        if info["type"] == "radio" and info["field"] not in chosen:
            chosen.add(info["field"])
            page.keyboard.press("Space")
            if re.match(r"^\d+:", info["name"]):
                for _step in range(3):
                    page.keyboard.press("ArrowDown")
            after = focused(page)
            assert after["checked"], after
            assert_focus_visible(page, after)
        elif info["field"] == "overall_comment":
            page.keyboard.type("Clear plan; typed without a mouse.")
        elif info["name"] == "Submit review":
            break
    else:
        raise AssertionError("the submit button was never reached")
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Your review has been submitted.")
    review = Review.objects.get(assignment__reviewer=reviewer)
    assert review.state == "submitted"
    assert review.overall_comment == "Clear plan; typed without a mouse."
    scores = {a.criterion.key: a.score for a in review.assessments.select_related("criterion")}
    assert all(score is None or score >= 3 for score in scores.values()), scores
    assert len(chosen) == s["rfp"].criteria.count()
