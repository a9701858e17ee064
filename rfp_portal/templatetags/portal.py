"""Template helpers for deadlines and money; all time maths stays in rfp_portal.deadlines."""

from __future__ import annotations

import datetime
import json

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from rfp_portal import deadlines, formatting
from rfp_portal.forms import TimeZoneForm

register = template.Library()


@register.inclusion_tag("partials/deadline.html", takes_context=True)
def deadline_panel(context, rfp, heading_level=2):
    request = context.get("request")
    viewer_zone = getattr(request, "viewer_zone", None)
    now = context.get("now") or timezone.now()
    cd = deadlines.countdown(now, rfp.deadline_instant)
    views = deadlines.deadline_views(rfp.deadline_instant, viewer_zone, rfp.deadline_zone)
    return {
        "rfp": rfp,
        "views": views,
        # The deadline's own zone (AoE unless staff chose another) is the first line.
        "deadline_zone": views[0].zone,
        "viewer_zone": viewer_zone,
        "deadline_iso": deadlines.html_datetime(rfp.deadline_instant),
        # Zones already shown: portal.js adds no second line for the visitor's zone among them.
        "shown_zones": " ".join(view.zone for view in views),
        "time_words": _time_words(),
        "countdown": cd,
        "countdown_text": deadlines.describe_countdown(cd),
        "countdown_words": _countdown_words(),
        "as_of": deadlines.format_in_zone(now, deadlines.UTC_ZONE_NAME).text,
        "tz_form": TimeZoneForm(initial={"next": request.get_full_path() if request else "/"}),
        "heading_level": heading_level,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


def _time_words() -> str:
    """Month and weekday names and the date patterns in the page's language, for portal.js to
    write the visitor's own zone line as the server writes the others."""
    return json.dumps(deadlines.time_words(), ensure_ascii=False)


@register.simple_tag
def time_words() -> str:
    return _time_words()


def _countdown_words() -> str:
    """The countdown's words in the page's language, for portal.js to tick without a server."""

    def forms(singular: str, plural: str) -> list[str]:
        return [ngettext(singular, plural, n).replace("%(count)d", "%d") for n in (1, 2)]

    return json.dumps(
        {
            "day": forms("%(count)d day", "%(count)d days"),
            "hour": forms("%(count)d hour", "%(count)d hours"),
            "minute": forms("%(count)d minute", "%(count)d minutes"),
            "and": gettext("%(first)s and %(last)s"),
            "left": gettext("%(duration)s left"),
            "underMinute": gettext("less than a minute left"),
            "closed": gettext("Proposals are no longer accepted."),
        }
    )


@register.simple_tag(takes_context=True)
def countdown_text(context, rfp) -> str:
    now = context.get("now") or timezone.now()
    return deadlines.describe_countdown(deadlines.countdown(now, rfp.deadline_instant))


@register.simple_tag
def deadline_in(rfp, zone: str | None = None) -> str:
    """The RFP's deadline written in ``zone``; without one, in the RFP's own zone (AoE unless
    staff chose another)."""
    return deadlines.format_deadline(rfp.deadline_instant, zone or _own_zone(rfp))


@register.simple_tag
def deadline_at(instant, zone: str | None = None) -> str:
    """Any deadline instant (an addendum's old one, say) written like a deadline in ``zone``
    (UTC when none): "Thursday 31 January 2019, end of day (24:00) AoE (UTC-12:00)" (with a
    real minus sign)."""
    if not instant:
        return ""
    zone = zone if zone and deadlines.is_valid_zone(zone) else deadlines.UTC_ZONE_NAME
    return deadlines.format_deadline(instant, zone)


@register.simple_tag(takes_context=True)
def rfp_deadline_views(context, rfp, viewer_zone: str | None = None):
    """``{% rfp_deadline_views rfp as views %}``: the deadline in its own zone, UTC and the
    viewer's zone (a mail passes the recipient's zone; a page gets the visitor's)."""
    if viewer_zone is None:
        viewer_zone = getattr(context.get("request"), "viewer_zone", None)
    return deadlines.deadline_views(rfp.deadline_instant, viewer_zone, _own_zone(rfp))


def _own_zone(rfp) -> str:
    zone = getattr(rfp, "deadline_zone", "") or ""
    return zone if deadlines.is_valid_zone(zone) else deadlines.AOE_ZONE_NAME


@register.filter
def utc_iso(instant) -> str:
    return deadlines.to_utc_iso(instant) if instant else ""


@register.filter
def when(instant, zone: str | None = None) -> str:
    """An instant written for people, localised and with its zone named:
    ``{{ version.received_at|when }}`` → "Tuesday 1 December 2026, 07:11 UTC";
    ``{{ x|when:viewer_zone }}`` in the reader's chosen zone (UTC when none). The one way pages,
    mails and PDFs write an instant; CSV files and receipts' machine fields keep utc_iso."""
    if not instant:
        return ""
    if not isinstance(instant, datetime.datetime):
        # A date has no zone: written as Django writes dates in the active language.
        return formats.date_format(instant, "DATE_FORMAT")
    zone = zone if zone and deadlines.is_valid_zone(zone) else deadlines.UTC_ZONE_NAME
    return deadlines.format_in_zone(instant, zone).text


@register.filter
def html_datetime(instant) -> str:
    """The value of a ``<time datetime="…">`` attribute: valid HTML (no microseconds); a date
    gives "2026-12-01"."""
    if not instant:
        return ""
    if not isinstance(instant, datetime.datetime):
        return instant.isoformat()
    return deadlines.html_datetime(instant)


money = register.filter("money", formatting.money)
file_size = register.filter("file_size", formatting.file_size)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def fraction(value, places: int = 2) -> str:
    """An exact Fraction (scores) written as a decimal number in the reader's locale."""
    if value is None:
        return "—"
    return formats.number_format(f"{float(value):.{int(places)}f}", int(places))


@register.filter
def grouped_widget(field):
    """A group of radios or checkboxes, each pointing at the group's help and errors.

    Django adds aria-describedby only to fields drawn without a fieldset; in a group every
    input must name the error, so that a screen reader reads it on reaching any option.
    """
    ids = []
    if field.auto_id and field.help_text:
        ids.append(f"{field.auto_id}_helptext")
    if field.auto_id and field.errors:
        ids.append(f"{field.auto_id}_error")
    return field.as_widget(attrs={"aria-describedby": " ".join(ids)} if ids else None)


@register.filter
def first_input_id(field) -> str:
    """The id of a field's first input: the target of the error summary's link to it."""
    return field.id_for_label or (f"{field.auto_id}_0" if field.auto_id else "")
