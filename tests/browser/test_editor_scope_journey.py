"""Staff write a draft's milestones and features on one page (issue 16): with JavaScript the add
buttons add rows in the page and the totals follow typing; moving a milestone up redraws the
page unsaved; Save stores the order shown. Without JavaScript, "Add a feature" is a submit button
that redraws the page with a new empty feature, and Save stores it. The timeline step: a month
for "Only the month", a label for every date, Move up, and Save stores the order shown."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from proposals.models import RFP, Milestone, TimelineEntry
from tests.factories import RFPFactory
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code
from tests.helpers.rfp_fields import import_q4_as_draft, q4_shift

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scope_of(rfp: RFP) -> list:
    return [
        (m.name, [(f.name, f.budget, f.cap, f.tasks) for f in m.features.order_by("position")])
        for m in Milestone.objects.filter(rfp=rfp).order_by("position")
    ]


def fill_feature(page, prefix: str, name: str, amount: str, cap: str, tasks: list[str]) -> None:
    page.locator(f"#id_{prefix}-name").fill(name)
    page.locator(f"#id_{prefix}-budget").fill(amount)
    page.locator(f"#id_{prefix}-cap").fill(cap)
    for number, task in enumerate(tasks):
        page.locator(f"#id_{prefix}-tasks_{number}").fill(task)


def test_staff_write_milestones_and_features_with_javascript(
    page, staff, password, assert_accessible
):
    rfp = RFPFactory(
        status=RFP.Status.DRAFT, published_at=None, currency="USD", total_cap=Decimal("65000")
    )
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(reverse("staff_rfp_edit_scope", args=[rfp.slug]))
    expect(page.get_by_role("heading", level=2, name="Milestones and features")).to_be_visible()
    assert_accessible(page)

    # A new draft starts with one empty milestone holding one empty feature.
    page.get_by_label("Milestone name").fill("Signing")
    fill_feature(page, "m-0-f-0", "TUF signing", "25000", "30000", ["Sign metadata", "Serve it"])

    # "Add a feature" adds a row in the page (no round trip: nothing was posted yet).
    page.get_by_role("button", name="Add a feature to milestone 1").click()
    expect(page.locator("#id_m-0-f-1-name")).to_be_focused()
    fill_feature(page, "m-0-f-1", "Key documentation", "3000", "5500", ["Write it"])
    assert page.locator('input[name="m-0-f-TOTAL_FORMS"]').input_value() == "2"

    # A second milestone, with its own feature, added in the page too.
    page.get_by_role("button", name="Add a milestone").click()
    expect(page.locator("#id_m-1-name")).to_be_focused()
    page.locator("#id_m-1-name").fill("Malware checks")
    fill_feature(page, "m-1-f-0", "Upload screening", "20,000", "24,500", ["Run checks"])
    page.get_by_role("button", name="Add a feature to milestone 2").click()
    expect(page.locator("#id_m-1-f-1-name")).to_be_visible()

    # The totals followed the typing: per milestone, overall, against the total cap.
    signing = page.locator("fieldset[data-milestone]").nth(0)
    expect(signing.locator('[data-subtotal="budget"]')).to_have_text("USD 28,000")
    expect(signing.locator('[data-subtotal="cap"]')).to_have_text("USD 35,500")
    expect(page.locator('[data-total="budget"]')).to_have_text("USD 48,000")
    expect(page.locator('[data-total="cap"]')).to_have_text("USD 60,000")
    expect(page.locator('[data-compare="cap"]')).to_have_text("USD 5,000 under")
    assert not Milestone.objects.filter(rfp=rfp).exists()
    assert_accessible(page)

    # Moving the second milestone up redraws the page in the new order, unsaved.
    page.get_by_role("button", name="Move up milestone 2").click()
    expect(page.locator(".editor-notice")).to_have_text(
        "Not saved yet: press Save to keep this order."
    )
    expect(page.locator("#id_m-0-name")).to_have_value("Malware checks")
    expect(page.locator("#id_m-1-name")).to_have_value("Signing")
    assert not Milestone.objects.filter(rfp=rfp).exists()

    # Save with a cap below its budget: said on the field, linked from the summary, nothing kept.
    page.locator("#id_m-1-f-1-cap").fill("2000")
    page.get_by_role("button", name="Save", exact=True).click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(
        "Milestone 2, feature 2, Cap: It must be at least the budget (USD 3,000)."
    )
    assert_accessible(page)
    summary.get_by_role("link", name=re.compile("Cap: It must be at least")).click()
    expect(page.locator("#id_m-1-f-1-cap")).to_be_focused()
    assert not Milestone.objects.filter(rfp=rfp).exists()

    page.locator("#id_m-1-f-1-cap").fill("5500")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Saved.")
    assert scope_of(rfp) == [
        (
            "Malware checks",
            [("Upload screening", Decimal("20000"), Decimal("24500"), ["Run checks"])],
        ),
        (
            "Signing",
            [
                ("TUF signing", Decimal("25000"), Decimal("30000"), ["Sign metadata", "Serve it"]),
                ("Key documentation", Decimal("3000"), Decimal("5500"), ["Write it"]),
            ],
        ),
    ]
    expect(page.locator('[data-total="budget"]')).to_have_text("USD 48,000")
    assert_accessible(page)


def test_adding_a_feature_without_javascript(no_script_page, staff, password):
    page = no_script_page
    rfp = import_q4_as_draft(slug="q4-no-js", shift=q4_shift())
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(reverse("staff_rfp_edit_scope", args=[rfp.slug]))

    page.get_by_role("button", name=re.compile(r"^Add a feature to Documentation")).click()
    expect(page.locator(".editor-notice")).to_contain_text("Not saved yet")
    assert len(scope_of(rfp)[2][1]) == 1
    documentation = page.get_by_role("group", name="Milestone 3")
    new = documentation.get_by_role("group", name="Feature 2")
    new.get_by_label("Feature name").fill("Translations")
    new.get_by_label("Budget").fill("1000")
    new.get_by_label("Cap").fill("1500")
    new.get_by_label("Task 1").fill("Spanish")
    page.get_by_role("button", name="Save and continue").click()

    expect(page).to_have_url(re.compile(r"/edit/elements/$"))
    assert scope_of(rfp)[2] == (
        "Documentation",
        [
            (
                "Documentation for the features above",
                Decimal("3000"),
                Decimal("5500"),
                ["Documentation"],
            ),
            ("Translations", Decimal("1000"), Decimal("1500"), ["Spanish"]),
        ],
    )


def test_staff_write_the_timeline_with_a_month_and_reorder_it(
    page, staff, password, assert_accessible
):
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(reverse("staff_rfp_edit_timeline", args=[rfp.slug]))
    assert_accessible(page)

    first, second = (
        page.get_by_role("group", name="Entry 1"),
        page.get_by_role("group", name="Entry 2"),
    )
    first.get_by_label("Date").fill("2030-03-02")
    first.get_by_label("Label").fill("Contract work begins")
    second.get_by_label("Date").fill("2030-02-17")
    second.get_by_label("Only the month").check()
    # A date without its label: said on the field, nothing saved.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Entry 2, Label: Write what happens on this date."
    )
    assert_accessible(page)
    assert not TimelineEntry.objects.filter(rfp=rfp).exists()

    page.get_by_role("group", name="Entry 2").get_by_label("Label").fill("Contracts finalized")
    # "Add an entry" adds a row in the page; it stays empty and is left out.
    page.get_by_role("button", name="Add an entry").click()
    expect(page.get_by_role("group", name="Entry 3")).to_be_visible()
    page.get_by_role("button", name="Move up entry 2").click()
    expect(page.locator(".editor-notice")).to_have_text(
        "Not saved yet: press Save to keep this order."
    )
    assert not TimelineEntry.objects.filter(rfp=rfp).exists()
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/edit/scope/$"))
    assert list(
        TimelineEntry.objects.filter(rfp=rfp)
        .order_by("position")
        .values_list("date", "precision", "label")
    ) == [
        (date(2030, 2, 1), "month", "Contracts finalized"),
        (date(2030, 3, 2), "day", "Contract work begins"),
    ]
