"""Account services used outside the sign-up flow: operators, the demo loader and tests."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction

from rfp_portal import audit, permissions
from rfp_portal.audit import AuditAction
from rfp_portal.models import User


@transaction.atomic
def ensure_user(
    *,
    email: str,
    password: str | None,
    roles: tuple[permissions.Role, ...] = (),
    full_name: str = "",
    organisation: str = "",
    admin_access: bool = False,
    totp_secret: str | None = None,
) -> tuple[User, bool]:
    """Create the user if missing (verified e-mail, roles, optional TOTP); never overwrite.

    Returns (user, created). An existing user keeps their password and authenticators; only
    missing roles are added, so running this twice changes nothing.
    """
    email = email.strip().lower()
    user = User.objects.filter(email=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(
            email=email,
            password=password,
            full_name=full_name,
            organisation=organisation,
            is_staff=admin_access,
        )
        audit.record(
            action=AuditAction.ACCOUNT_CREATED_BY_OPERATOR, obj=user, details={"roles": roles}
        )
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    for role in roles:
        if not permissions.has_role(user, role):
            permissions.grant_role(user, role)
    if (
        totp_secret
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    ):
        TOTP.activate(user, totp_secret)
    return user, created
