"""Open contracting data as JSON (evaluation.ocds): an RFP's release package, its record
package, and every published RFP's releases, a page at a time. Public, read only (GET and
HEAD), the same bytes for everyone (no cookie or language changes them), cacheable, and
readable from other sites (CORS): drafts are 404 for everyone, staff included.

Served from evaluation because the award release reads the published decisions: proposals,
the layer below, cannot."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.http import require_safe

from evaluation import ocds
from proposals import selectors

# RFPs per page of /ocds/releases.json (each has at most three releases).
PAGE_SIZE = 20


def _json(request: HttpRequest, data: dict[str, Any], *, links: dict[str, str] | None = None):
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    etag = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=300)
    response["Access-Control-Allow-Origin"] = "*"
    if links:
        response["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
    return response


def _published(slug: str):
    return get_object_or_404(selectors.published_rfps(), slug=slug)


@require_safe
def release_package(request: HttpRequest, slug: str) -> HttpResponse:
    """Every release of one published RFP (tender; opening; award)."""
    rfp = _published(slug)
    return _json(request, ocds.release_package(ocds.releases(rfp), uri=ocds.rfp_package_uri(rfp)))


@require_safe
def record_package(request: HttpRequest, slug: str) -> HttpResponse:
    """One record: the RFP's releases and their compiled release."""
    rfp = _published(slug)
    package = ocds.record_package(
        rfp, uri=ocds.rfp_record_uri(rfp), package_uri=ocds.rfp_package_uri(rfp)
    )
    return _json(request, package)


@require_safe
def all_releases(request: HttpRequest) -> HttpResponse:
    """Every published RFP's releases, PAGE_SIZE RFPs a page, oldest published first (so a
    page's contents stay put as RFPs are published); `?page=N`, and Link headers to the next
    and previous pages (RFC 8288)."""
    rfps = selectors.published_rfps().order_by("published_at", "pk")
    paginator = Paginator(rfps, PAGE_SIZE)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        raise Http404 from None  # the first page exists even when empty
    path = ocds.absolute(reverse("ocds_releases"))
    found = [release for rfp in page.object_list for release in ocds.releases(rfp)]
    links = {}
    if page.has_next():
        links["next"] = f"{path}?page={page.next_page_number()}"
    if page.has_previous():
        links["prev"] = f"{path}?page={page.previous_page_number()}"
    uri = path if page.number == 1 else f"{path}?page={page.number}"
    return _json(request, ocds.release_package(found, uri=uri), links=links)
