"""Staff reuse RFPs in the portal: import the PSF's Q4 2019 file as a draft, duplicate it with a
new deadline, publish the copy after the confirmation, download it as TOML (issue 16)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from proposals import demo, rfp_files
from proposals.models import RFP, Subscription
from rfp_portal.models import OutboxMessage
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Q4 = demo.DEMO_DATA_DIR / "pypi-2019-q4.toml"


def test_import_duplicate_publish_and_download(page, staff, password, assert_accessible, tmp_path):
    Subscription.objects.create(email="fan@example.org", confirmed_at=timezone.now())
    sign_in(page, staff.email, password, code=totp_code())

    # Import the Q4 2019 file: a draft, nobody told.
    page.goto("/staff/")
    page.get_by_role("link", name="Import an RFP from a file").click()
    assert_accessible(page)
    page.get_by_label("TOML file").set_input_files(str(Q4))
    page.get_by_role("button", name="Import as a draft").click()
    expect(page.locator("body")).to_contain_text("is imported as a draft")
    imported = RFP.objects.get(slug="pypi-2019-q4")
    assert imported.status == RFP.Status.DRAFT

    # Its 2019 deadline has passed: publishing it is refused, saying why.
    page.get_by_role("link", name="Publish… PyPI Advanced Security, Q4 2019").click()
    expect(page.get_by_role("alert")).to_contain_text("The deadline has passed")
    assert_accessible(page)

    # Duplicate it with a deadline 30 days ahead.
    page.goto("/staff/")
    page.get_by_role("link", name="Duplicate PyPI Advanced Security, Q4 2019").click()
    assert_accessible(page)
    deadline = (timezone.now() + timedelta(days=30)).date()
    page.get_by_label("Title of the copy").fill("PyPI Advanced Security, next round")
    page.get_by_label("Slug of the copy").fill("pypi-next")
    page.get_by_label("New deadline date").fill(deadline.isoformat())
    page.get_by_role("button", name="Create the draft copy").click()
    expect(page.locator("body")).to_contain_text("is a draft copy of")
    copy = RFP.objects.get(slug="pypi-next")
    assert copy.milestones.count() == 3 and copy.criteria.count() == 6

    # Publish the copy: the confirmation names the one subscriber; "I understand" is needed.
    page.get_by_role("link", name="Publish… PyPI Advanced Security, next round").click()
    expect(page.locator("main")).to_contain_text(
        "1 confirmed subscriber is e-mailed the announcement now."
    )
    assert_accessible(page)
    page.get_by_role("button", name="Publish and e-mail 1 subscriber").click()
    expect(page.get_by_role("alert")).to_be_visible()
    copy.refresh_from_db()
    assert copy.status == RFP.Status.DRAFT
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Publish and e-mail 1 subscriber").click()
    expect(page.locator("body")).to_contain_text("is published; its subscribers are being")
    copy.refresh_from_db()
    assert copy.status == RFP.Status.PUBLISHED
    assert list(
        OutboxMessage.objects.filter(template="proposals/email/new_rfp").values_list(
            "to", flat=True
        )
    ) == ["fan@example.org"]

    # Download the copy: the file is the export, and imports again elsewhere.
    with page.expect_download() as info:
        page.get_by_role("link", name="Download (.toml) PyPI Advanced Security, next round").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert info.value.suggested_filename == "pypi-next.toml"
    assert target.read_text() == rfp_files.export_rfp(copy)
