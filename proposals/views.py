"""Public RFP pages and the staff RFP overview. Thin: parse, call a selector, render."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from proposals import selectors
from rfp_portal import deadlines, ics, permissions
from rfp_portal.markdown import render_markdown


def home(request: HttpRequest) -> HttpResponse:
    listing = selectors.rfp_listing(now=timezone.now())
    return render(request, "proposals/home.html", {"listing": listing})


def rfp_detail(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    criteria = list(rfp.criteria.all())
    return render(
        request,
        "proposals/rfp_detail.html",
        {
            "rfp": rfp,
            "body_html": render_markdown(rfp.body_markdown),
            "totals": selectors.scope_totals(rfp),
            "gates": [c for c in criteria if c.is_gate],
            "scored": [c for c in criteria if not c.is_gate],
            "equal_weights": len({c.weight for c in criteria if not c.is_gate}) <= 1,
            "now": timezone.now(),
        },
    )


def rfp_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    url = request.build_absolute_uri(rfp.get_absolute_url())
    text = ics.event(
        uid=f"deadline-{rfp.slug}@rfp-portal",
        summary=_("Proposals due: %(title)s") % {"title": rfp.title},
        description=_("Deadline: %(aoe)s = %(utc)s. Details: %(url)s")
        % {
            "aoe": deadlines.format_deadline(rfp.deadline_instant, deadlines.AOE_ZONE_NAME),
            "utc": deadlines.to_utc_iso(rfp.deadline_instant),
            "url": url,
        },
        url=url,
        start=rfp.deadline_instant,
        alarm_before=timedelta(days=1),
    )
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{rfp.slug}-deadline.ics"'
    return response


@permissions.staff_required
def staff_home(request: HttpRequest) -> HttpResponse:
    rfps = selectors.rfps_visible_to(request.user).order_by("-deadline_instant")
    return render(request, "staff/home.html", {"rfps": rfps, "now": timezone.now()})
