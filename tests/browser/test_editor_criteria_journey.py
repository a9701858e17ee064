"""Staff write what a proposal contains and the criteria of a draft RFP in the editor (issue 16),
with JavaScript (rows added with "Add an element" / "Add a criterion", a question with "Add
another", the meaning inputs following the scale as it is typed) and without it (empty rows to
fill, Move up redraws unsaved, "Update the scale" draws the new scale's meaning inputs).

axe-core runs on each page with JavaScript, errors shown included; it cannot run in a page
without JavaScript (it is itself a script), see test_no_javascript.py."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from proposals import editor
from proposals.models import RFP
from tests.factories import RFPFactory
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def draft() -> RFP:
    return RFPFactory(status=RFP.Status.DRAFT, published_at=None, title="Fuzzing, spring round")


def _row(page, name: str):
    return page.get_by_role("group", name=name, exact=True)


def _field(row, label: str):
    return row.get_by_label(label, exact=True)


def test_staff_write_elements_and_criteria_with_javascript(
    page, staff, password, draft, assert_accessible
):
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(reverse("staff_rfp_edit_elements", args=[draft.slug]))
    expect(page.get_by_role("heading", level=2, name="What a proposal contains")).to_be_visible()
    assert_accessible(page)

    first = _row(page, "Element 1")
    _field(first, "Key").fill("team")
    _field(first, "Label").fill("The team")
    _field(first, "Help").fill("Who does the work.")
    second = _row(page, "Element 2")
    _field(second, "Key").fill("team")
    _field(second, "Kind").select_option(label="PDF document")
    _field(second, "Label").fill("Proposal document (PDF)")
    page.get_by_role("button", name="Add an element").click()
    third = _row(page, "Element 3")
    expect(_field(third, "Key")).to_be_focused()
    _field(third, "Key").fill("reporting")
    _field(third, "Kind").select_option(label="Agreement (checkbox)")
    _field(third, "Label").fill("Project management and reporting")
    _field(third, "Required").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    # Two elements with the same key: nothing saved, the summary links to the second key.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Another element has this key already")
    assert_accessible(page)
    assert not draft.elements.exists()
    summary.get_by_role("link", name="Element 2, Key").click()
    expect(_field(_row(page, "Element 2"), "Key")).to_be_focused()
    _field(_row(page, "Element 2"), "Key").fill("document")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", level=2, name="Criteria")).to_be_visible()
    assert list(draft.elements.values_list("key", "kind", "required")) == [
        ("team", "text", True),
        ("document", "pdf", True),
        ("reporting", "agreement", False),
    ]
    assert_accessible(page)

    # A gate: its weight, scale and meanings are not asked.
    gate = _row(page, "Criterion 1")
    expect(_field(gate, "Meaning of 0")).to_have_value(editor.default_anchors()["0"])
    _field(gate, "Key").fill("complete")
    _field(gate, "Kind").select_option(label="Gate (pass/fail)")
    expect(gate.get_by_role("group", name="What each score means")).to_be_hidden()
    expect(_field(gate, "Weight")).to_be_hidden()
    _field(gate, "Name").fill("Contains every required element")
    _field(gate, "Question 1").fill("Is every required element present?")
    _field(gate, "Question 2").fill("Is the PDF readable?")
    gate.get_by_role("button", name="Add another").click()
    _field(gate, "Question 3").fill("Received before the deadline?")

    # A scored criterion on a 1-7 scale: the meaning inputs follow the scale as it is typed.
    page.get_by_role("button", name="Add a criterion").click()
    scored = _row(page, "Criterion 2")
    expect(_field(scored, "Key")).to_be_focused()
    _field(scored, "Key").fill("experience")
    _field(scored, "Name").fill("Experience and competency")
    _field(scored, "Weight").fill("")
    expect(scored.get_by_role("button", name="Update the scale Criterion 2")).to_be_hidden()
    _field(scored, "Meaning of 2").fill("Weak, said my way.")
    _field(scored, "Highest score").fill("7")
    expect(_field(scored, "Meaning of 7")).to_be_visible()
    expect(_field(scored, "Meaning of 7")).to_have_value("")
    _field(scored, "Lowest score").fill("1")
    expect(_field(scored, "Meaning of 0")).to_have_count(0)
    expect(_field(scored, "Meaning of 2")).to_have_value("Weak, said my way.")
    _field(scored, "Meaning of 6").fill("Very good.")
    page.get_by_role("button", name="Save", exact=True).click()

    # No weight and no meaning for 7: said on their fields, nothing saved.
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Weight: a scored criterion needs a weight above zero.")
    expect(summary).to_contain_text("Say what a score of 7 means.")
    assert_accessible(page)
    assert not draft.criteria.exists()
    scored = _row(page, "Criterion 2")
    expect(_field(scored, "Meaning of 6")).to_have_value("Very good.")
    expect(
        _row(page, "Criterion 1").get_by_role("group", name="What each score means")
    ).to_be_hidden()
    _field(scored, "Weight").fill("2")
    _field(scored, "Meaning of 7").fill("Outstanding.")
    page.get_by_role("button", name="Save and preview").click()

    expect(page).to_have_url(reverse("staff_rfp_preview", args=[draft.slug]))
    stored = {c.key: c for c in draft.criteria.all()}
    assert list(stored) == ["complete", "experience"]
    assert stored["complete"].questions == [
        "Is every required element present?",
        "Is the PDF readable?",
        "Received before the deadline?",
    ]
    assert (stored["complete"].weight, stored["complete"].anchors) == (None, {})
    experience = stored["experience"]
    assert (experience.scale_min, experience.scale_max, str(experience.weight)) == (1, 7, "2.00")
    defaults = editor.default_anchors()
    assert experience.anchors == {
        "1": defaults["1"],
        "2": "Weak, said my way.",
        "3": defaults["3"],
        "4": defaults["4"],
        "5": defaults["5"],
        "6": "Very good.",
        "7": "Outstanding.",
    }


def test_staff_write_elements_and_criteria_without_javascript(
    no_script_page, staff, password, draft
):
    page = no_script_page
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(reverse("staff_rfp_edit_elements", args=[draft.slug]))
    # No script: no "Add an element" button; the empty rows are there to fill.
    expect(page.get_by_role("button", name="Add an element")).to_be_hidden()
    _field(_row(page, "Element 1"), "Key").fill("team")
    _field(_row(page, "Element 1"), "Label").fill("The team")
    _field(_row(page, "Element 2"), "Key").fill("document")
    _field(_row(page, "Element 2"), "Kind").select_option(label="PDF document")
    _field(_row(page, "Element 2"), "Label").fill("Proposal document (PDF)")
    page.get_by_role("button", name="Move up Element 2").click()
    expect(page.locator(".editor-notice")).to_have_text(
        "Not saved yet: press Save to keep this order."
    )
    expect(_field(_row(page, "Element 1"), "Key")).to_have_value("document")
    assert not draft.elements.exists()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    assert list(draft.elements.values_list("key", flat=True)) == ["document", "team"]
    # Saved: two new empty rows to add more.
    expect(_field(_row(page, "Element 4"), "Key")).to_have_value("")

    page.goto(reverse("staff_rfp_edit_criteria", args=[draft.slug]))
    row = _row(page, "Criterion 1")
    _field(row, "Key").fill("cost")
    _field(row, "Name").fill("Cost")
    _field(row, "Question 1").fill("Within budgets and caps?")
    _field(row, "Highest score").fill("6")
    row.get_by_role("button", name="Update the scale Criterion 1").click()
    expect(page.locator(".editor-notice")).to_contain_text("Not saved yet")
    row = _row(page, "Criterion 1")
    expect(_field(row, "Meaning of 6")).to_have_value("")
    expect(_field(row, "Meaning of 5")).to_have_value(editor.default_anchors()["5"])
    _field(row, "Meaning of 6").fill("Beyond what was asked.")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    cost = draft.criteria.get()
    assert (cost.scale_max, cost.anchors["6"], cost.questions) == (
        6,
        "Beyond what was asked.",
        ["Within budgets and caps?"],
    )
