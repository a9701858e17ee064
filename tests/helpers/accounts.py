"""Signing up and signing in through the portal's own pages, with Django's test client."""

from django.urls import reverse

from tests.helpers.mfa import totp_code

NEW_PASSWORD = "Correct-Horse-Battery-9"


def sign_up(client, email="new.person@example.com", password=NEW_PASSWORD):
    return client.post(
        reverse("account_signup"),
        {
            "email": email,
            "password1": password,
            "password2": password,
            "full_name": "New Person",
            "organisation": "Example Co-op",
        },
    )


def sign_in_with_mfa(client, user, password):
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert response.status_code == 302, response.content[:500]
