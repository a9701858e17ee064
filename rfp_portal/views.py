"""Cross-cutting pages: time zone choice, profile, invitation links, and the
page shown when a form's CSRF token is refused."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from rfp_portal import ratelimits, redirects
from rfp_portal.adapters import return_here_after_sign_in
from rfp_portal.forms import ProfileForm, TimeZoneForm
from rfp_portal.middleware import TZ_COOKIE


def invitation_link_page(
    request: HttpRequest,
    token: str,
    *,
    load,
    accept,
    failure: type[Exception],
    template: str,
    sign_in_message,
    accepted,
) -> HttpResponse:
    """The page behind an e-mailed invitation link (co-authors and reviewers alike).

    `load(token)` finds the invitation and `accept(invitation=, user=, now=, request=)` accepts
    it, both raising `failure` with a message for the person; `sign_in_message(invitation)` asks
    a visitor to sign in (the page remembers itself for after sign-in or sign-up), and
    `accepted(result)` gives the success message and where to go next.
    """
    try:
        invitation = load(token)
    except failure as exc:
        return render(request, template, {"error": str(exc)}, status=400)
    if not request.user.is_authenticated:
        messages.info(request, sign_in_message(invitation))
        return_here_after_sign_in(request)
        return redirect_to_login(request.get_full_path())
    if request.method == "POST":
        try:
            result = accept(
                invitation=invitation, user=request.user, now=request.received_at, request=request
            )
        except failure as exc:
            context = {"error": str(exc), "invitation": invitation}
            return render(request, template, context, status=400)
        message, target = accepted(result)
        messages.success(request, message)
        return redirect(target)
    return render(request, template, {"invitation": invitation})


def too_many_requests(request: HttpRequest, exception=None) -> HttpResponse:
    """The portal's 429 page: allauth's limits (sign-in, sign-up, reset) and the portal's own
    (rfp_portal.ratelimits) both answer with it (urls.handler429)."""
    response = render(request, "429.html", status=429)
    response["Retry-After"] = str(ratelimits.RETRY_AFTER_SECONDS)
    return response


@require_POST
def set_time_zone(request: HttpRequest) -> HttpResponse:
    """Remember the viewer's zone in a cookie (the no-JavaScript path; JS sets it itself)."""
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a time zone from the list."))
        return redirects.redirect_to_next(request, request.POST.get("next"))
    response = redirects.redirect_to_next(request, form.cleaned_data["next"])
    response.set_cookie(
        TZ_COOKIE,
        form.cleaned_data["time_zone"],
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
    )
    messages.success(
        request,
        _("Times are now also shown in %(zone)s.") % {"zone": form.cleaned_data["time_zone"]},
    )
    return response


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, with a `next` that is not a page of the portal dropped first
    (Django then goes back to the referring page, or home)."""
    for params in ("POST", "GET"):
        data = getattr(request, params)
        if "next" in data and not redirects.is_safe_next(request, data.get("next")):
            data = data.copy()
            del data["next"]
            setattr(request, params, data)
    return i18n.set_language(request)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile has been saved."))
        return redirect("profile")
    return render(request, "account/profile.html", {"form": form})


# --- A form refused by the CSRF check -------------------------------------------------------

# Never echoed, never sent again: passwords, one-time codes, secrets, tokens (the CSRF token
# among them) and security-key credentials.
SECRET_FIELD = re.compile(r"pass|secret|token|otp|credential|^code$", re.IGNORECASE)
# Bookkeeping of the portal's own forms (which button, which edit, where to go next): sent
# again, but not listed as something the person typed.
FORM_CONTROLS = {"edit", "then", "action", "next"}


def _same_origin(request: HttpRequest) -> bool:
    """Whether the refused POST came from one of the portal's own pages.

    Only then does the page offer to send it again: a form posted from another site is a
    forgery attempt, and a one-click "send again" would complete it."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    own = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin in own
    referer = urlsplit(request.headers.get("Referer", ""))
    return f"{referer.scheme}://{referer.netloc}" in own


def _field_label(name: str) -> str:
    """A readable name for a posted field: "e_budget__12" → "Budget 12", "title" → "Title"."""
    words = [w for w in re.split(r"[\W_]+", name) if w]
    if len(words) > 1 and len(words[0]) == 1:
        words = words[1:]  # a one-letter namespace prefix such as "e_"
    label = " ".join(words) or name
    return label[:1].upper() + label[1:]


def _kept_fields(request: HttpRequest) -> tuple[list[tuple[str, str]], list[tuple[str, str]], bool]:
    """What a refused POST carried: every (name, value) to send again, the typed text to show,
    and whether it had a file. Secrets and files are never kept."""
    try:
        lists = list(request.POST.lists())
        had_file = bool(request.FILES)
    except (OSError, SuspiciousOperation, MultiPartParserError):
        return [], [], False  # an unreadable body (cut off, too many fields): nothing to keep
    resend, typed = [], []
    for name, values in lists:
        if SECRET_FIELD.search(name):
            continue
        resend.extend((name, value) for value in values)
        shown = [v for v in values if v.strip() and v != "on"]
        if name in FORM_CONTROLS or len(values) != 1 or not shown:
            continue  # buttons, bookkeeping, ticked boxes and multiple choices
        typed.append((_field_label(name), shown[0]))
    return resend, typed, had_file


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The portal's page for a form whose CSRF token was refused (settings.CSRF_FAILURE_VIEW).

    Usually the page was opened before the session changed (signed out and in again in another
    tab): the person is told so in plain words, and what they typed is kept. A POST from one of
    the portal's own pages can be sent again in one click, with a fresh token, to the same
    address; its text is also shown, to copy. Passwords and files are never kept."""
    host = {request.get_host()}
    action = request.get_full_path()
    same_site = (
        request.method == "POST"
        and _same_origin(request)
        and url_has_allowed_host_and_scheme(action, allowed_hosts=host)
    )
    resend, typed, had_file, back = [], [], False, ""
    if same_site:
        resend, typed, had_file = _kept_fields(request)
        referer = request.headers.get("Referer", "")
        if url_has_allowed_host_and_scheme(referer, allowed_hosts=host):
            back = referer
    context = {
        "retry_action": action if same_site else "",
        "resend": resend,
        "typed": typed,
        "had_file": had_file,
        "back": back,
        "no_cookie": reason == REASON_NO_CSRF_COOKIE,
    }
    return render(request, "403_csrf.html", context, status=403)
