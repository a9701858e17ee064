"""Who holds which role, and who may enter which area of the portal.

Roles are Django groups (proposer, reviewer, staff). Reviewer and staff areas also need MFA: a
member of those groups without an authenticator is sent to the MFA set-up page first.
Rules about single objects live with their models: RFPs, teams and sealing in proposals.rules,
assignments, conflicts and reviews in evaluation.rules; both decide with the roles read here.
Views never test `is_staff` or group names themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import TYPE_CHECKING, Any

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from rfp_portal.models import User

if TYPE_CHECKING:
    AnyUser = User | AnonymousUser


class Role(StrEnum):
    PROPOSER = "proposer"
    REVIEWER = "reviewer"
    STAFF = "staff"


class Area(StrEnum):
    """Parts of the site guarded as a whole."""

    REVIEWER = "reviewer"
    STAFF = "staff"


# Roles whose holders must have a second factor before they see anything of their role.
MFA_ROLES = frozenset({Role.REVIEWER, Role.STAFF})
AREA_ROLES = {Area.REVIEWER: Role.REVIEWER, Area.STAFF: Role.STAFF}


def ensure_groups() -> dict[Role, Group]:
    """Create the role groups if missing (migrations and the demo loader call this)."""
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


def grant_role(user: User, role: Role | str) -> None:
    role = Role(role)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    _forget(user)


def revoke_role(user: User, role: Role) -> None:
    user.groups.remove(*Group.objects.filter(name=role.value))
    _forget(user)


def _forget(user: AnyUser) -> None:
    for attr in ("_portal_roles", "_portal_has_mfa"):
        user.__dict__.pop(attr, None)


def roles_of(user: AnyUser) -> frozenset[Role]:
    """The user's roles, read once per request object."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = user.__dict__.get("_portal_roles")
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = frozenset(role for role in Role if role.value in names)
        user.__dict__["_portal_roles"] = cached
    return cached


def has_role(user: AnyUser, role: Role) -> bool:
    return role in roles_of(user)


def holders_of(role: Role):
    """The active accounts holding a role (whom to tell, e.g. every staff member)."""
    return User.objects.filter(is_active=True, groups__name=Role(role).value).order_by("pk")


def has_mfa(user: AnyUser) -> bool:
    """True when the user has a second factor that can sign them in (TOTP or WebAuthn)."""
    if not user.is_authenticated:
        return False
    cached = user.__dict__.get("_portal_has_mfa")
    if cached is None:
        cached = Authenticator.objects.filter(
            user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
        ).exists()
        user.__dict__["_portal_has_mfa"] = cached
    return cached


def needs_mfa_setup(user: AnyUser) -> bool:
    return bool(roles_of(user) & MFA_ROLES) and not has_mfa(user)


def can_enter(user: AnyUser, area: Area) -> bool:
    return has_role(user, AREA_ROLES[area]) and has_mfa(user)


def is_staff_member(user: AnyUser) -> bool:
    return can_enter(user, Area.STAFF)


def is_reviewer(user: AnyUser) -> bool:
    return can_enter(user, Area.REVIEWER)


def can_use_admin(user: AnyUser) -> bool:
    """The Django admin is a staff tool: staff role, MFA and the admin flag."""
    return bool(user.is_authenticated and user.is_active and user.is_staff) and is_staff_member(
        user
    )


def can_browse_audit(user: AnyUser) -> bool:
    return is_staff_member(user)


def area_denial(request: HttpRequest, area: Area) -> HttpResponse | None:
    """None when the request may enter the area, else the response that turns it away.

    Signed out → sign-in page; no role → 403; role without MFA → MFA set-up with a reason.
    """
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not has_role(user, AREA_ROLES[area]):
        raise PermissionDenied(_("This part of the portal is not open to your account."))
    if not has_mfa(user):
        messages.warning(
            request,
            _(
                "Reviewers and staff must protect their account with two-factor "
                "authentication before they can continue. Set up an authenticator app "
                "(or a security key) below, then go back to the page you wanted."
            ),
        )
        return redirect("mfa_index")
    return None


def area_required(area: Area) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """View decorator: the view runs only for users who may enter the area."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            denial = area_denial(request, area)
            if denial is not None:
                return denial
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


staff_required = area_required(Area.STAFF)
reviewer_required = area_required(Area.REVIEWER)


def reviewer_or_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For pages both evaluators' roles use: staff, or reviewers (each with MFA)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        area = Area.STAFF if has_role(request.user, Role.STAFF) else Area.REVIEWER
        denial = area_denial(request, area)
        if denial is not None:
            return denial
        return view(request, *args, **kwargs)

    return wrapper


def nav_for(user: AnyUser) -> dict[str, bool]:
    """What the navigation offers this user (drawn in templates/partials/nav.html)."""
    roles = roles_of(user)
    return {
        "signed_in": bool(user.is_authenticated),
        "proposer": Role.PROPOSER in roles,
        "reviewer": Role.REVIEWER in roles,
        "staff": Role.STAFF in roles,
        "admin": can_use_admin(user),
        "needs_mfa": needs_mfa_setup(user),
    }
