"""allauth forms the portal changes (kept apart from rfp_portal.forms, which allauth imports
while its own forms module loads)."""

from __future__ import annotations

from allauth.account import app_settings
from allauth.account.adapter import get_adapter
from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.account.internal.userkit import filter_users_by_email
from allauth.core import context

from rfp_portal import ratelimits


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    """The "Send me a sign-in code" form, with its per-e-mail limit counted per client address too.

    allauth counts code requests per e-mail address only, so someone else could use them up
    for an account whose password they are also guessing, and shut its owner out of both ways
    in. Counted per (address, e-mail address), a client wears out only its own requests; the
    per-address limit still caps how many mails one client makes the portal send."""

    def clean_email(self) -> str:
        adapter = get_adapter()
        email = self.cleaned_data["email"]
        if email:
            users = filter_users_by_email(
                email, is_active=True, prefer_verified=True, for_login=True
            )
            if not app_settings.PREVENT_ENUMERATION and not users:
                raise adapter.validation_error("unknown_email")
            if not ratelimits.allowed(
                context.request,
                "request_login_code",
                key=ratelimits.client_key(context.request, email.lower()),
            ):
                raise adapter.validation_error("too_many_login_attempts")
            self._user = users[0] if users else None
        return email
