"""Tests for rfp_portal.deadlines: the one module that owns deadline maths and formatting.

No database: every function under test is pure, so these run in a few seconds.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from hypothesis import assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from rfp_portal.deadlines import (
    AOE,
    AOE_ZONE_NAME,
    MINUS_SIGN,
    Countdown,
    UnknownZone,
    ZonedTime,
    _first_instant_at_or_after,
    canonical_zone_name,
    countdown,
    deadline_instant,
    deadline_views,
    describe_countdown,
    format_deadline,
    format_in_zone,
    is_before_deadline,
    is_valid_zone,
    parse_utc_iso,
    resolve_zone,
    submission_cutoff,
    to_utc_iso,
    to_zone,
    zone_choices,
)

ONE_SECOND = timedelta(seconds=1)
# The PSF's PyPI RFP: "end of day January 31, 2019 AoE".
PSF_DEADLINE = datetime(2019, 2, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _english():
    # Formatting assertions are about the English text; another active language would translate.
    with translation.override("en"):
        yield


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_day_exists(day: date, zone: str) -> bool:
    """False for the few dates a zone skipped entirely (Kiritimati 1994-12-31, Apia 2011-12-30)."""
    tz = resolve_zone(zone)
    noon = datetime.combine(day, time(12), tzinfo=tz).astimezone(UTC).astimezone(tz)
    return noon.date() == day


# --------------------------------------------------------------------------------------------
# The demo RFPs and the PSF example
# --------------------------------------------------------------------------------------------


def demo_rfp_directory() -> Path:
    here = Path(__file__).resolve()
    project_copy = here.parents[2] / "proposals" / "demo_data" / "rfps"
    if project_copy.is_dir():
        return project_copy
    return here.parents[3] / "shared" / "data" / "rfps"


DEMO_RFP_FILES = sorted(demo_rfp_directory().glob("*.toml"))


@pytest.mark.parametrize(
    "rfp_file",
    # An empty parameter list would make pytest skip silently; a missing directory must fail.
    DEMO_RFP_FILES or [pytest.param(None, id="no-demo-rfp-files")],
    ids=lambda path: path.stem if isinstance(path, Path) else str(path),
)
def test_demo_rfp_deadline_computes_to_its_expected_utc_instant(rfp_file: Path | None):
    assert rfp_file is not None, f"no demo RFP TOML files found in {demo_rfp_directory()}"
    data = tomllib.loads(rfp_file.read_text(encoding="utf-8"))
    entered = data["deadline"]
    day = entered["date"]
    if not isinstance(day, date):  # quoted in the TOML, or a native TOML date
        day = date.fromisoformat(day)
    end_of_day = entered.get("end_of_day", True)
    at = None if end_of_day else time.fromisoformat(entered["time"])

    instant = deadline_instant(
        day, entered.get("zone", AOE_ZONE_NAME), end_of_day=end_of_day, at=at
    )

    assert to_utc_iso(instant) == data["expected_deadline_utc"]


def test_end_of_day_31_january_2019_aoe_is_noon_utc_on_1_february():
    instant = deadline_instant(date(2019, 1, 31), "AoE")

    assert instant == PSF_DEADLINE
    assert to_utc_iso(instant) == "2019-02-01T12:00:00Z"


def test_aoe_is_the_default_zone_and_end_of_day_the_default_semantics():
    assert deadline_instant(date(2019, 1, 31)) == PSF_DEADLINE


def test_aoe_is_a_fixed_utc_minus_12_without_daylight_saving():
    for month in (1, 7):
        assert datetime(2019, month, 1, tzinfo=AOE).utcoffset() == timedelta(hours=-12)
        assert datetime(2019, month, 1, tzinfo=AOE).dst() is None


# --------------------------------------------------------------------------------------------
# Accepting and refusing at the edge
# --------------------------------------------------------------------------------------------


def test_one_second_before_the_deadline_is_accepted():
    assert is_before_deadline(PSF_DEADLINE - ONE_SECOND, PSF_DEADLINE)


def test_a_request_at_the_exact_deadline_is_refused():
    assert not is_before_deadline(PSF_DEADLINE, PSF_DEADLINE)


def test_a_request_a_microsecond_before_the_deadline_is_accepted():
    assert is_before_deadline(PSF_DEADLINE - timedelta(microseconds=1), PSF_DEADLINE)


def test_grace_accepts_up_to_the_last_second_and_refuses_at_the_cutoff():
    assert is_before_deadline(PSF_DEADLINE + timedelta(seconds=59), PSF_DEADLINE, 60)
    assert not is_before_deadline(PSF_DEADLINE + timedelta(seconds=60), PSF_DEADLINE, 60)


def test_comparison_does_not_depend_on_the_zone_the_instants_are_written_in():
    request_in_berlin = (PSF_DEADLINE - ONE_SECOND).astimezone(ZoneInfo("Europe/Berlin"))
    deadline_in_aoe = PSF_DEADLINE.astimezone(AOE)

    assert is_before_deadline(request_in_berlin, deadline_in_aoe)
    assert not is_before_deadline(PSF_DEADLINE.astimezone(AOE), deadline_in_aoe)


def test_submission_cutoff_is_the_deadline_plus_grace_in_utc():
    cutoff = submission_cutoff(PSF_DEADLINE.astimezone(AOE), 90)

    assert cutoff == utc(2019, 2, 1, 12, 1, 30)
    assert cutoff.tzinfo is UTC
    assert submission_cutoff(PSF_DEADLINE) == PSF_DEADLINE


@pytest.mark.parametrize(
    ("instant", "deadline"),
    [
        (datetime(2019, 2, 1, 11, 59), PSF_DEADLINE),
        (PSF_DEADLINE - ONE_SECOND, datetime(2019, 2, 1, 12, 0)),
    ],
    ids=["naive-instant", "naive-deadline"],
)
def test_naive_datetimes_are_refused(instant: datetime, deadline: datetime):
    with pytest.raises(ValueError, match="timezone-aware"):
        is_before_deadline(instant, deadline)


def test_naive_datetimes_are_refused_everywhere_an_instant_is_taken():
    naive = datetime(2019, 2, 1, 12, 0)
    for call in (
        lambda: submission_cutoff(naive),
        lambda: to_zone(naive, "UTC"),
        lambda: format_in_zone(naive, "UTC"),
        lambda: format_deadline(naive, "AoE"),
        lambda: countdown(naive, PSF_DEADLINE),
        lambda: countdown(PSF_DEADLINE, naive),
        lambda: to_utc_iso(naive),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_negative_grace_is_refused():
    with pytest.raises(ValueError, match="negative"):
        is_before_deadline(PSF_DEADLINE, PSF_DEADLINE, -1)


# --------------------------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "zone", "expected_utc"),
    [
        (date(2019, 1, 31), "UTC", "2019-02-01T00:00:00Z"),
        (date(2019, 1, 31), "Europe/Berlin", "2019-01-31T23:00:00Z"),  # CET, UTC+1
        (date(2019, 7, 31), "Europe/Berlin", "2019-07-31T22:00:00Z"),  # CEST, UTC+2
        (date(2019, 1, 31), "America/New_York", "2019-02-01T05:00:00Z"),  # EST, UTC-5
        (date(2019, 7, 31), "America/New_York", "2019-08-01T04:00:00Z"),  # EDT, UTC-4
        (date(2019, 1, 31), "Asia/Kolkata", "2019-01-31T18:30:00Z"),  # UTC+5:30
        (date(2019, 1, 31), "Pacific/Kiritimati", "2019-01-31T10:00:00Z"),  # UTC+14
    ],
)
def test_end_of_day_in_a_zone_is_local_midnight_of_the_next_day(
    day: date, zone: str, expected_utc: str
):
    assert to_utc_iso(deadline_instant(day, zone)) == expected_utc


def test_the_same_date_ends_26_hours_later_in_aoe_than_in_kiritimati():
    day = date(2019, 1, 31)

    gap = deadline_instant(day, "AoE") - deadline_instant(day, "Pacific/Kiritimati")

    assert gap == timedelta(hours=26)


def test_zoneinfo_fold_0_in_a_midnight_gap_converts_to_the_transition_instant():
    # America/Santiago moved its clocks from 00:00 to 01:00 on 11 September 2022. The
    # implementation relies on zoneinfo applying the pre-transition offset for fold=0 in a gap.
    santiago = ZoneInfo("America/Santiago")
    transition = utc(2022, 9, 11, 4, 0)

    assert (transition - ONE_SECOND).astimezone(santiago).utcoffset() == timedelta(hours=-4)
    assert transition.astimezone(santiago).utcoffset() == timedelta(hours=-3)
    assert transition.astimezone(santiago).time() == time(1, 0)  # 00:00 never showed
    assert datetime(2022, 9, 11, 0, 0, tzinfo=santiago).astimezone(UTC) == transition


def test_end_of_day_before_a_midnight_gap_is_the_moment_the_clocks_jump():
    instant = deadline_instant(date(2022, 9, 10), "America/Santiago")

    assert instant == utc(2022, 9, 11, 4, 0)
    assert to_zone(instant - ONE_SECOND, "America/Santiago") == datetime(
        2022, 9, 10, 23, 59, 59, tzinfo=ZoneInfo("America/Santiago")
    )
    assert to_zone(instant, "America/Santiago").time() == time(1, 0)


@pytest.mark.parametrize(
    "zone", ["America/Santiago", "America/Havana", "Asia/Beirut", "America/Asuncion"]
)
def test_every_midnight_gap_of_a_decade_resolves_to_its_transition_instant(zone: str):
    tz = ZoneInfo(zone)
    gaps_found = 0
    day = date(2015, 1, 1)
    while day < date(2025, 1, 1):
        next_midnight = datetime.combine(day + timedelta(days=1), time(0))
        round_trip = next_midnight.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
        if round_trip.replace(tzinfo=None) != next_midnight:
            gaps_found += 1
            instant = deadline_instant(day, zone)
            before, after = (instant - ONE_SECOND).astimezone(tz), instant.astimezone(tz)
            assert before.date() == day
            assert after.date() == day + timedelta(days=1)
            assert before.utcoffset() != after.utcoffset()
        day += timedelta(days=1)
    assert gaps_found > 0, f"expected {zone} to have skipped a midnight between 2015 and 2024"


def test_end_of_day_before_an_ambiguous_midnight_is_its_first_occurrence():
    # Cuba turned its clocks back from 01:00 to 00:00 on 3 November 2024: midnight happened
    # twice, at 04:00 UTC (CDT) and at 05:00 UTC (CST). The day ended at the first.
    assert deadline_instant(date(2024, 11, 2), "America/Havana") == utc(2024, 11, 3, 4, 0)


def test_a_day_that_repeats_its_last_hour_ends_after_the_repeat():
    # Beirut went from 00:00 back to 23:00 on the night of 26-27 October 2024, so 26 October
    # lasted 25 hours and ended at the only local midnight, in EET (UTC+2).
    assert deadline_instant(date(2024, 10, 26), "Asia/Beirut") == utc(2024, 10, 26, 22, 0)


def test_a_date_a_zone_skipped_ends_when_the_day_before_it_ended():
    # Kiribati's Line Islands jumped from UTC-10 to UTC+14, skipping 31 December 1994.
    end_of_30th = deadline_instant(date(1994, 12, 30), "Pacific/Kiritimati")

    assert end_of_30th == utc(1994, 12, 31, 10, 0)
    assert deadline_instant(date(1994, 12, 31), "Pacific/Kiritimati") == end_of_30th
    assert to_zone(end_of_30th, "Pacific/Kiritimati").date() == date(1995, 1, 1)


class _GapFrom2330To0030(tzinfo):
    """A made-up zone whose gap (23:30 to 00:30 local) swallows a midnight without starting at it.

    No real zone did this between 1970 and 2040, but the rules allow it; it exercises the
    search that finds the transition when fold=0 alone would land 30 minutes late.
    """

    _switch_utc = datetime(2030, 3, 9, 23, 30)
    _gap_start = datetime(2030, 3, 9, 23, 30)
    _gap_end = datetime(2030, 3, 10, 0, 30)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        assert dt is not None
        wall = dt.replace(tzinfo=None, fold=0)
        if wall < self._gap_start:
            return timedelta(0)
        if wall >= self._gap_end:
            return timedelta(hours=1)
        return timedelta(hours=1) if dt.fold else timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "GAP"

    def fromutc(self, dt: datetime) -> datetime:
        if dt.replace(tzinfo=None) < self._switch_utc:
            return dt
        return dt + timedelta(hours=1)


def test_a_gap_that_starts_before_midnight_resolves_to_the_transition_not_later():
    zone = _GapFrom2330To0030()
    midnight = datetime(2030, 3, 10, 0, 0)

    assert midnight.replace(tzinfo=zone).astimezone(UTC) == utc(2030, 3, 10, 0, 0)  # 30 min late
    assert _first_instant_at_or_after(midnight, zone) == utc(2030, 3, 9, 23, 30)


def test_a_local_time_of_day_is_that_wall_time_in_the_zone():
    instant = deadline_instant(date(2019, 1, 31), "Europe/Berlin", end_of_day=False, at=time(17, 0))

    assert instant == utc(2019, 1, 31, 16, 0)


def test_a_local_time_skipped_by_daylight_saving_resolves_to_the_jump():
    # 02:30 did not happen in Berlin on 31 March 2019; the first moment after it is 03:00 CEST.
    instant = deadline_instant(date(2019, 3, 31), "Europe/Berlin", end_of_day=False, at=time(2, 30))

    assert instant == utc(2019, 3, 31, 1, 0)


def test_an_ambiguous_local_time_of_day_is_its_first_occurrence():
    # 02:30 happened twice in Berlin on 27 October 2019: first in CEST (00:30 UTC).
    instant = deadline_instant(
        date(2019, 10, 27), "Europe/Berlin", end_of_day=False, at=time(2, 30)
    )

    assert instant == utc(2019, 10, 27, 0, 30)


@pytest.mark.parametrize(
    "kwargs",
    [{"end_of_day": True, "at": time(17, 0)}, {"end_of_day": False}],
    ids=["end-of-day-and-time", "neither"],
)
def test_end_of_day_and_time_of_day_are_mutually_exclusive(kwargs: dict[str, object]):
    with pytest.raises(ValueError):
        deadline_instant(date(2019, 1, 31), "AoE", **kwargs)


def test_a_time_of_day_with_its_own_zone_is_refused():
    with pytest.raises(ValueError, match="without tzinfo"):
        deadline_instant(date(2019, 1, 31), "AoE", end_of_day=False, at=time(17, 0, tzinfo=UTC))


def test_a_datetime_is_not_accepted_as_the_day():
    with pytest.raises(TypeError):
        deadline_instant(datetime(2019, 1, 31, 17, 0), "AoE")


@pytest.mark.parametrize(
    "name",
    [
        "Mars/Olympus_Mons",
        "",
        "   ",
        "../etc/passwd",
        "/etc/passwd",
        "Europe",
        "europe/berlin",
        "localtime",
        "Factory",
        "Europe/Berlin\x00",
        None,
        12,
    ],
)
def test_unknown_zones_raise_unknown_zone(name: object):
    with pytest.raises(UnknownZone):
        resolve_zone(name)  # type: ignore[arg-type]
    assert not is_valid_zone(name)  # type: ignore[arg-type]
    with pytest.raises(UnknownZone):
        deadline_instant(date(2019, 1, 31), name)  # type: ignore[arg-type]


def test_unknown_zone_is_a_value_error_whose_message_names_the_zone():
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        resolve_zone("Mars/Olympus_Mons")


def test_path_traversal_in_a_zone_name_is_an_unknown_zone():
    with pytest.raises(UnknownZone, match=r"\.\./etc/passwd"):
        resolve_zone("../etc/passwd")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("AoE", "AoE"),
        ("aoe", "AoE"),
        ("AOE", "AoE"),
        ("Anywhere on Earth", "AoE"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Z", "UTC"),
        (" Europe/Berlin ", "Europe/Berlin"),
        ("Etc/UTC", "Etc/UTC"),
    ],
)
def test_zone_names_are_canonicalised(name: str, canonical: str):
    assert canonical_zone_name(name) == canonical
    assert is_valid_zone(name)


def test_aoe_and_utc_resolve_to_fixed_zones_and_iana_names_to_zoneinfo():
    assert resolve_zone("aoe") is AOE
    assert resolve_zone("Z") is UTC
    assert resolve_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_zone_choices_start_with_aoe_and_utc_then_every_valid_iana_zone_in_order():
    choices = zone_choices()
    values = [value for value, _label in choices]

    assert values[:2] == ["AoE", "UTC"]
    assert values[2:] == sorted(values[2:])
    assert "Europe/Berlin" in values
    assert "localtime" not in values
    assert len(values) == len(set(values))
    assert all(is_valid_zone(value) for value in values)


def test_zone_choices_are_a_fresh_list_each_time():
    zone_choices().clear()

    assert zone_choices()[0][0] == "AoE"


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

PROPERTY_ZONES = [
    "AoE",
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Santiago",  # gaps at midnight
    "America/Havana",  # gaps and repeats at midnight
    "America/Asuncion",  # gaps at midnight
    "Asia/Beirut",  # gaps at midnight, 25-hour days
    "Asia/Tehran",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",  # 30-minute daylight saving shift
    "Pacific/Chatham",
    "Pacific/Kiritimati",  # UTC+14, skipped 31 December 1994
    "Pacific/Apia",  # skipped 30 December 2011
    "Africa/Casablanca",
    "America/St_Johns",
]

days = st.dates(min_value=date(1970, 1, 1), max_value=date(2100, 12, 31))
zones = st.sampled_from(PROPERTY_ZONES)
property_settings = hypothesis_settings(max_examples=200, deadline=None)


@property_settings
@given(day=days, zone=zones)
@example(day=date(2022, 9, 10), zone="America/Santiago")
@example(day=date(2024, 11, 2), zone="America/Havana")
@example(day=date(2024, 3, 30), zone="Asia/Beirut")
@example(day=date(2024, 10, 26), zone="Asia/Beirut")
@example(day=date(1994, 12, 30), zone="Pacific/Kiritimati")
@example(day=date(2011, 12, 29), zone="Pacific/Apia")
def test_end_of_day_is_the_first_instant_after_the_local_day(day: date, zone: str):
    assume(local_day_exists(day, zone))
    next_day = day + timedelta(days=1)

    instant = deadline_instant(day, zone)
    local = to_zone(instant, zone)
    last_second = to_zone(instant - ONE_SECOND, zone)

    assert instant.tzinfo is UTC
    assert last_second.date() == day
    if local_day_exists(next_day, zone):
        assert local.date() == next_day
    # Either the clock reads midnight, or midnight was skipped and the clocks jumped right here.
    assert local.time() == time(0) or last_second.utcoffset() != local.utcoffset()


@property_settings
@given(day=days, other_day=days, zone=zones)
@example(day=date(2022, 9, 10), other_day=date(2022, 9, 11), zone="America/Santiago")
@example(day=date(2024, 10, 26), other_day=date(2024, 10, 27), zone="Asia/Beirut")
def test_later_days_end_strictly_later(day: date, other_day: date, zone: str):
    assume(day != other_day)
    assume(local_day_exists(day, zone) and local_day_exists(other_day, zone))
    earlier, later = sorted((day, other_day))

    assert deadline_instant(earlier, zone) < deadline_instant(later, zone)
    next_day = earlier + timedelta(days=1)
    if local_day_exists(next_day, zone):
        assert deadline_instant(earlier, zone) < deadline_instant(next_day, zone)


@property_settings
@given(day=days, zone=zones, grace_seconds=st.integers(min_value=0, max_value=3600))
def test_the_last_second_is_accepted_and_the_cutoff_refused(
    day: date, zone: str, grace_seconds: int
):
    deadline = deadline_instant(day, zone)

    assert is_before_deadline(deadline - ONE_SECOND, deadline)
    assert not is_before_deadline(deadline, deadline)
    cutoff = deadline + timedelta(seconds=grace_seconds)
    assert is_before_deadline(cutoff - ONE_SECOND, deadline, grace_seconds)
    assert not is_before_deadline(cutoff, deadline, grace_seconds)


@property_settings
@given(instant=st.datetimes(timezones=st.just(UTC)))
def test_utc_iso_text_round_trips_exactly(instant: datetime):
    text = to_utc_iso(instant)

    assert text.endswith("Z")
    assert parse_utc_iso(text) == instant


# --------------------------------------------------------------------------------------------
# ISO text
# --------------------------------------------------------------------------------------------


def test_utc_iso_text_converts_from_any_zone_and_keeps_microseconds_only_when_present():
    assert to_utc_iso(PSF_DEADLINE.astimezone(AOE)) == "2019-02-01T12:00:00Z"
    assert to_utc_iso(PSF_DEADLINE + timedelta(microseconds=5)) == "2019-02-01T12:00:00.000005Z"


def test_parsing_accepts_z_or_an_explicit_offset_and_returns_utc():
    assert parse_utc_iso("2019-02-01T12:00:00Z") == PSF_DEADLINE
    parsed = parse_utc_iso("2019-02-01T00:00:00-12:00")
    assert parsed == PSF_DEADLINE
    assert parsed.tzinfo is UTC


def test_parsing_text_without_an_offset_is_refused():
    with pytest.raises(ValueError, match="no UTC offset"):
        parse_utc_iso("2019-02-01T12:00:00")


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def test_psf_deadline_in_aoe_reads_as_end_of_day_31_january():
    text = format_deadline(PSF_DEADLINE, "AoE")

    assert text == f"Thursday 31 January 2019, end of day (24:00) AoE (UTC{MINUS_SIGN}12:00)"
    assert "31 January 2019" in text
    assert "end of day" in text
    assert "AoE" in text


def test_psf_deadline_in_utc_reads_as_noon_on_1_february():
    text = format_deadline(PSF_DEADLINE, "UTC")

    assert text == "Friday 1 February 2019, 12:00 UTC"
    assert "1 February 2019" in text
    assert "12:00" in text


def test_format_in_zone_writes_the_plain_local_time_with_its_offset():
    written = format_in_zone(PSF_DEADLINE, "AoE")

    assert written == ZonedTime(
        zone="AoE",
        local=datetime(2019, 2, 1, 0, 0, tzinfo=AOE),
        text=f"Friday 1 February 2019, 00:00 AoE (UTC{MINUS_SIGN}12:00)",
    )
    assert format_in_zone(PSF_DEADLINE, "Asia/Kolkata").text == (
        "Friday 1 February 2019, 17:30 Asia/Kolkata (UTC+05:30)"
    )
    assert format_in_zone(PSF_DEADLINE, "aoe").zone == "AoE"


def test_seconds_are_shown_only_when_not_zero():
    assert format_in_zone(PSF_DEADLINE - ONE_SECOND, "AoE").text == (
        f"Thursday 31 January 2019, 23:59:59 AoE (UTC{MINUS_SIGN}12:00)"
    )


def test_a_deadline_that_is_not_at_midnight_reads_like_format_in_zone():
    deadline = utc(2019, 1, 31, 16, 0)

    assert (
        format_deadline(deadline, "Europe/Berlin") == format_in_zone(deadline, "Europe/Berlin").text
    )
    assert format_deadline(deadline, "Europe/Berlin") == (
        "Thursday 31 January 2019, 17:00 Europe/Berlin (UTC+01:00)"
    )


def test_end_of_day_before_a_midnight_gap_still_reads_as_end_of_day_with_the_old_offset():
    deadline = deadline_instant(date(2022, 9, 10), "America/Santiago")

    assert format_deadline(deadline, "America/Santiago") == (
        f"Saturday 10 September 2022, end of day (24:00) America/Santiago (UTC{MINUS_SIGN}04:00)"
    )


def test_deadline_views_show_aoe_utc_and_the_viewers_zone():
    views = deadline_views(PSF_DEADLINE, "Europe/Berlin")

    assert [view.zone for view in views] == ["AoE", "UTC", "Europe/Berlin"]
    assert views[0].text == format_deadline(PSF_DEADLINE, "AoE")
    assert views[2].text == "Friday 1 February 2019, 13:00 Europe/Berlin (UTC+01:00)"
    assert all(view.local == PSF_DEADLINE for view in views)


@pytest.mark.parametrize("viewer_zone", [None, "", "Mars/Olympus_Mons", "utc", "AoE"])
def test_deadline_views_leave_out_a_missing_invalid_or_repeated_viewer_zone(
    viewer_zone: str | None,
):
    assert [view.zone for view in deadline_views(PSF_DEADLINE, viewer_zone)] == ["AoE", "UTC"]


# --------------------------------------------------------------------------------------------
# Countdown
# --------------------------------------------------------------------------------------------


def test_countdown_splits_the_time_left_and_rounds_down():
    now = PSF_DEADLINE - timedelta(days=13, hours=4, minutes=2, seconds=59)

    assert countdown(now, PSF_DEADLINE) == Countdown(
        seconds=13 * 86_400 + 4 * 3600 + 2 * 60 + 59, passed=False, days=13, hours=4, minutes=2
    )


@pytest.mark.parametrize(
    "now", [PSF_DEADLINE, PSF_DEADLINE + ONE_SECOND], ids=["at-deadline", "after"]
)
def test_countdown_has_passed_at_and_after_the_deadline(now: datetime):
    assert countdown(now, PSF_DEADLINE) == Countdown(
        seconds=0, passed=True, days=0, hours=0, minutes=0
    )


@pytest.mark.parametrize(
    ("time_left", "expected"),
    [
        (timedelta(days=13, hours=4, minutes=2), "13 days, 4 hours and 2 minutes left"),
        (timedelta(days=1, hours=1, minutes=1), "1 day, 1 hour and 1 minute left"),
        (timedelta(days=1, minutes=5), "1 day and 5 minutes left"),
        (timedelta(days=2), "2 days left"),
        (timedelta(hours=2), "2 hours left"),
        (timedelta(minutes=45), "45 minutes left"),
        (timedelta(minutes=1, seconds=59), "1 minute left"),
        (timedelta(seconds=59), "less than a minute left"),
        (timedelta(microseconds=1), "less than a minute left"),
        (timedelta(0), "closed"),
        (-ONE_SECOND, "closed"),
    ],
)
def test_describe_countdown(time_left: timedelta, expected: str):
    assert describe_countdown(countdown(PSF_DEADLINE - time_left, PSF_DEADLINE)) == expected
