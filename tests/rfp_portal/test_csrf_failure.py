"""A form refused by the CSRF check: the portal's page, in words, with what was typed kept.

The client enforces CSRF checks as a browser does. A stale form (its token from before the
session changed) gets a 403 page in the portal's layout that says what happened and what to do,
shows the text typed, and sends it again with a fresh token in one click; passwords, files and
the old token are never kept, and a form posted from another site is not offered again.
"""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from proposals import submission
from proposals.forms import field_name
from proposals.models import Feature, ProposalElement
from tests.helpers.proposals import form_data

pytestmark = pytest.mark.django_db

STALE_TOKEN = "S" * 64  # well-formed, but not the token of this session
SAME_SITE = {"Origin": "http://testserver", "Referer": "http://testserver/proposals/"}
TYPED = "Our team <b>knows</b> TUF & packaging\nsecond line"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


@pytest.fixture
def browser_client(proposer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(proposer)
    return client


@pytest.fixture
def draft(open_rfp, proposer):
    return submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Stale form", now=timezone.now()
    )


def team_field(rfp) -> str:
    return field_name(rfp.elements.get(kind=ProposalElement.Kind.TEXT, key="team"))


def stale_post(client, path, data, **kwargs):
    client.get(path)  # the session's CSRF cookie, as the browser has it
    return client.post(path, {**data, "csrfmiddlewaretoken": STALE_TOKEN}, **kwargs)


def resend_fields(body: str) -> list[tuple[str, str]]:
    form = body.split('id="resend-form"', 1)[1].split("</form>", 1)[0]
    return [(html.unescape(n), html.unescape(v)) for n, v in HIDDEN.findall(form)]


def dict_of(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def test_a_stale_draft_form_gets_the_portal_page_with_the_typed_text_kept(browser_client, draft):
    path = reverse("proposal_edit", args=[draft.pk])
    data = form_data(draft, then="save", password="never-echo-this-1")
    data[team_field(draft.rfp)] = TYPED
    response = stale_post(browser_client, path, data, headers=SAME_SITE)

    assert response.status_code == 403
    assert response.templates[0].name == "403_csrf.html"
    body = response.content.decode()
    # The portal's page, in words; not Django's bare one.
    assert "This form was not sent" in body and "Skip to main content" in body
    assert "before you last signed in or out" in body
    assert "CSRF verification failed" not in body and "Forbidden" not in body
    # What was typed is shown (escaped) to copy, and kept in a form to send again...
    assert "Our team &lt;b&gt;knows&lt;/b&gt; TUF &amp; packaging<br>second line" in body
    assert "What you typed" in body and "Send again" in body
    assert f'action="{path}"' in body
    fields = resend_fields(body)
    names = [name for name, _ in fields]
    assert (team_field(draft.rfp), TYPED) in fields
    assert ("then", "save") in fields and ("edit", str(draft.edit_count)) in fields
    milestones = field_name(draft.rfp.elements.get(kind=ProposalElement.Kind.MILESTONE_CHOICE))
    assert sorted(v for n, v in fields if n == milestones) == sorted(data[milestones])
    # ...with a fresh token, never the refused one, and never the password.
    assert names.count("csrfmiddlewaretoken") == 1
    assert STALE_TOKEN not in body
    assert "never-echo-this-1" not in body and "password" not in names
    assert "Files cannot be kept" not in body  # there was no file
    assert 'href="http://testserver/proposals/"' in body  # back to the form it came from
    draft.refresh_from_db()
    assert (draft.fields or {}).get("team") is None  # nothing was saved

    # One click: the same fields with the fresh token save the draft.
    retry = browser_client.post(path, dict_of(fields), headers=SAME_SITE)
    assert retry.status_code == 302, retry.content.decode()[:500]
    draft.refresh_from_db()
    assert draft.fields["team"] == TYPED


def test_a_file_cannot_be_kept_and_the_page_says_so(browser_client, draft):
    path = reverse("proposal_edit", args=[draft.pk])
    data = form_data(draft, then="save")
    data["document"] = SimpleUploadedFile("ours-secret-name.pdf", b"%PDF-1.4 not really")
    response = stale_post(browser_client, path, data, headers=SAME_SITE)
    assert response.status_code == 403
    body = response.content.decode()
    assert "Files cannot be kept" in body
    assert "ours-secret-name.pdf" not in body
    assert "document" not in [name for name, _ in resend_fields(body)]


def test_a_stale_sign_in_form_keeps_the_address_but_never_the_password():
    client = Client(enforce_csrf_checks=True)
    path = reverse("account_login")
    response = stale_post(
        client,
        path,
        {"login": "pat@example.org", "password": "my-secret-password-9"},
        headers=SAME_SITE,
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert "pat@example.org" in body
    assert "my-secret-password-9" not in body
    assert [name for name, _ in resend_fields(body)] == ["csrfmiddlewaretoken", "login"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://elsewhere.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {},  # no Origin, no Referer: where it came from is unknown
    ],
)
def test_a_form_posted_from_elsewhere_is_neither_shown_nor_offered_again(
    browser_client, draft, headers
):
    path = reverse("proposal_edit", args=[draft.pk])
    data = form_data(draft, then="save")
    data[team_field(draft.rfp)] = "Planted by another site"
    response = stale_post(browser_client, path, data, headers=headers)
    assert response.status_code == 403
    body = response.content.decode()
    assert "This form was not sent" in body
    assert "Planted by another site" not in body
    assert "Send again" not in body and 'id="resend-form"' not in body
    assert "Go back to the form, reload the page, and send it again." in body


def test_the_amounts_typed_are_kept_with_readable_names(browser_client, draft):
    path = reverse("proposal_edit", args=[draft.pk])
    feature = Feature.objects.filter(milestone__rfp=draft.rfp).first()
    element = draft.rfp.elements.get(kind=ProposalElement.Kind.PER_FEATURE_AMOUNT)
    data = form_data(draft, then="save")
    data[field_name(element, feature)] = "31337"
    body = stale_post(browser_client, path, data, headers=SAME_SITE).content.decode()
    assert f"<dt>{element.key.capitalize()} {feature.pk}</dt><dd>31337</dd>" in body
