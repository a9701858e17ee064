"""Reviewing through the product's services: a reviewer with a second factor, a declaration of
no conflict, and a saved (or submitted) review."""

from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from evaluation import services
from rfp_portal import permissions
from tests.factories import UserFactory
from tests.helpers.mfa import TOTP_SECRET


def make_reviewer(email, organisation=""):
    user = UserFactory(email=email, organisation=organisation, roles=[permissions.Role.REVIEWER])
    TOTP.activate(user, TOTP_SECRET)
    return user


def declare_no_conflict(assignment, reviewer):
    return services.declare_conflict(
        assignment=assignment, user=reviewer, conflict=False, reason="", now=timezone.now()
    )


def save_review(assignment, reviewer, assessments, *, submit=False, comment=""):
    return services.save_review(
        assignment=assignment,
        user=reviewer,
        assessments=assessments,
        overall_comment=comment,
        submit=submit,
        now=timezone.now(),
    )
