"""Rate limits of the public forms, per client, counted in Django's cache.

The counters, the rates' syntax and the client's address are allauth's (allauth.core.ratelimit):
the address is the connecting one, or, with ALLAUTH_TRUSTED_PROXY_COUNT (TRUSTED_PROXY_COUNT)
set, the one the trusted proxies wrote into X-Forwarded-For; IPv6 addresses count per /64.
The rates sit in settings.ACCOUNT_RATE_LIMITS beside allauth's own (sign-in, sign-up, password
reset, sign-in codes). Only POSTs count: reading a page is never limited.

A refused request gets the portal's 429 page (templates/429.html,
rfp_portal.views.too_many_requests).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import wraps

from allauth.core import ratelimit
from allauth.core.internal.ratelimit import get_ip
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

VERIFY_RECEIPT = "verify_receipt"  # /verify/: receipt codes guessed per address
ASK_QUESTION = "ask_question"  # questions on an RFP page, per account
SUBSCRIBE = "subscribe"  # "E-mail me about new RFPs", per address
PDF_REFUSED = "pdf_refused"  # uploads the PDF check refused, per account
PDF_TOO_COMPLEX = "pdf_too_complex"  # of those, the ones that ran into the check's limits
# How long an account's claim on its one PDF check outlives a worker that died holding it.
PDF_CHECK_CLAIM_MARGIN_SECONDS = 30
RETRY_AFTER_SECONDS = 60


def allowed(request: HttpRequest, action: str, *, key: str | None = None) -> bool:
    """Count this request against `action`'s rates; False once any of them is used up."""
    return ratelimit.consume(request, action=action, key=key)


def client_key(request: HttpRequest, value: str) -> str:
    """A rate-limit key for `value` (an e-mail address) as sent by this client address."""
    return f"{get_ip(request)}|{value}"


def limited(action: str) -> Callable:
    """A view decorator: a POST over `action`'s rates gets the 429 page, and the view does
    not run (nothing is read from the body, nothing is stored, no mail goes out)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not allowed(request, action):
                return ratelimit.respond_429(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def pdf_check_allowed(request: HttpRequest) -> bool:
    """Whether this account may have a PDF checked now (nothing is counted here).

    A check of a hostile file costs up to its time limit in CPU (proposals.pdfguard), so an
    account whose recent uploads were refused waits before the next is checked: after three
    refusals in a minute, or after one that ran into the check's limits (pdf_too_complex).
    Refusals are counted per account, never per address: a rival behind a bidder's network
    cannot pause the bidder's uploads.
    """
    return all(
        ratelimit.consume(request, action=action, dry_run=True)
        for action in (PDF_REFUSED, PDF_TOO_COMPLEX)
    )


def count_refused_pdf(request: HttpRequest, *, too_complex: bool = False) -> None:
    ratelimit.consume(request, action=PDF_REFUSED)
    if too_complex:
        ratelimit.consume(request, action=PDF_TOO_COMPLEX)


@contextlib.contextmanager
def one_pdf_check_at_a_time(request: HttpRequest) -> Iterator[bool]:
    """Claim the account's one PDF check in flight; yields False if another request of the
    same account holds it.

    Without it, refusals are counted only once their checks end, so an account sending many
    uploads at once would have them all checked at once, each up to the check's limit. The
    claim sits in the shared cache (Redis in production, so it holds across workers and
    machines) and expires on its own if the worker holding it dies.
    """
    key = f"pdf-check-in-flight:{request.user.pk}"
    timeout = int(settings.PDF_CHECK_SECONDS) + PDF_CHECK_CLAIM_MARGIN_SECONDS
    claimed = cache.add(key, 1, timeout=timeout)
    try:
        yield claimed
    finally:
        if claimed:
            cache.delete(key)
