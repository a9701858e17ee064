"""Staff write the PSF's Q4 2019 RFP from scratch in the portal's editor (issue 16, "Done means"),
once with JavaScript and once without, and the draft equals the import of
proposals/demo_data/rfps/pypi-2019-q4.toml field by field (tests/helpers/rfp_fields.py).

The editor refuses a deadline that has passed, so the dates typed are the file's moved by the
demo's own shift (its deadline 14 days ahead), as the import compared with is. With JavaScript,
rows and list items are added in the page ("Add an entry", "Add another"...), a bad cap and a
weight of 0 are refused without saving anything, and the journey goes on: preview in English
and Spanish, publish after the confirmation, duplicate, download the TOML and import it again
under another slug (the round trip gives the same RFP, and the same file but for its slug).
Without JavaScript, empty rows and inputs come from the add buttons (which redraw the page
unsaved) or from Save (the step stays)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.text import capfirst
from playwright.sync_api import expect

from proposals import rfp_files
from proposals.models import RFP, Criterion, ProposalElement
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code
from tests.helpers.rfp_fields import import_q4_as_draft, q4_data, q4_shift, rfp_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EDITOR_STEPS = {"deadline", "timeline", "scope", "elements", "criteria"}


# --- Comparing, with a readable diff -----------------------------------------------------------


def differences(actual: Any, expected: Any, path: str = "") -> list[str]:
    """Each value that differs, named by its path (rfp.title, milestones[0].features[0].cap)."""
    if isinstance(actual, dict) and isinstance(expected, dict):
        found = []
        for key in sorted(set(actual) | set(expected), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in actual:
                found.append(f"{here}: missing (expected {expected[key]!r})")
            elif key not in expected:
                found.append(f"{here}: {actual[key]!r} (not expected)")
            else:
                found += differences(actual[key], expected[key], here)
        return found
    if isinstance(actual, list) and isinstance(expected, list):
        found = []
        if len(actual) != len(expected):
            found.append(f"{path}: {len(actual)} items, expected {len(expected)}")
        for index, (one, other) in enumerate(zip(actual, expected, strict=False)):
            found += differences(one, other, f"{path}[{index}]")
        return found
    return [] if actual == expected else [f"{path}: {actual!r}, expected {expected!r}"]


def assert_same(actual: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    found = differences(actual, expected)
    assert not found, f"{what} differs from the import of pypi-2019-q4.toml:\n" + "\n".join(found)


def fields_of(rfp: RFP) -> dict[str, Any]:
    """rfp_fields without the slug, of the RFP as stored (read again from the database)."""
    return rfp_fields(RFP.objects.get(pk=rfp.pk), with_slug=False)


def imported_q4(shift: timedelta) -> dict[str, Any]:
    """The fields of the Q4 file imported as a draft (slug "imported-q4", dates moved by shift),
    rolled back afterwards: the staff overview then lists only the RFPs of the journey."""
    with transaction.atomic():
        fields = fields_of(import_q4_as_draft(slug="imported-q4", shift=shift))
        transaction.set_rollback(True)
    return fields


def day(text: str, shift: timedelta) -> str:
    return (date.fromisoformat(text) + shift).isoformat()


def editor_steps(rfp: RFP) -> set[str]:
    events = AuditEvent.objects.filter(
        object_type="proposals.rfp", object_id=str(rfp.pk), action=AuditAction.RFP_EDITED
    )
    return {event.details.get("step") for event in events}


# --- Driving the editor ------------------------------------------------------------------------


class Editor:
    """The editor's steps as staff go through them, with or without JavaScript.

    Where a step needs one more row (or list item) than the page shows, JavaScript's add button
    adds it in the page; without JavaScript a submit button draws the page again with empty
    ones: the step's own add button where it has one (it saves nothing), else Save (the step
    stays, with new empty rows). ``check`` runs on every page drawn (axe, with JavaScript)."""

    def __init__(self, page, *, js: bool, check=None):
        self.page, self.js = page, js
        self.check = check or (lambda page: None)

    def press(self, name: str, *, within=None) -> None:
        button = (within or self.page).get_by_role("button", name=name, exact=True)
        if self.js:
            button.click()
        else:
            with self.page.expect_navigation():
                button.click()

    def step(self, heading: str) -> None:
        expect(self.page.get_by_role("heading", level=2, name=heading, exact=True)).to_be_visible()
        self.check(self.page)

    def group(self, name: str, *, within=None):
        return (within or self.page).get_by_role("group", name=name, exact=True)

    def row(self, name: str, *, add: str, add_without_js: str, within=None):
        """The row (a fieldset) called ``name``, added first when the page has none yet."""
        row = self.group(name, within=within)
        if row.count() == 0:
            self.press(add if self.js else add_without_js)
        expect(row).to_be_visible()
        return row

    def fill_list(self, holder, item: str, texts: list[str]) -> None:
        """A list of texts ("Task 1", "Task 2"...), one more input at a time as needed."""
        for number, text in enumerate(texts, start=1):
            field = holder.get_by_label(f"{item} {number}", exact=True)
            if field.count() == 0:
                if self.js:
                    holder.get_by_role("button", name="Add another", exact=True).click()
                else:
                    self.press("Save")
            field.fill(text)

    # --- The steps -----------------------------------------------------------------------

    def basics(self, data: dict[str, Any]) -> None:
        page = self.page
        expect(page.get_by_role("heading", level=1)).to_have_text("New RFP")
        self.step("Basics")
        page.get_by_label("Title", exact=True).fill(data["title"])
        page.get_by_label("Slug", exact=True).fill(data["slug"])
        page.get_by_label("Funder", exact=True).fill(data.get("funder", ""))
        page.get_by_label("Issuer", exact=True).fill(data.get("issuer", ""))
        page.get_by_label("Summary", exact=True).fill(data["summary"].strip())
        page.get_by_label("Body (Markdown)", exact=True).fill(data["body_markdown"].strip())
        page.get_by_label("Currency", exact=True).fill(data["currency"])
        page.get_by_label("Total cap", exact=True).fill(str(data["total_cap"]))
        self.press("Save and continue")

    def deadline(self, data: dict[str, Any], shift: timedelta) -> None:
        page = self.page
        self.step("Deadline and rules")
        deadline = data["deadline"]
        assert deadline["end_of_day"] is True, "the Q4 deadline is at the end of its day"
        page.get_by_label("Deadline date", exact=True).fill(day(deadline["date"], shift))
        page.get_by_label("Time zone", exact=True).select_option(deadline["zone"])
        page.get_by_label("End of day (24:00)", exact=True).check()
        page.get_by_label("Grace period after the deadline (seconds)", exact=True).fill(
            str(data.get("grace_seconds", 0))
        )
        page.get_by_label("Maximum revisions", exact=True).fill(str(data["max_revisions"]))
        page.get_by_label("Reviews due", exact=True).fill(day(data["review_due"], shift))
        page.get_by_label("Sealed until the deadline", exact=True).set_checked(data["sealed"])
        self.press("Save and continue")

    def timeline(self, data: dict[str, Any], shift: timedelta) -> None:
        self.step("Timeline")
        for number, entry in enumerate(data["timeline"], start=1):
            row = self.row(f"Entry {number}", add="Add an entry", add_without_js="Add an entry")
            row.get_by_label("Date", exact=True).fill(day(entry["date"], shift))
            row.get_by_label("Label", exact=True).fill(entry["label"])
        self.press("Save and continue")

    def scope(self, data: dict[str, Any], *, bad_cap: bool = False) -> None:
        self.step("Milestones and features")
        for number, milestone in enumerate(data["milestones"], start=1):
            row = self.row(
                f"Milestone {number}", add="Add a milestone", add_without_js="Add a milestone"
            )
            row.get_by_label("Milestone name", exact=True).fill(milestone["name"])
            # Every milestone of the file has one feature: the one a new milestone starts with.
            [feature] = milestone["features"]
            part = self.group("Feature 1", within=row)
            part.get_by_label("Feature name", exact=True).fill(feature["name"])
            part.get_by_label("Budget", exact=True).fill(str(feature["budget"]))
            part.get_by_label("Cap", exact=True).fill(str(feature["cap"]))
            self.fill_list(part, "Task", feature["tasks"])
        if bad_cap:
            self.refuse_a_cap_below_its_budget(data)
        self.press("Save and continue")

    def refuse_a_cap_below_its_budget(self, data: dict[str, Any]) -> None:
        page = self.page
        rfp = RFP.objects.get(slug=data["slug"])
        before = rfp_fields(rfp)
        feature = self.group("Feature 1", within=self.group("Milestone 1"))
        cap = feature.get_by_label("Cap", exact=True)
        cap.fill("20000")
        self.press("Save")
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Nothing was saved.")
        expect(summary).to_contain_text(
            "Milestone 1, feature 1, Cap: It must be at least the budget (USD 25,000)."
        )
        # Next to its field, which says it is wrong.
        expect(feature.locator(".errorlist")).to_have_text(
            "It must be at least the budget (USD 25,000)."
        )
        expect(cap).to_have_attribute("aria-invalid", "true")
        expect(cap).to_have_value("20000")
        self.check(page)
        summary.get_by_role("link", name="Milestone 1, feature 1, Cap").click()
        expect(cap).to_be_focused()
        assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before, "a refused step saved something"
        # Everything else typed is drawn again as it was typed.
        last = data["milestones"][-1]
        expect(
            self.group(f"Milestone {len(data['milestones'])}").get_by_label(
                "Milestone name", exact=True
            )
        ).to_have_value(last["name"])
        cap.fill(str(data["milestones"][0]["features"][0]["cap"]))

    def elements(self, data: dict[str, Any]) -> None:
        self.step("What a proposal contains")
        for number, element in enumerate(data["elements"], start=1):
            row = self.row(f"Element {number}", add="Add an element", add_without_js="Save")
            kind = capfirst(str(ProposalElement.Kind(element["kind"]).label))
            row.get_by_label("Key", exact=True).fill(element["key"])
            row.get_by_label("Kind", exact=True).select_option(label=kind)
            row.get_by_label("Label", exact=True).fill(element["label"])
            row.get_by_label("Help", exact=True).fill(element.get("help", ""))
            row.get_by_label("Required", exact=True).set_checked(element.get("required", True))
        self.press("Save and continue")

    def criteria(self, data: dict[str, Any], *, bad_weight: bool = False) -> None:
        self.step("Criteria")
        for number, criterion in enumerate(data["criteria"], start=1):
            row = self.row(f"Criterion {number}", add="Add a criterion", add_without_js="Save")
            kind = capfirst(str(Criterion.Kind(criterion["kind"]).label))
            row.get_by_label("Key", exact=True).fill(criterion["key"])
            row.get_by_label("Kind", exact=True).select_option(label=kind)
            row.get_by_label("Name", exact=True).fill(criterion["name"])
            weight = row.get_by_label("Weight", exact=True)
            if criterion["kind"] == "gate":
                if self.js:  # a gate's weight is hidden and disabled: it posts none
                    expect(weight).to_be_hidden()
                    expect(weight).to_be_disabled()
                else:  # the prefilled weight is cleared: a gate has none
                    weight.fill("")
            else:
                weight.fill(str(criterion.get("weight", 1)))
                # The file gives no meanings: a scored criterion keeps the editor's defaults.
                assert "anchors" not in criterion and "scale_max" not in criterion
            self.fill_list(row, "Question", criterion["questions"])
        if bad_weight:
            self.refuse_a_weight_of_zero(data)
        self.press("Save and preview")

    def refuse_a_weight_of_zero(self, data: dict[str, Any]) -> None:
        page = self.page
        rfp = RFP.objects.get(slug=data["slug"])
        before = rfp_fields(rfp)
        number = 1 + next(i for i, c in enumerate(data["criteria"]) if c["kind"] == "scored")
        row = self.group(f"Criterion {number}")
        weight = row.get_by_label("Weight", exact=True)
        weight.fill("0")
        self.press("Save")
        summary = page.get_by_role("alert")
        expect(summary).to_contain_text("Nothing was saved.")
        expect(summary).to_contain_text(
            f"Criterion {number}: Weight: a scored criterion needs a weight above zero."
        )
        expect(row.locator(".errorlist")).to_have_text(
            "Weight: a scored criterion needs a weight above zero."
        )
        expect(weight).to_have_attribute("aria-invalid", "true")
        self.check(page)
        summary.get_by_role("link", name=f"Criterion {number}: Weight").click()
        expect(weight).to_be_focused()
        assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before, "a refused step saved something"
        # The gates drawn again still have no weight to give.
        expect(self.group("Criterion 1").get_by_label("Weight", exact=True)).to_be_hidden()
        weight.fill(str(data["criteria"][number - 1].get("weight", 1)))

    def write(self, data: dict[str, Any], shift: timedelta, *, bad_input: bool = False) -> RFP:
        """Every step, from the staff overview's "New RFP" to the preview."""
        self.page.get_by_role("link", name="New RFP", exact=True).click()
        self.basics(data)
        self.deadline(data, shift)
        self.timeline(data, shift)
        self.scope(data, bad_cap=bad_input)
        self.elements(data)
        self.criteria(data, bad_weight=bad_input)
        expect(self.page).to_have_url(reverse("staff_rfp_preview", args=[data["slug"]]))
        return RFP.objects.get(slug=data["slug"])


def assert_written_in_the_editor(created: RFP, shift: timedelta) -> dict[str, Any]:
    """The draft equals the file's import field by field, and its audit trail has the steps."""
    expected = imported_q4(shift)
    assert_same(fields_of(created), expected, "The RFP written in the editor")
    assert created.status == RFP.Status.DRAFT and created.published_at is None
    assert AuditEvent.objects.filter(
        action=AuditAction.RFP_CREATED, object_type="proposals.rfp", object_id=str(created.pk)
    ).exists()
    steps = editor_steps(created)
    assert steps >= EDITOR_STEPS, f"audited steps: {sorted(steps)}"
    return expected


# --- The journeys ------------------------------------------------------------------------------


def test_staff_write_the_q4_rfp_with_javascript_then_publish_duplicate_and_round_trip(
    page, staff, password, assert_accessible, tmp_path
):
    data, shift = q4_data(), q4_shift()
    sign_in(page, staff.email, password, code=totp_code())
    page.goto("/staff/")
    assert_accessible(page)

    created = Editor(page, js=True, check=assert_accessible).write(data, shift, bad_input=True)
    expected = assert_written_in_the_editor(created, shift)

    # The preview, in English then in Spanish.
    banner = page.get_by_role("region", name="Preview: this is how visitors will see this RFP")
    expect(banner).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(data["title"])
    expect(page.get_by_role("heading", name="Scope and budget")).to_be_visible()
    expect(page.locator("main")).to_contain_text(data["milestones"][0]["name"])
    assert_accessible(page)
    page.get_by_role("link", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Alcance y presupuesto")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(data["title"])
    assert_accessible(page)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # Publish…: refused without "I understand", published with it.
    banner.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Publish “{data['title']}”")
    assert_accessible(page)
    publish = page.get_by_role("button", name="Publish and e-mail 0 subscribers")
    publish.click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    assert RFP.objects.get(pk=created.pk).status == RFP.Status.DRAFT
    page.get_by_label("I understand").check()
    publish.click()
    expect(page.locator(".messages")).to_contain_text(f"“{data['title']}” is published")
    created.refresh_from_db()
    assert created.status == RFP.Status.PUBLISHED and created.published_at is not None
    assert_accessible(page)

    # Duplicate it under another title and slug, keeping the deadline offered: the same RFP.
    page.get_by_role("link", name=f"Duplicate {data['title']}", exact=True).click()
    assert_accessible(page)
    copy_title = f"{data['title']}, second call"
    page.get_by_label("Title of the copy").fill(copy_title)
    page.get_by_label("Slug of the copy").fill("pypi-2019-q4-second-call")
    page.get_by_role("button", name="Create the draft copy").click()
    expect(page.locator(".messages")).to_contain_text(f"“{copy_title}” is a draft copy of")
    copy = RFP.objects.get(slug="pypi-2019-q4-second-call")
    assert_same(
        fields_of(copy),
        {**expected, "rfp": {**expected["rfp"], "title": copy_title}},
        "The duplicate",
    )
    assert_accessible(page)

    # Download the RFP written in the editor: the file is its export.
    with page.expect_download() as info:
        page.get_by_role("link", name=f"Download (.toml) {data['title']}", exact=True).click()
    assert info.value.suggested_filename == "pypi-2019-q4.toml"
    downloaded = tmp_path / "downloaded.toml"
    info.value.save_as(downloaded)
    text = downloaded.read_text()
    assert text == rfp_files.export_rfp(created)

    # Import it again under another slug: the same RFP, and the same file but for its slug.
    slug_line = 'slug = "pypi-2019-q4"\n'
    assert text.startswith(slug_line)
    again = tmp_path / "q4-round-trip.toml"
    again.write_text('slug = "q4-round-trip"\n' + text[len(slug_line) :])
    page.get_by_role("link", name="Import an RFP from a file").click()
    assert_accessible(page)
    page.get_by_label("TOML file").set_input_files(str(again))
    page.get_by_role("button", name="Import as a draft").click()
    expect(page.locator(".messages")).to_contain_text(f"“{data['title']}” is imported as a draft")
    reimported = RFP.objects.get(slug="q4-round-trip")
    assert_same(fields_of(reimported), expected, "The RFP downloaded and imported again")
    exported = rfp_files.export_rfp(reimported)
    assert exported.startswith('slug = "q4-round-trip"\n')
    assert exported.splitlines()[1:] == text.splitlines()[1:]


def test_staff_write_the_q4_rfp_without_javascript(no_script_page, staff, password):
    # axe-core is a script: it cannot run here (the same pages are checked above).
    page = no_script_page
    data, shift = q4_data(), q4_shift()
    sign_in(page, staff.email, password, code=totp_code())
    page.goto("/staff/")

    created = Editor(page, js=False).write(data, shift)
    assert_written_in_the_editor(created, shift)
    expect(page.get_by_role("heading", level=1)).to_have_text(data["title"])
