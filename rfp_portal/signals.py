"""Account events from allauth written to the audit trail (allauth offers them only as signals)."""

from allauth.account.signals import (
    email_confirmed,
    password_changed,
    password_reset,
    user_logged_in,
    user_signed_up,
)
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from rfp_portal import audit
from rfp_portal.audit import AuditAction


@receiver(user_signed_up)
def _signed_up(request, user, **kwargs):
    audit.record(action=AuditAction.ACCOUNT_SIGNED_UP, actor=user, obj=user, request=request)


@receiver(user_logged_in)
def _logged_in(request, user, **kwargs):
    audit.record(action=AuditAction.ACCOUNT_LOGGED_IN, actor=user, obj=user, request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(action=AuditAction.ACCOUNT_LOGGED_OUT, actor=user, obj=user, request=request)


@receiver(email_confirmed)
def _email_confirmed(request, email_address, **kwargs):
    audit.record(
        action=AuditAction.ACCOUNT_EMAIL_CONFIRMED,
        actor=email_address.user,
        obj=email_address.user,
        request=request,
        details={"email": email_address.email},
    )


@receiver(password_changed)
@receiver(password_reset)
def _password(request, user, **kwargs):
    audit.record(action=AuditAction.ACCOUNT_PASSWORD_CHANGED, actor=user, obj=user, request=request)


@receiver(authenticator_added)
def _mfa_added(sender, request, user, authenticator, **kwargs):
    audit.record(
        action=AuditAction.ACCOUNT_MFA_ADDED,
        actor=user,
        obj=user,
        request=request,
        details={"type": authenticator.type},
    )


@receiver(authenticator_removed)
def _mfa_removed(sender, request, user, authenticator, **kwargs):
    audit.record(
        action=AuditAction.ACCOUNT_MFA_REMOVED,
        actor=user,
        obj=user,
        request=request,
        details={"type": authenticator.type},
    )
