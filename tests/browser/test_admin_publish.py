"""The Django admin is a back office: it does not publish an RFP. Its change form shows the status
read-only and links to the portal's Publish… page, which publishes after "I understand"; errors
in the admin still name the field and the form stays editable."""

import pytest
from playwright.sync_api import expect

from proposals.models import RFP, ProposalElement
from tests.factories import (
    CriterionFactory,
    ElementFactory,
    FeatureFactory,
    MilestoneFactory,
    RFPFactory,
)
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_to_admin(page, staff, password):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(totp_code())
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="Staff")).to_be_visible()


def open_change_form(page, rfp):
    page.goto(f"/admin/proposals/rfp/{rfp.pk}/change/")
    expect(page.locator("#rfp_form")).to_be_visible()


def add_parts(rfp):
    """What publishing needs (added after the admin's pages: Django's tabular inlines draw
    inputs without labels, which axe refuses and this project does not own)."""
    FeatureFactory(milestone=MilestoneFactory(rfp=rfp))
    ElementFactory(rfp=rfp, kind=ProposalElement.Kind.PDF, label="Proposal document")
    CriterionFactory(rfp=rfp, questions=["Relevant experience?"])


def test_the_admin_does_not_publish_its_link_leads_to_the_portal_which_does(
    page, staff, password, assert_accessible
):
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None, title="Quiet draft")
    sign_in_to_admin(page, staff, password)
    open_change_form(page, rfp)
    assert_accessible(page)
    # No status drop-down and no publication time to type: both are read-only.
    expect(page.locator("#id_status")).to_have_count(0)
    expect(page.locator("#id_published_at_0")).to_have_count(0)
    expect(page.locator(".field-status")).to_contain_text("draft")

    # Saving other changes keeps it a draft.
    page.locator("#id_title").fill("Quiet draft, edited")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rfp.refresh_from_db()
    assert (rfp.title, rfp.status, rfp.published_at) == ("Quiet draft, edited", "draft", None)

    # The change form's link opens the portal's confirmation, which publishes.
    add_parts(rfp)
    page.locator(".field-publishing").get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Publish “Quiet draft, edited”")
    assert_accessible(page)
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Publish and e-mail").click()
    expect(page.locator("body")).to_contain_text("is published; its subscribers are being")
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.PUBLISHED and rfp.published_at is not None

    # Published: the admin says it changes only by addendum.
    open_change_form(page, rfp)
    expect(page.locator(".field-publishing")).to_contain_text("changes only by addendum")
    assert_accessible(page)


def test_a_refused_save_names_the_field_and_stays_editable(
    page, staff, password, assert_accessible
):
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None, title="Draft to fix")
    sign_in_to_admin(page, staff, password)
    open_change_form(page, rfp)
    page.locator("#id_title").fill("")
    page.get_by_role("button", name="Save", exact=True).click()

    # The error is on the title field, and every field can still be corrected on this page.
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-title .errorlist")).to_contain_text("required")
    expect(page.locator("#id_title")).to_be_editable()
    expect(page.locator("#id_deadline_date")).to_be_editable()
    assert_accessible(page)
    rfp.refresh_from_db()
    assert rfp.title == "Draft to fix"

    page.locator("#id_title").fill("Draft, fixed")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rfp.refresh_from_db()
    assert (rfp.title, rfp.status, rfp.published_at) == ("Draft, fixed", RFP.Status.DRAFT, None)
