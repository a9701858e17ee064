"""The permissions module for each role, and how guarded areas turn people away."""

import pytest
from django.urls import reverse

from proposals import rules
from rfp_portal import permissions
from rfp_portal.permissions import Area, Role
from tests.factories import RFPFactory, UserFactory
from tests.helpers.accounts import sign_in_with_mfa

pytestmark = pytest.mark.django_db


def test_new_user_has_no_role_and_anonymous_has_none(client):
    user = UserFactory()
    assert permissions.roles_of(user) == frozenset()
    from django.contrib.auth.models import AnonymousUser

    assert permissions.roles_of(AnonymousUser()) == frozenset()


def test_proposer_may_enter_neither_reviewer_nor_staff_area(proposer):
    assert permissions.roles_of(proposer) == {Role.PROPOSER}
    assert not permissions.can_enter(proposer, Area.REVIEWER)
    assert not permissions.can_enter(proposer, Area.STAFF)
    assert not permissions.can_use_admin(proposer)
    assert not permissions.needs_mfa_setup(proposer)


def test_reviewer_needs_mfa_to_enter_reviewer_area(reviewer, reviewer_without_mfa):
    assert permissions.can_enter(reviewer, Area.REVIEWER)
    assert not permissions.can_enter(reviewer, Area.STAFF)
    assert not permissions.can_enter(reviewer_without_mfa, Area.REVIEWER)
    assert permissions.needs_mfa_setup(reviewer_without_mfa)


def test_staff_needs_mfa_and_admin_flag_for_admin(staff, staff_without_mfa):
    assert permissions.can_enter(staff, Area.STAFF)
    assert permissions.can_use_admin(staff)
    assert not permissions.can_use_admin(staff_without_mfa)
    staff.is_staff = False
    assert not permissions.can_use_admin(staff)


def test_inactive_user_has_no_roles(staff):
    staff.is_active = False
    permissions._forget(staff)
    assert permissions.roles_of(staff) == frozenset()


def test_draft_rfp_visible_to_staff_only(proposer, staff):
    draft = RFPFactory(status="draft", published_at=None)
    assert not rules.can_view_rfp(proposer, draft)
    assert rules.can_view_rfp(staff, draft)


def test_grant_and_revoke_role_take_effect_at_once(proposer):
    permissions.grant_role(proposer, Role.REVIEWER)
    assert permissions.has_role(proposer, Role.REVIEWER)
    permissions.revoke_role(proposer, Role.REVIEWER)
    assert not permissions.has_role(proposer, Role.REVIEWER)


@pytest.mark.parametrize("url_name", ["reviewer_home", "staff_home"])
def test_anonymous_is_sent_to_sign_in(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("url_name", ["reviewer_home", "staff_home"])
def test_proposer_is_refused_with_403(client, proposer, url_name):
    client.force_login(proposer)
    assert client.get(reverse(url_name)).status_code == 403


def test_reviewer_without_mfa_is_redirected_to_mfa_setup_with_explanation(
    client, reviewer_without_mfa
):
    client.force_login(reviewer_without_mfa)
    response = client.get(reverse("reviewer_home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_index")
    assert "two-factor authentication before they can continue" in response.content.decode()


def test_staff_without_mfa_is_redirected_from_staff_pages_and_admin(client, staff_without_mfa):
    client.force_login(staff_without_mfa)
    assert client.get(reverse("staff_home")).url == reverse("mfa_index")
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("mfa_index")


def test_reviewer_signed_in_with_totp_reaches_reviewer_area_not_staff(client, reviewer, password):
    sign_in_with_mfa(client, reviewer, password)
    assert client.get(reverse("reviewer_home")).status_code == 200
    assert client.get(reverse("staff_home")).status_code == 403


def test_staff_signed_in_with_totp_reaches_staff_area_and_admin(client, staff, password):
    sign_in_with_mfa(client, staff, password)
    assert client.get(reverse("staff_home")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_login_goes_through_allauth(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_proposer_cannot_use_admin(client, proposer):
    client.force_login(proposer)
    response = client.get(reverse("admin:index"))
    # The admin sends users without permission to its login, which refuses them.
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert client.get(response.url).status_code == 403


def test_createstaff_makes_a_staff_user_who_must_still_set_up_mfa(monkeypatch, capsys):
    from django.core.management import CommandError, call_command

    from rfp_portal.models import User

    monkeypatch.setenv("FIRST_STAFF_PASSWORD", "a-long-staff-password-7")
    call_command(
        "createstaff",
        "Boss@Example.org",
        "--name",
        "Bo Ss",
        "--password-from-env",
        "FIRST_STAFF_PASSWORD",
    )
    user = User.objects.get(email="boss@example.org")
    assert user.is_staff and user.check_password("a-long-staff-password-7")
    assert permissions.has_role(user, Role.STAFF)
    assert permissions.needs_mfa_setup(user) and not permissions.can_use_admin(user)
    assert user.emailaddress_set.get().verified
    assert "two-factor" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not an e-mail address"):
        call_command("createstaff", "nobody", "--password-from-env", "FIRST_STAFF_PASSWORD")
    monkeypatch.setenv("SHORT", "short")
    with pytest.raises(CommandError, match="at least 10"):
        call_command("createstaff", "x@example.org", "--password-from-env", "SHORT")


def test_staff_cannot_make_anyone_superuser_in_the_admin(client, staff, proposer, password):
    sign_in_with_mfa(client, staff, password)
    url = reverse("admin:rfp_portal_user_change", args=[staff.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()  # shown read-only
    form = page.context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if name in form.fields and value is not None and name != "groups"
    }
    data.update(
        {
            "email": staff.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [g.pk for g in staff.groups.all()],
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    staff.refresh_from_db()
    assert not staff.is_superuser


def test_error_pages_use_the_portal_layout_and_500_needs_no_request_context(client, proposer):
    from django.test import RequestFactory
    from django.views.defaults import server_error

    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and "Nothing you had saved is lost" in page
    assert "/static/css/site.css" in page and '<html lang="en">' in page
    client.force_login(proposer)
    missing = client.get("/rfps/no-such-rfp/")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()
