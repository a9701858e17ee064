"""A stale form in chromium: the session changed in another tab, the form is refused, the
portal says why in words, keeps what was typed, and one click sends it again."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from proposals import submission
from tests.helpers.browser import FAILED_TO_LOAD
from tests.helpers.browser_sign_in import sign_in
from tests.pdfs import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPED = "Typed after signing in again in another tab."


def test_a_stale_draft_form_is_refused_in_words_and_sent_again_with_what_was_typed(
    page, open_rfp, proposer, password, tmp_path, assert_accessible
):
    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Stale tab", now=timezone.now()
    )
    errors = []
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith(FAILED_TO_LOAD)
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, proposer.email, password)
    page.goto(draft.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Stale tab")

    # In a second tab of the same browser: sign out, and in again (a new session and token).
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("link", name="Sign in")).to_be_visible()
    sign_in(other, proposer.email, password)
    other.close()

    # Back in the first tab, the form from before: type, attach the PDF, save.
    page.bring_to_front()
    page.get_by_label("The team").fill(TYPED)
    pdf_file = tmp_path / "our-proposal.pdf"
    pdf_file.write_bytes(make_pdf(2))
    page.get_by_label("Proposal document (PDF)").set_input_files(pdf_file)
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Save draft").click()
    assert refused.value.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This form was not sent")
    main = page.locator("main")
    expect(main).to_contain_text("before you last signed in or out")
    expect(main).to_contain_text("Files cannot be kept")
    expect(page.get_by_role("heading", name="What you typed")).to_be_visible()
    expect(main.locator("dd", has_text=TYPED)).to_be_visible()
    expect(main).not_to_contain_text("CSRF verification failed")
    assert_accessible(page)
    draft.refresh_from_db()
    assert not (draft.fields or {}).get("team")  # nothing was saved

    # One click sends it again, with the session's token: the draft is saved.
    page.get_by_role("button", name="Send again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stale tab")
    expect(page.locator(".messages")).to_contain_text("Your draft has been saved.")
    expect(page.get_by_label("The team")).to_have_value(TYPED)
    assert_accessible(page)
    draft.refresh_from_db()
    assert draft.fields["team"] == TYPED
    assert not draft.document  # the file had to be chosen again
    assert errors == []


def test_an_autosave_refused_after_the_session_changed_says_so(
    page, open_rfp, proposer, password, assert_accessible
):
    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Quiet tab", now=timezone.now()
    )
    sign_in(page, proposer.email, password)
    page.goto(draft.get_absolute_url())
    other = page.context.new_page()
    other.goto("/")
    other.get_by_role("button", name="Sign out").click()
    sign_in(other, proposer.email, password)
    other.close()

    page.bring_to_front()
    with page.expect_response(lambda r: r.url.endswith("/autosave/")) as autosave:
        page.get_by_label("The team").fill(TYPED)
    assert autosave.value.status == 403
    status = page.locator("#autosave-status")
    expect(status).to_contain_text("Not saved automatically. Press Save draft")
    assert_accessible(page)
    draft.refresh_from_db()
    assert not (draft.fields or {}).get("team")
