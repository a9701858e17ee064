"""allauth hooks: mails go through the outbox, new accounts get the proposer role, `next` is
only ever a page of the portal, and a throttled sign-in says how to get in anyway."""

from __future__ import annotations

import uuid

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.sites.shortcuts import get_current_site
from django.core.mail import EmailMultiAlternatives
from django.forms import ValidationError
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from rfp_portal import outbox, permissions, redirects

RETURN_KEY = "return_after_sign_in"


def return_here_after_sign_in(request) -> None:
    """Remember this page (an invitation link) for after sign-in, including a sign-up whose
    e-mail verification ends the anonymous visit's `next` parameter."""
    request.session[RETURN_KEY] = request.get_full_path()


SIGN_IN_THROTTLED = _(
    "Too many failed sign-ins for this account or from your connection: password sign-in is "
    "paused for a few minutes. To sign in now, choose “Send me a sign-in code” and "
    "enter the code we e-mail to you."
)


class AccountAdapter(DefaultAccountAdapter):
    def is_safe_url(self, url: str) -> bool:
        """A `next` is a path of the portal, never a name to look up or another site."""
        from allauth.core import context as allauth_context

        return redirects.is_safe_next(allauth_context.request, url)

    def pre_authenticate(self, request, **credentials) -> None:
        """allauth's login_failed limits (per client address and per account); when one is used
        up the message points at the sign-in code, which these limits do not block."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            raise ValidationError(SIGN_IN_THROTTLED, code="too_many_login_attempts") from None

    @staticmethod
    def _remembered(request) -> str | None:
        remembered = request.session.pop(RETURN_KEY, None)
        if remembered and url_has_allowed_host_and_scheme(
            remembered, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return remembered
        return None

    def get_login_redirect_url(self, request):
        return self._remembered(request) or super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request):
        # Also reached when the verification link of a new account signs its owner in.
        return self._remembered(request) or super().get_signup_redirect_url(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        from allauth.core import context as allauth_context

        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = ""
        if isinstance(message, EmailMultiAlternatives):
            html = next((body for body, kind in message.alternatives if kind == "text/html"), "")
        # Account mails (verification, reset) are requested by a person each time: every
        # request is a new message, so the key is unique per request.
        outbox.queue_mail(
            to=email,
            subject=message.subject,
            body_text=message.body,
            body_html=html,
            template=template_prefix,
            idempotency_key=f"account:{template_prefix}:{uuid.uuid4()}",
        )

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            permissions.grant_role(user, permissions.Role.PROPOSER)
        return user
