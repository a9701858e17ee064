"""Sign-up, e-mail verification and sign-in, through the outbox, on the real database."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from rfp_portal import permissions
from rfp_portal.models import AuditEvent, OutboxMessage, User
from tests.helpers.accounts import NEW_PASSWORD, sign_up

pytestmark = pytest.mark.django_db(transaction=False)

LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/")


def test_signup_queues_verification_mail_in_outbox_and_delivers_it(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client)
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.person@example.com")
    assert user.full_name == "New Person" and user.organisation == "Example Co-op"
    assert permissions.has_role(user, permissions.Role.PROPOSER)
    message = OutboxMessage.objects.get(to=user.email)
    assert message.template == "account/email/email_confirmation_signup"
    assert message.state == OutboxMessage.State.SENT
    assert len(mail.outbox) == 1
    assert LINK.search(mail.outbox[0].body)
    assert AuditEvent.objects.filter(action="account.signed_up", actor=user).exists()


def test_unverified_user_cannot_sign_in_until_the_link_is_followed(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client)
    client.logout()
    response = client.post(
        reverse("account_login"),
        {"login": "new.person@example.com", "password": "Correct-Horse-Battery-9"},
    )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_following_verification_link_verifies_and_signs_in(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client)
    link = LINK.search(mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    confirm_url = "/" + path
    page = client.get(confirm_url)
    assert page.status_code == 200
    response = client.post(confirm_url)
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.com")
    assert user.emailaddress_set.get().verified
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("profile")).status_code == 200


def test_signup_with_bad_input_shows_errors_and_creates_nothing(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-email", "password1": "a", "password2": "b", "full_name": ""},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "error-summary" in body
    assert 'aria-invalid="true"' in body
    assert User.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_failed_sign_ins_are_throttled_even_for_the_right_password(client, proposer, password):
    for _ in range(5):
        client.post(reverse("account_login"), {"login": proposer.email, "password": "wrong-pw-1"})
    response = client.post(
        reverse("account_login"), {"login": proposer.email, "password": password}
    )
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_password_reset_mail_goes_through_the_outbox(
    client, proposer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": proposer.email})
    assert response.status_code == 302
    assert OutboxMessage.objects.filter(to=proposer.email, state="sent").count() == 1
    assert "password" in mail.outbox[0].subject.lower()


def test_profile_rejects_unknown_time_zone_and_keeps_the_rest(client, proposer):
    client.force_login(proposer)
    response = client.post(
        reverse("profile"),
        {"full_name": "Changed", "organisation": "X", "time_zone": "Mars/Olympus_Mons"},
    )
    assert response.status_code == 200
    proposer.refresh_from_db()
    assert proposer.full_name != "Changed"
    response = client.post(
        reverse("profile"),
        {"full_name": "Changed", "organisation": "X", "time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    proposer.refresh_from_db()
    assert (proposer.full_name, proposer.time_zone) == ("Changed", "Europe/Berlin")


@pytest.mark.parametrize("kind", ["reviewer", "co-author"])
def test_a_newcomer_invited_by_mail_signs_up_verifies_and_lands_back_on_the_invitation(
    client, django_capture_on_commit_callbacks, open_rfp, staff, proposer, kind
):
    """Following an invitation without an account: sign up from the sign-in page, follow the
    verification link, and the invitation is the next page (no need to find the link again)."""
    from django.utils import timezone

    from evaluation import services as evaluation_services
    from proposals import submission, team

    email = "newcomer@uni.example.edu"
    if kind == "reviewer":
        evaluation_services.invite_reviewer(
            rfp=open_rfp, email=email, staff_user=staff, now=timezone.now()
        )
        pattern = r"https?://\S+/reviewers/join/\S+/"
    else:
        proposal = submission.start_proposal(
            rfp=open_rfp, user=proposer, title="Ours", now=timezone.now()
        )
        team.invite(proposal=proposal, owner=proposer, email=email, now=timezone.now())
        pattern = r"https?://\S+/invitations/\S+/"
    body = OutboxMessage.objects.get(to=email).body_text
    invitation = "/" + re.search(pattern, body).group(0).split("://", 1)[1].split("/", 1)[1]

    response = client.get(invitation)
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    login_page = client.get(response.url).content.decode()
    signup_link = re.search(r'href="(/accounts/signup/[^"]*)"', login_page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            signup_link.replace("&amp;", "&"),
            {
                "email": email,
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
                "full_name": "New Comer",
                "organisation": "Uni",
            },
        )
    confirm = LINK.search(OutboxMessage.objects.filter(to=email).latest("pk").body_text).group(0)
    response = client.post("/" + confirm.split("://", 1)[1].split("/", 1)[1])
    assert response.status_code == 302
    assert response.url == invitation
    assert client.get(response.url).status_code == 200
