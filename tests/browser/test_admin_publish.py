"""Staff publish an RFP in the Django admin: errors name the field and the form stays editable."""

import pytest
from playwright.sync_api import expect

from proposals.models import RFP
from tests.factories import RFPFactory
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


def test_publishing_with_published_at_empty_stamps_now(page, staff, password, assert_accessible):
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None, title="Quiet draft")
    sign_in_to_admin(page, staff, password)
    open_change_form(page, rfp)
    assert_accessible(page)
    expect(page.locator("#id_published_at_0")).to_have_value("")
    page.locator("#id_status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    expect(page.locator("body")).not_to_contain_text("rfp_published_has_time")
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.PUBLISHED
    assert rfp.published_at is not None


def test_a_refused_publish_names_the_field_and_stays_editable(
    page, staff, password, assert_accessible
):
    rfp = RFPFactory(status=RFP.Status.DRAFT, published_at=None, title="Draft to fix")
    sign_in_to_admin(page, staff, password)
    open_change_form(page, rfp)
    page.locator("#id_status").select_option("published")
    page.locator("#id_title").fill("")
    page.get_by_role("button", name="Save", exact=True).click()

    # The error is on the title field, and every field can still be corrected on this page.
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator(".field-title .errorlist")).to_contain_text("required")
    expect(page.locator("#id_title")).to_be_editable()
    expect(page.locator("#id_status")).to_be_editable()
    expect(page.locator("#id_deadline_date")).to_be_editable()
    assert_accessible(page)
    rfp.refresh_from_db()
    assert rfp.status == RFP.Status.DRAFT

    page.locator("#id_title").fill("Draft, fixed")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    rfp.refresh_from_db()
    assert (rfp.title, rfp.status) == ("Draft, fixed", RFP.Status.PUBLISHED)
    assert rfp.published_at is not None
