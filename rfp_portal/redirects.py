"""Where a form may send the person next: only to a page of the portal itself.

A `next` value comes from the request, so it is a URL to check, never a URL name to look up
(django.shortcuts.redirect("abc") tries reverse("abc") and fails with a 500). It is accepted
only as a path on this site ("/rfps/x/?a=1"), checked with Django's
url_has_allowed_host_and_scheme; anything else ("abc", "//evil.example",
"https://evil.example", "/\\evil.example", "javascript:…") gives the caller's safe default.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def is_safe_next(request: HttpRequest | None, target: str | None) -> bool:
    """Whether `target` is a path of this site (absolute path, no scheme or host)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    hosts = {request.get_host()} if request is not None else set()
    return url_has_allowed_host_and_scheme(
        target,
        allowed_hosts=hosts,
        require_https=request.is_secure() if request is not None else False,
    )


def safe_next(request: HttpRequest, target: str | None, default: str = "/") -> str:
    return target if is_safe_next(request, target) else default


def redirect_to_next(request: HttpRequest, target: str | None, default: str = "/"):
    """A redirect to `target` if it is a page of the portal, else to `default` (a URL)."""
    return HttpResponseRedirect(safe_next(request, target, default))
