"""Deadline and time logic for the whole RFP Portal: the one place that owns it.

This module owns (in one file of about 570 lines, on purpose: the whole point is that every
rule about time, and every way of writing a time for people, can be read in one place):

* time zones people may choose (``AoE``, ``UTC`` and IANA names) and how a name is resolved;
* turning "end of day <date> in <zone>" into the one UTC instant that is stored;
* the acceptance rule: a request that reaches the server strictly before
  ``deadline + grace`` is accepted, one at or after it is refused;
* how an instant or a deadline is written for people (AoE, UTC, the viewer's zone), the
  countdown shown beside it, and the ISO text used in receipts and exports.

Everything here is a pure function of its arguments: no database, no request, no clock. Callers
pass ``now`` in, so tests control time without freezing the process. Models, services, views,
templates, tasks and e-mails call these functions instead of comparing or formatting datetimes
themselves, so that ``<`` versus ``<=`` or "24:00" versus "00:00" can never differ between
pages.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

__all__ = [
    "AOE",
    "AOE_ZONE_NAME",
    "MINUS_SIGN",
    "UTC_ZONE_NAME",
    "Countdown",
    "UnknownZone",
    "ZonedTime",
    "canonical_zone_name",
    "countdown",
    "deadline_instant",
    "deadline_views",
    "describe_countdown",
    "format_deadline",
    "format_in_zone",
    "html_datetime",
    "is_before_deadline",
    "is_valid_zone",
    "parse_utc_iso",
    "resolve_zone",
    "review_due_instant",
    "submission_cutoff",
    "time_words",
    "to_utc_iso",
    "to_zone",
    "zone_choices",
]

AOE_ZONE_NAME = "AoE"
UTC_ZONE_NAME = "UTC"

# Anywhere on Earth is a fixed UTC-12 with no daylight saving time: the deadline has passed only
# once the date has ended everywhere on Earth. It is not an IANA zone, so it is defined here.
AOE = timezone(timedelta(hours=-12), AOE_ZONE_NAME)

_AOE_ALIASES = frozenset({"aoe", "anywhere on earth"})
_UTC_ALIASES = frozenset({"utc", "z"})

# Entries that available_timezones() reports but that are not places a person is in:
# "localtime" follows whatever the server is set to, "Factory" is a placeholder, "posixrules"
# is an implementation detail of tzcode. Accepting them would let a deadline depend on the host.
_EXCLUDED_IANA_NAMES = frozenset({"localtime", "Factory", "posixrules"})

# English names, marked for translation but translated only at call time, so one process can
# serve several languages. Django's own catalogue already translates these exact words.
_WEEKDAYS = (
    gettext_noop("Monday"),
    gettext_noop("Tuesday"),
    gettext_noop("Wednesday"),
    gettext_noop("Thursday"),
    gettext_noop("Friday"),
    gettext_noop("Saturday"),
    gettext_noop("Sunday"),
)
_MONTHS = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)

# U+2212 MINUS SIGN in offsets: a hyphen next to digits is easy to misread, and line breaking
# may split after it. Written as an escape so the source stays plain ASCII.
MINUS_SIGN = "\u2212"

_ONE_SECOND = timedelta(seconds=1)
# The smallest step a datetime can take: used to ask "which local day did the moment just
# before this instant belong to?" without rounding away sub-second deadlines.
_ONE_TICK = timedelta(microseconds=1)


class UnknownZone(ValueError):
    """Raised when a time zone name is not AoE, UTC or a known IANA zone."""

    def __init__(self, zone: object) -> None:
        self.zone = zone
        shown = repr(zone)
        if len(shown) > 60:
            # A hostile or broken form value should not flood logs and error pages.
            shown = shown[:57] + "..."
        super().__init__(
            f"Unknown time zone {shown}: use 'AoE', 'UTC' or an IANA time zone name "
            f"such as 'Europe/Berlin'."
        )


# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------


@functools.cache
def _iana_zone_names() -> tuple[str, ...]:
    # Scanning the time zone database touches hundreds of files; once per process is enough.
    # "UTC" is also an IANA name; it is left out here because it is offered (and resolved) as the
    # fixed datetime.UTC, ahead of the list.
    names = zoneinfo.available_timezones() - _EXCLUDED_IANA_NAMES - {UTC_ZONE_NAME}
    return tuple(sorted(names))


@functools.cache
def _iana_zone_name_set() -> frozenset[str]:
    return frozenset(_iana_zone_names())


def canonical_zone_name(name: str) -> str:
    """Return the name to store and show for ``name``: "AoE", "UTC" or the IANA key.

    Raises UnknownZone for anything that is not a zone we accept.
    """
    if not isinstance(name, str):
        raise UnknownZone(name)
    stripped = name.strip()
    folded = stripped.casefold()
    if folded in _AOE_ALIASES:
        return AOE_ZONE_NAME
    if folded in _UTC_ALIASES:
        return UTC_ZONE_NAME
    # Only names in the database listing are accepted. This keeps is_valid_zone() in step with
    # zone_choices(), and it rejects path tricks ("../etc/passwd", "/etc/localtime") before
    # zoneinfo ever builds a file path from user input.
    if stripped not in _iana_zone_name_set():
        raise UnknownZone(name)
    return stripped


def resolve_zone(name: str) -> tzinfo:
    """Turn a zone name from a form, a TOML file or a profile into a tzinfo.

    "AoE" (any case, also "Anywhere on Earth") gives AOE, "UTC" or "Z" gives UTC, an IANA name
    gives a ZoneInfo; anything else raises UnknownZone.
    """
    canonical = canonical_zone_name(name)
    if canonical == AOE_ZONE_NAME:
        return AOE
    if canonical == UTC_ZONE_NAME:
        return UTC
    try:
        return zoneinfo.ZoneInfo(canonical)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as error:
        # Listed but unreadable (a broken or half-updated tz database): still the caller's
        # "unknown zone", not a server error. OSError covers IsADirectoryError and friends.
        raise UnknownZone(name) from error


def is_valid_zone(name: str) -> bool:
    """True if resolve_zone(name) would succeed."""
    try:
        resolve_zone(name)
    except UnknownZone:
        return False
    return True


def zone_choices() -> list[tuple[str, str]]:
    """Choices for a zone select: AoE and UTC first, then every IANA zone in name order."""
    # Built on every call (only the zone list is cached) so the labels follow the active
    # language, and callers get a list they may change without corrupting a cache.
    choices = [
        (
            AOE_ZONE_NAME,
            _("AoE, Anywhere on Earth (%(offset)s)")
            % {"offset": _format_offset(timedelta(hours=-12))},
        ),
        (UTC_ZONE_NAME, _("UTC")),
    ]
    choices.extend((name, name.replace("_", " ")) for name in _iana_zone_names())
    return choices


# --------------------------------------------------------------------------------------------
# Computing and comparing instants
# --------------------------------------------------------------------------------------------


def _require_aware(value: datetime, what: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive datetime has no defined instant; guessing a zone is how deadlines go wrong.
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")


def _first_instant_at_or_after(wall: datetime, zone: tzinfo) -> datetime:
    """The earliest UTC instant at which the local clock in ``zone`` reads ``wall`` or later.

    For a wall time that exists once this is simply that time. For an ambiguous wall time (clocks
    turned back) it is the first occurrence (fold=0). For a wall time skipped by a transition
    (clocks turned forward over it) it is the transition instant itself: the first moment that
    exists at or after the requested one.
    """
    candidate = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if candidate.astimezone(zone).replace(tzinfo=None) == wall:
        return candidate

    # ``wall`` is in a gap. With fold=0 zoneinfo applies the offset from before the transition,
    # which lands at or after the transition; fold=1 applies the offset from after it, which lands
    # before the transition. The transition lies between; find it to the second (transitions are
    # whole seconds). For the usual gap at exactly ``wall`` the fold=0 value is already the answer,
    # but a gap that starts before ``wall`` (e.g. 23:30 -> 00:30) needs the search.
    def reached(instant: datetime) -> bool:
        return instant.astimezone(zone).replace(tzinfo=None) >= wall

    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = candidate
    if reached(low) or not reached(high):  # pragma: no cover - would mean a broken tz database
        return high
    while high - low > _ONE_SECOND:
        steps = (high - low) // _ONE_SECOND
        middle = low + (steps // 2) * _ONE_SECOND
        if reached(middle):
            high = middle
        else:
            low = middle
    return high


def deadline_instant(
    day: date,
    zone: str = AOE_ZONE_NAME,
    *,
    end_of_day: bool = True,
    at: time | None = None,
) -> datetime:
    """The UTC instant of a deadline entered as a date in a zone.

    With ``end_of_day`` (the default), the deadline is the end of ``day`` in ``zone``: the first
    instant of the next local day. "End of day 31 January 2019 AoE" is 2019-02-01T12:00:00Z.
    If local midnight does not exist (clocks jump forward at midnight, as in America/Santiago),
    it is the first instant that does exist, which is the moment the clocks jump. If midnight
    happens twice, the first one counts. (A date that never happened in ``zone``, such as
    31 December 1994 in Pacific/Kiritimati, therefore ends when the day before it ended.)

    With ``end_of_day=False`` the deadline is the local time ``at`` (naive) on ``day``; an
    ambiguous time means its first occurrence, a skipped time the moment the clocks jump.
    """
    if isinstance(day, datetime) or not isinstance(day, date):
        # datetime is a subclass of date; accepting one would silently drop its time and zone.
        raise TypeError(f"day must be a date, got {type(day).__name__}")
    tz = resolve_zone(zone)

    if end_of_day:
        if at is not None:
            raise ValueError("Give either end_of_day=True or a time of day 'at', not both.")
        try:
            next_day = day + timedelta(days=1)
        except OverflowError as error:
            raise ValueError(f"No day follows {day.isoformat()}.") from error
        wall = datetime.combine(next_day, time(0, 0))
    else:
        if at is None:
            raise ValueError("end_of_day=False needs a local time of day in 'at'.")
        if not isinstance(at, time):
            raise TypeError(f"at must be a time, got {type(at).__name__}")
        if at.tzinfo is not None:
            # The zone comes from ``zone``; a second one on the time would contradict it.
            raise ValueError("'at' must be a local wall time without tzinfo; pass the zone.")
        wall = datetime.combine(day, at.replace(fold=0))

    return _first_instant_at_or_after(wall, tz)


def review_due_instant(review_due: date | None) -> datetime | None:
    """The instant an RFP's reviews are due: the end of its review due date, AoE; None when the
    RFP sets no review due date."""
    if review_due is None:
        return None
    return deadline_instant(review_due, AOE_ZONE_NAME)


def submission_cutoff(deadline: datetime, grace_seconds: int = 0) -> datetime:
    """The first instant at which a submission is refused: deadline plus grace, in UTC."""
    _require_aware(deadline, "deadline")
    if isinstance(grace_seconds, bool) or not isinstance(grace_seconds, int):
        raise TypeError("grace_seconds must be an int")
    if grace_seconds < 0:
        # A negative grace would quietly move the published deadline earlier.
        raise ValueError(f"grace_seconds must not be negative, got {grace_seconds}")
    return deadline.astimezone(UTC) + timedelta(seconds=grace_seconds)


def is_before_deadline(instant: datetime, deadline: datetime, grace_seconds: int = 0) -> bool:
    """True if a request arriving at ``instant`` is accepted: strictly before deadline + grace.

    This is the only comparison against a deadline in the project: every "is it still open?"
    question (submit, revise, withdraw) goes through here, so a request at exactly the cutoff is
    refused everywhere. Pass the server's receipt time of the request, not the time the form was
    rendered or the time a background task gets round to it.
    """
    _require_aware(instant, "instant")
    return instant < submission_cutoff(deadline, grace_seconds)


def to_zone(instant: datetime, zone: str) -> datetime:
    """``instant`` as local time in ``zone`` (same instant, different wall clock)."""
    _require_aware(instant, "instant")
    return instant.astimezone(resolve_zone(zone))


# --------------------------------------------------------------------------------------------
# Writing instants for people
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZonedTime:
    """One way of showing an instant: in which zone, the local datetime, and the text."""

    zone: str
    local: datetime
    text: str


def _format_offset(offset: timedelta) -> str:
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else MINUS_SIGN
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"UTC{sign}{hours:02d}:{minutes:02d}"
    if seconds:
        # Only historic local mean times have second offsets; show them rather than round.
        text += f":{seconds:02d}"
    return text


def _format_clock(local: datetime) -> str:
    text = f"{local.hour:02d}:{local.minute:02d}"
    if local.second:
        # Deadlines are on the minute; if one is not, rounding it in the text would mislead.
        text += f":{local.second:02d}"
    return text


def _format_date(day: date) -> dict[str, object]:
    return {
        "weekday": _(_WEEKDAYS[day.weekday()]),
        "day": day.day,
        "month": _(_MONTHS[day.month - 1]),
        "year": day.year,
    }


def _format_zone(label: str, offset: timedelta) -> str:
    if label == UTC_ZONE_NAME:
        # "UTC (UTC+00:00)" says nothing twice.
        return label
    return f"{label} ({_format_offset(offset)})"


def _text_in_zone(local: datetime, label: str) -> str:
    # local always comes from to_zone(), so it is aware and has an offset.
    offset = local.utcoffset() or timedelta(0)
    return _("%(weekday)s %(day)d %(month)s %(year)d, %(time)s %(zone)s") % {
        **_format_date(local.date()),
        "time": _format_clock(local),
        "zone": _format_zone(label, offset),
    }


def format_in_zone(instant: datetime, zone: str) -> ZonedTime:
    """``instant`` written in ``zone``, e.g. "Friday 1 February 2019, 12:00 UTC"."""
    label = canonical_zone_name(zone)
    local = to_zone(instant, label)
    return ZonedTime(zone=label, local=local, text=_text_in_zone(local, label))


def _deadline_text(deadline: datetime, label: str) -> tuple[datetime, str]:
    local = to_zone(deadline, label)
    just_before = to_zone(deadline - _ONE_TICK, label)
    if just_before.date() == local.date():
        return local, _text_in_zone(local, label)
    # The deadline is the first instant of a local day, i.e. the end of the day before. People
    # read "31 January, end of day" correctly and "1 February, 00:00" as a day too late. The day
    # and offset shown are those of the moment just before the deadline, so "24:00 (UTC-04:00)"
    # stays arithmetically exact even when the clocks jumped at midnight (then the local clock
    # reads 01:00, not 00:00) or a whole date was skipped (Pacific/Apia, 30 December 2011).
    before_offset = just_before.utcoffset() or timedelta(0)
    text = _("%(weekday)s %(day)d %(month)s %(year)d, end of day (24:00) %(zone)s") % {
        **_format_date(just_before.date()),
        "zone": _format_zone(label, before_offset),
    }
    return local, text


def format_deadline(deadline: datetime, zone: str) -> str:
    """A deadline written in ``zone``, preferring "end of day" to a midnight of the next day.

    "Thursday 31 January 2019, end of day (24:00) AoE (UTC-12:00)" rather than
    "Friday 1 February 2019, 00:00 AoE (UTC-12:00)"; any other time reads as format_in_zone().
    (Offsets are written with a real minus sign, U+2212.)
    """
    return _deadline_text(deadline, canonical_zone_name(zone))[1]


def deadline_views(
    deadline: datetime, viewer_zone: str | None, deadline_zone: str | None = AOE_ZONE_NAME
) -> list[ZonedTime]:
    """The deadline as every page and mail shows it: in the deadline's own zone (AoE unless the
    RFP chose another, e.g. Europe/Berlin), in UTC, and in the viewer's own zone.

    The viewer's zone is left out when it is missing, unknown, or already one of the others, so
    the same line never appears twice; an unknown deadline zone falls back to AoE.
    """
    own = AOE_ZONE_NAME
    if deadline_zone and is_valid_zone(deadline_zone):
        own = canonical_zone_name(deadline_zone)
    labels = [own]
    if UTC_ZONE_NAME not in labels:
        labels.append(UTC_ZONE_NAME)
    if viewer_zone and is_valid_zone(viewer_zone):
        viewer_label = canonical_zone_name(viewer_zone)
        if viewer_label not in labels:
            labels.append(viewer_label)
    views = []
    for label in labels:
        local, text = _deadline_text(deadline, label)
        views.append(ZonedTime(zone=label, local=local, text=text))
    return views


def time_words() -> dict[str, object]:
    """What a browser needs to write a time exactly as format_deadline() does, in the active
    language: the weekday (Monday first) and month names and the two patterns. portal.js fills
    them with the numbers Intl.DateTimeFormat gives for the visitor's zone, so its line reads
    like the server's ("Wednesday 16 December 2026, 21:00 Asia/Tokyo (UTC+09:00)")."""
    return {
        "weekdays": [_(name) for name in _WEEKDAYS],
        "months": [_(name) for name in _MONTHS],
        "at": _("%(weekday)s %(day)d %(month)s %(year)d, %(time)s %(zone)s"),
        "endOfDay": _("%(weekday)s %(day)d %(month)s %(year)d, end of day (24:00) %(zone)s"),
        "minus": MINUS_SIGN,
    }


# --------------------------------------------------------------------------------------------
# Countdown
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Countdown:
    """Time left until a deadline, in whole units (always rounded down, never overstated)."""

    seconds: int
    passed: bool
    days: int
    hours: int
    minutes: int


def countdown(now: datetime, deadline: datetime) -> Countdown:
    """How long from ``now`` until ``deadline``; ``passed`` once now is at or after it.

    Grace is deliberately not included: the published deadline is what people count down to.
    """
    _require_aware(now, "now")
    _require_aware(deadline, "deadline")
    if not now < deadline:
        return Countdown(seconds=0, passed=True, days=0, hours=0, minutes=0)
    # Floor, not round: "1 minute left" when 1 minute 50 seconds remain is safe; "2 minutes
    # left" when 1 minute 10 seconds remain invites a late submission.
    seconds = (deadline - now) // _ONE_SECOND
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    return Countdown(seconds=seconds, passed=False, days=days, hours=hours, minutes=rest // 60)


def describe_countdown(cd: Countdown) -> str:
    """E.g. "13 days, 4 hours and 2 minutes left", "less than a minute left", "closed"."""
    if cd.passed:
        return _("closed")
    parts = []
    if cd.days:
        parts.append(ngettext("%(count)d day", "%(count)d days", cd.days) % {"count": cd.days})
    if cd.hours:
        parts.append(ngettext("%(count)d hour", "%(count)d hours", cd.hours) % {"count": cd.hours})
    if cd.minutes:
        parts.append(
            ngettext("%(count)d minute", "%(count)d minutes", cd.minutes) % {"count": cd.minutes}
        )
    if not parts:
        return _("less than a minute left")
    if len(parts) == 1:
        duration = parts[0]
    else:
        duration = _("%(first)s and %(last)s") % {
            "first": ", ".join(parts[:-1]),
            "last": parts[-1],
        }
    return _("%(duration)s left") % {"duration": duration}


# --------------------------------------------------------------------------------------------
# Machine-readable text
# --------------------------------------------------------------------------------------------


def html_datetime(instant: datetime) -> str:
    """``instant`` for a ``<time datetime>`` attribute: UTC to the second, e.g.
    "2019-02-01T12:00:00Z" (HTML allows at most three digits of a fraction; people never need
    them, and receipts and exports keep the exact value through to_utc_iso())."""
    _require_aware(instant, "instant")
    return to_utc_iso(instant.astimezone(UTC).replace(microsecond=0))


def to_utc_iso(instant: datetime) -> str:
    """``instant`` as ISO 8601 in UTC with a Z, e.g. "2019-02-01T12:00:00Z".

    Microseconds are written only when present, so the usual value is short and the text still
    round-trips exactly through parse_utc_iso().
    """
    _require_aware(instant, "instant")
    utc = instant.astimezone(UTC)
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def parse_utc_iso(text: str) -> datetime:
    """The inverse of to_utc_iso(): an aware UTC datetime.

    Accepts a trailing "Z" or any explicit offset (converted to UTC); text without an offset is
    refused, because guessing its zone is exactly the mistake this module exists to prevent.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{text!r} has no UTC offset; write it with a trailing 'Z'.")
    return parsed.astimezone(UTC)
