"""Request-wide behaviour: the viewer's time zone."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from rfp_portal import deadlines

TZ_COOKIE = "tz"


def viewer_zone(request: HttpRequest) -> str | None:
    """The zone to show times in: the profile's, else the one the browser told us (cookie)."""
    user = getattr(request, "user", None)
    if (
        user is not None
        and user.is_authenticated
        and user.time_zone
        and deadlines.is_valid_zone(user.time_zone)
    ):
        return user.time_zone
    cookie = request.COOKIES.get(TZ_COOKIE, "")
    if cookie and deadlines.is_valid_zone(cookie):
        return cookie
    return None


class ViewerTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = viewer_zone(request)
        request.viewer_zone = zone
        if zone:
            timezone.activate(deadlines.resolve_zone(zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class RequestTimeMiddleware:
    """Stamp each request with the instant it reached the server (before any other work).

    Deadline checks use this instant: a submit that arrived in time is accepted even if the
    server was slow to process it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.received_at = timezone.now()
        return self.get_response(request)


# Powerful browser features the portal never uses are switched off for every page; WebAuthn
# (security keys, passkeys) stays allowed for the portal's own origin.
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "camera=()",
        "display-capture=()",
        "geolocation=()",
        "gyroscope=()",
        "magnetometer=()",
        "microphone=()",
        "midi=()",
        "payment=()",
        "usb=()",
        "publickey-credentials-create=(self)",
        "publickey-credentials-get=(self)",
    ]
)


class PermissionsPolicyMiddleware:
    """Sets Permissions-Policy on every response (pages, downloads, the admin)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
