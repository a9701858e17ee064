"""Issue 13: upload sizes, rate limits per client, sign-in throttling that never locks the owner
out, `next` values that are pages of the portal, and mails to unconfirmed addresses."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import (
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from django.urls import reverse

from proposals.models import Subscription
from rfp_portal.models import OutboxMessage, User
from tests.helpers.accounts import sign_in_with_mfa
from tests.helpers.commands import manage_py
from tests.helpers.proposals import complete_answers, form_data, pdf_upload
from tests.pdfs import make_pdf

pytestmark = pytest.mark.django_db

PHISHING_NAME = "Your invoice is overdue, pay at https://evil.example/pay"


@pytest.fixture
def stored_bytes(monkeypatch):
    """Bytes Django's own handlers keep of uploaded files (memory or temporary file)."""
    kept = {"bytes": 0, "files": 0}
    for handler in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        original = handler.receive_data_chunk
        original_new = handler.new_file

        def receive(self, raw_data, start, _original=original):
            result = _original(self, raw_data, start)
            if result is None:  # this handler kept the chunk
                kept["bytes"] += len(raw_data)
            return result

        def new_file(self, *args, _original=original_new, **kwargs):
            kept["files"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(handler, "receive_data_chunk", receive)
        monkeypatch.setattr(handler, "new_file", new_file)
    return kept


# --- Uploads ---------------------------------------------------------------------------------


def test_every_upload_stops_being_stored_at_the_limit(client, settings, stored_bytes):
    """A view that expects no file at all (the time-zone form) is no way round the limit."""
    settings.MAX_PDF_BYTES = 100_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every upload would go to a temporary file
    big = SimpleUploadedFile("big.bin", b"x" * 600_000)
    response = client.post(reverse("set_time_zone"), {"time_zone": "UTC", "next": "/", "f": big})
    assert response.status_code == 302
    assert stored_bytes["bytes"] <= 100_000


def test_several_files_in_one_request_share_the_limit(client, settings, stored_bytes):
    settings.MAX_PDF_BYTES = 100_000
    files = {f"f{i}": SimpleUploadedFile(f"{i}.bin", b"x" * 60_000) for i in range(5)}
    client.post(reverse("set_time_zone"), {"time_zone": "UTC", **files})
    assert stored_bytes["bytes"] <= 100_000


def test_verify_hashes_the_file_while_it_streams_and_keeps_none_of_it(
    client, settings, stored_bytes, open_rfp, proposer
):
    from django.utils import timezone

    from proposals import submission

    content = make_pdf(2)
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Ours", now=timezone.now()
    )
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="Ours",
        fields=complete_answers(open_rfp),
        document=SimpleUploadedFile("p.pdf", content, "application/pdf"),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    version = submission.submit_proposal(
        proposal=proposal, user=proposer, expected_edit=proposal.edit_count, now=timezone.now()
    ).version
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    response = client.post(
        reverse("verify_receipt"),
        {"code": version.receipt_code, "document": SimpleUploadedFile("p.pdf", content)},
    )
    body = response.content.decode()
    assert "The file matches the submitted PDF exactly" in body
    other = client.post(
        reverse("verify_receipt"),
        {"code": version.receipt_code, "document": SimpleUploadedFile("p.pdf", make_pdf(1))},
    )
    assert "does NOT match" in other.content.decode()
    assert stored_bytes == {"bytes": 0, "files": 0}


def test_verify_refuses_a_file_over_the_limit_and_keeps_the_code(client, settings, stored_bytes):
    settings.MAX_PDF_BYTES = 50_000
    response = client.post(
        reverse("verify_receipt"),
        {"code": "R-ABCD-EFGH-JKMN", "document": SimpleUploadedFile("p.pdf", b"%PDF-" * 40_000)},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The file is larger than 49 KB, the largest PDF the portal accepts." in body
    assert 'value="R-ABCD-EFGH-JKMN"' in body  # what was typed is still there
    assert "No submission has this receipt code" not in body  # nothing was checked
    assert stored_bytes == {"bytes": 0, "files": 0}


# --- Rate limits of the public forms ---------------------------------------------------------


def _is_portal_429(response) -> bool:
    body = response.content.decode()
    return (
        response.status_code == 429
        and response["Retry-After"] == "60"
        and "Too many attempts" in body
        and 'class="skip-link"' in body  # the portal's layout
    )


def test_verify_is_limited_per_client_address(client):
    url = reverse("verify_receipt")
    for n in range(10):
        response = client.post(url, {"code": f"R-AAAA-BBBB-{n:04d}"}, REMOTE_ADDR="192.0.2.1")
        assert response.status_code == 200
    assert _is_portal_429(client.post(url, {"code": "R-X"}, REMOTE_ADDR="192.0.2.1"))
    assert client.post(url, {"code": "R-X"}, REMOTE_ADDR="192.0.2.2").status_code == 200
    assert client.get(url, REMOTE_ADDR="192.0.2.1").status_code == 200  # reading is not limited


def test_subscribing_is_limited_per_client_address(client):
    url = reverse("subscribe")
    for n in range(5):
        client.post(url, {"email": f"s{n}@example.com"})
    assert _is_portal_429(client.post(url, {"email": "late@example.com"}))
    assert not Subscription.objects.filter(email="late@example.com").exists()
    assert not OutboxMessage.objects.filter(to="late@example.com").exists()


def test_questions_are_limited_per_account(client, proposer, open_rfp):
    client.force_login(proposer)
    url = reverse("rfp_ask", args=[open_rfp.slug])
    for n in range(5):
        assert client.post(url, {"text": f"Question {n}?"}).status_code == 302
    assert _is_portal_429(client.post(url, {"text": "One more?"}))
    assert not open_rfp.questions.filter(text="One more?").exists()


def test_sign_up_over_its_limit_gets_the_portal_429_page(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/m/ip"}
    data = {"email": "a@example.com", "password1": "x", "password2": "y", "full_name": "A"}
    client.post(reverse("account_signup"), data)
    assert _is_portal_429(client.post(reverse("account_signup"), data))


# --- Sign-in throttling: the client's address, and the owner is never locked out -------------


def _fail_sign_ins(client, emails, **meta):
    for email in emails:
        client.post(reverse("account_login"), {"login": email, "password": "wrong-1"}, **meta)


def _sign_in(client, email, password, **meta):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **meta)


def test_behind_a_trusted_proxy_one_clients_failures_do_not_block_another(
    client, settings, proposer, password
):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the proxy
    rival = {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    _fail_sign_ins(client, [f"nobody{n}@example.com" for n in range(10)], **rival)
    refused = _sign_in(client, proposer.email, password, **rival)
    assert "Too many failed sign-ins" in refused.content.decode()
    # A client that spoofs the header gets the address the proxy appended: the rival's.
    spoofed = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.66"}
    assert (
        "Too many failed sign-ins"
        in _sign_in(client, proposer.email, password, **spoofed).content.decode()
    )
    owner = {**proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    response = _sign_in(client, proposer.email, password, **owner)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(proposer.pk)


def test_without_trusted_proxies_x_forwarded_for_is_ignored(client, settings, proposer, password):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    _fail_sign_ins(
        client,
        [f"nobody{n}@example.com" for n in range(10)],
        REMOTE_ADDR="203.0.113.66",
        HTTP_X_FORWARDED_FOR="192.0.2.10",
    )
    response = _sign_in(
        client,
        proposer.email,
        password,
        REMOTE_ADDR="203.0.113.66",
        HTTP_X_FORWARDED_FOR="192.0.2.99",  # a new "address" in the header changes nothing
    )
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_trusted_proxy_count_is_read_from_the_environment(tmp_path):
    show = [
        "shell",
        "-c",
        "from django.conf import settings; print(settings.ALLAUTH_TRUSTED_PROXY_COUNT)",
    ]
    ok = manage_py(show, {"TRUSTED_PROXY_COUNT": "1", "VAR_DIR": str(tmp_path)})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "1"
    bad = manage_py(["check"], {"TRUSTED_PROXY_COUNT": "one", "VAR_DIR": str(tmp_path)})
    assert bad.returncode != 0 and "TRUSTED_PROXY_COUNT" in bad.stderr


def _latest_code(email: str) -> str:
    message = OutboxMessage.objects.filter(to=email, template="account/email/login_code").latest(
        "pk"
    )
    lines = [line.strip() for line in message.body_text.splitlines()]
    start = next(i for i, line in enumerate(lines) if "sign-in code is listed" in line)
    return next(line for line in lines[start + 1 :] if line)


def test_a_rival_who_uses_up_the_failures_cannot_keep_the_owner_out(proposer, password):
    from django.test import Client

    rival, owner = Client(REMOTE_ADDR="203.0.113.66"), Client(REMOTE_ADDR="198.51.100.7")
    _fail_sign_ins(rival, [proposer.email] * 5)
    # The rival asks for sign-in codes for the account too, each time in a new session, until
    # refused: that uses up the rival's own requests, not the owner's.
    refused = None
    for _ in range(4):
        refused = Client(REMOTE_ADDR="203.0.113.66").post(
            reverse("account_request_login_code"), {"email": proposer.email}
        )
    assert refused.status_code == 200 and "Too many" in refused.content.decode()
    # The owner's password is paused for the account (that is what slows a guesser down) ...
    page = _sign_in(owner, proposer.email, password)
    body = page.content.decode()
    assert "Too many failed sign-ins" in body and "Send me a sign-in code" in body
    assert "_auth_user_id" not in owner.session
    # ... and the documented way in still works: a code e-mailed to the owner.
    assert (
        reverse("account_request_login_code")
        in owner.get(reverse("account_login")).content.decode()
    )
    response = owner.post(reverse("account_request_login_code"), {"email": proposer.email})
    assert response.status_code == 302 and response.url == reverse("account_confirm_login_code")
    response = owner.post(
        reverse("account_confirm_login_code"), {"code": _latest_code(proposer.email)}
    )
    assert response.status_code == 302
    assert owner.session["_auth_user_id"] == str(proposer.pk)


def test_staff_signing_in_by_code_still_give_their_second_factor(client, staff):
    client.post(reverse("account_request_login_code"), {"email": staff.email})
    response = client.post(
        reverse("account_confirm_login_code"), {"code": _latest_code(staff.email)}
    )
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session


# --- `next` is a page of the portal, never a URL name or another site ------------------------

UNSAFE_NEXT = ["abc", "home", "//evil.example", "https://evil.example", "/\\evil.example"]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "Not/AZone"])
def test_time_zone_form_redirects_home_for_an_unsafe_next(client, target, zone):
    response = client.post(reverse("set_time_zone"), {"time_zone": zone, "next": target})
    assert response.status_code == 302 and response.url == "/"


def test_time_zone_form_keeps_a_page_of_the_portal(client, open_rfp):
    target = open_rfp.get_absolute_url() + "?x=1"
    response = client.post(reverse("set_time_zone"), {"time_zone": "UTC", "next": target})
    assert response.url == target


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_language_switch_ignores_an_unsafe_next(client, target):
    response = client.post(reverse("set_language"), {"language": "es", "next": target})
    assert response.status_code == 302 and response.url == "/"
    assert client.cookies["django_language"].value == "es"


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_sign_in_and_out_ignore_an_unsafe_next(client, proposer, password, target):
    response = client.post(
        reverse("account_login") + f"?next={target}",
        {"login": proposer.email, "password": password},
    )
    assert response.status_code == 302 and response.url == "/"
    response = client.post(reverse("account_logout"), {"next": target})
    assert response.status_code == 302 and response.url == "/"


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_addendum_acknowledgement_ignores_an_unsafe_next(client, proposer, open_rfp, staff, target):
    from django.utils import timezone

    from proposals import addenda

    addendum = addenda.publish_addendum(
        rfp=open_rfp,
        changes={"summary": open_rfp.summary + " Clarified."},
        change_note="Clarified the summary.",
        actor=staff,
        now=timezone.now(),
    )
    client.force_login(proposer)
    response = client.post(
        reverse("addendum_acknowledge", args=[open_rfp.slug, addendum.number]), {"next": target}
    )
    assert response.status_code == 302 and response.url == open_rfp.get_absolute_url()


# --- Mails to addresses nobody has confirmed carry nothing the sender typed ------------------


def test_sign_up_mail_carries_nothing_the_signer_typed(client):
    client.post(
        reverse("account_signup"),
        {
            "email": "stranger@example.com",
            "password1": "Correct-Horse-Battery-9",
            "password2": "Correct-Horse-Battery-9",
            "full_name": PHISHING_NAME,
            "organisation": "Pay now at https://evil.example/org",
        },
    )
    assert User.objects.filter(email="stranger@example.com").exists()
    message = OutboxMessage.objects.get(to="stranger@example.com")
    text = message.subject + message.body_text + message.body_html
    assert re.search(r"/accounts/confirm-email/", text)
    assert "evil.example" not in text and "invoice" not in text and "Pay now" not in text


def test_co_author_invitation_carries_no_name_or_title_the_inviter_typed(proposer, open_rfp):
    from django.utils import timezone

    from proposals import submission, team

    proposer.full_name = PHISHING_NAME
    proposer.save()
    proposal = submission.start_proposal(
        rfp=open_rfp,
        user=proposer,
        title="Urgent: verify your bank at https://evil.example/bank",
        now=timezone.now(),
    )
    team.invite(proposal=proposal, owner=proposer, email="stranger@example.com", now=timezone.now())
    message = OutboxMessage.objects.get(to="stranger@example.com")
    text = message.subject + message.body_text
    assert proposer.email in text and open_rfp.title in text
    assert "evil.example" not in text and "invoice" not in text and "bank" not in text


def test_admin_sign_in_ignores_an_unsafe_next(client, staff, password):
    from django.test import Client

    client = Client(raise_request_exception=False)
    sign_in_with_mfa(client, staff, password)
    response = client.get(reverse("admin:login") + "?next=abc")
    assert response.status_code == 302 and response.url == reverse("admin:index")


def _post_draft(client, proposal, document):
    proposal.refresh_from_db()
    return client.post(proposal.get_absolute_url(), form_data(proposal, document=document))


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("proposal.pdf", data, content_type="application/pdf")


def test_a_pdf_too_complex_to_check_pauses_its_account_for_a_minute(client, proposer, open_rfp):
    """A refusal at the check's limits cost the server up to the whole limit, so one of them
    pauses the account (three ordinary refusals do, below); other accounts are not paused."""
    from django.utils import timezone

    from proposals import submission
    from rfp_portal import permissions
    from tests.factories import UserFactory
    from tests.proposals.hostile_pdfs import objstm_bomb

    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Rival", now=timezone.now()
    )
    client.force_login(proposer)
    assert (
        "too complex to check"
        in _post_draft(client, draft, _upload(objstm_bomb())).content.decode()
    )
    # The next is not checked at all: answered at once, in words, and nothing is saved.
    paused = _post_draft(client, draft, pdf_upload()).content.decode()
    assert "waits a minute before checking another" in paused
    draft.refresh_from_db()
    assert not draft.document

    other = UserFactory(roles=[permissions.Role.PROPOSER])
    theirs = submission.start_proposal(rfp=open_rfp, user=other, title="Honest", now=timezone.now())
    client.force_login(other)
    assert _post_draft(client, theirs, pdf_upload()).status_code == 302
    theirs.refresh_from_db()
    assert theirs.document


def test_an_account_whose_pdfs_keep_being_refused_waits_before_the_next_check(
    client, proposer, open_rfp
):
    from django.utils import timezone

    from proposals import submission
    from tests.proposals.hostile_pdfs import deep_nesting

    draft = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Rival", now=timezone.now()
    )
    client.force_login(proposer)
    for _ in range(3):  # damaged, cheap to refuse: three of them in a minute
        answer = _post_draft(client, draft, _upload(deep_nesting())).content.decode()
        assert "seems to be damaged" in answer
    paused = _post_draft(client, draft, pdf_upload()).content.decode()
    assert "waits a minute before checking another" in paused
    draft.refresh_from_db()
    assert not draft.document


def test_an_account_has_one_pdf_check_in_flight_at_a_time(client, rf, proposer, open_rfp):
    """Refusals are counted when their checks end, so uploads sent all at once would otherwise
    all be checked at once. While one of the account's uploads holds the check, another is
    answered at once, without a check, and nothing is saved; then it goes through."""
    from django.utils import timezone

    from proposals import submission
    from rfp_portal import ratelimits

    draft = submission.start_proposal(rfp=open_rfp, user=proposer, title="Rush", now=timezone.now())
    client.force_login(proposer)
    elsewhere = rf.post("/")
    elsewhere.user = proposer
    with ratelimits.one_pdf_check_at_a_time(elsewhere) as claimed:
        assert claimed
        answer = _post_draft(client, draft, pdf_upload())
        assert answer.status_code == 400
        assert "is being checked right now" in answer.content.decode()
        draft.refresh_from_db()
        assert not draft.document
    assert _post_draft(client, draft, pdf_upload()).status_code == 302
    draft.refresh_from_db()
    assert draft.document
