"""Instants written for people: the one formatter (deadlines.format_in_zone, |when,
|html_datetime), the deadline in its own zone, UTC and the reader's, and the public receipt
check, in English and Spanish."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from proposals import receipts
from rfp_portal import deadlines
from tests.factories import RFPFactory
from tests.helpers.proposals import submitted_proposal

MINUS = "\u2212"
RECEIVED = datetime(2026, 12, 1, 7, 11, 49, 34459, tzinfo=UTC)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def render(source: str, **context) -> str:
    return Template("{% load portal %}" + source).render(Context(context))


# --- The formatter ----------------------------------------------------------------------------


def test_an_instant_reads_in_english_with_its_zone_and_without_its_fraction():
    with translation.override("en"):
        assert deadlines.format_in_zone(RECEIVED, "UTC").text == (
            "Tuesday 1 December 2026, 07:11:49 UTC"
        )


def test_an_instant_reads_in_spanish_on_spanish_pages():
    with translation.override("es"):
        text = deadlines.format_in_zone(RECEIVED, "UTC").text
    assert text == "martes 1 de diciembre de 2026, 07:11:49 UTC"


def test_aoe_is_twelve_hours_behind_utc_written_with_a_real_minus_sign():
    with translation.override("en"):
        text = deadlines.format_in_zone(RECEIVED, "AoE").text
    assert text == f"Monday 30 November 2026, 19:11:49 AoE (UTC{MINUS}12:00)"
    assert "-" not in text


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Winter: UTC+01:00.
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), "Thursday 15 January 2026, 13:00"),
        # The last minute before the clocks go forward (01:00 UTC on 29 March 2026)...
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "Sunday 29 March 2026, 01:59"),
        # ...and the first after: 02:00 to 02:59 never happen.
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Sunday 29 March 2026, 03:00"),
        # The hour that happens twice (25 October 2026): the offset tells them apart.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Sunday 25 October 2026, 02:30"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Sunday 25 October 2026, 02:30"),
    ],
)
def test_europe_berlin_follows_daylight_saving_time(instant, expected):
    summer = deadlines.to_zone(instant, "Europe/Berlin").utcoffset().total_seconds() == 7200
    offset = "UTC+02:00" if summer else "UTC+01:00"
    with translation.override("en"):
        assert deadlines.format_in_zone(instant, "Europe/Berlin").text == (
            f"{expected} Europe/Berlin ({offset})"
        )


def test_the_two_occurrences_of_the_repeated_hour_read_differently():
    first = deadlines.format_in_zone(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Europe/Berlin")
    second = deadlines.format_in_zone(datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Europe/Berlin")
    assert first.text != second.text
    assert first.text.endswith("(UTC+02:00)") and second.text.endswith("(UTC+01:00)")


def test_spanish_names_the_berlin_deadline_end_of_day_in_spanish():
    instant = deadlines.deadline_instant(date(2026, 7, 1), "Europe/Berlin")
    with translation.override("es"):
        text = deadlines.format_deadline(instant, "Europe/Berlin")
    assert (
        text == "miércoles 1 de julio de 2026, al final del día (24:00) Europe/Berlin (UTC+02:00)"
    )


# --- Template filters -------------------------------------------------------------------------


def test_when_filter_writes_utc_by_default_and_the_zone_it_is_given():
    with translation.override("en"):
        assert render("{{ t|when }}", t=RECEIVED) == "Tuesday 1 December 2026, 07:11:49 UTC"
        assert render("{{ t|when:'Asia/Tokyo' }}", t=RECEIVED) == (
            "Tuesday 1 December 2026, 16:11:49 Asia/Tokyo (UTC+09:00)"
        )
        assert render("{{ t|when:'AoE' }}", t=RECEIVED).endswith(f"AoE (UTC{MINUS}12:00)")
        # An unknown zone (a stale profile) falls back to UTC rather than failing the page.
        assert render("{{ t|when:'Mars/Olympus_Mons' }}", t=RECEIVED).endswith("07:11:49 UTC")
        assert render("{{ t|when }}", t=None) == ""


def test_when_filter_follows_the_active_language():
    with translation.override("es"):
        assert render("{{ t|when }}", t=RECEIVED) == "martes 1 de diciembre de 2026, 07:11:49 UTC"


def test_html_datetime_is_valid_html_without_microseconds():
    assert render("{{ t|html_datetime }}", t=RECEIVED) == "2026-12-01T07:11:49Z"
    berlin = RECEIVED.astimezone(deadlines.resolve_zone("Europe/Berlin"))
    assert render("{{ t|html_datetime }}", t=berlin) == "2026-12-01T07:11:49Z"


def test_a_date_without_time_reads_as_a_localised_date_and_a_valid_datetime_value():
    day = date(2026, 12, 1)
    with translation.override("en"):
        assert render("{{ d|when }}", d=day) == "1 December 2026"
    with translation.override("es"):
        assert render("{{ d|when }}", d=day) == "1 de diciembre de 2026"
    assert render("{{ d|html_datetime }}", d=day) == "2026-12-01"


def test_deadline_at_writes_any_deadline_instant_as_a_deadline():
    instant = deadlines.deadline_instant(date(2019, 1, 31), "AoE")
    with translation.override("en"):
        assert render("{% deadline_at t 'AoE' %}", t=instant) == (
            f"Thursday 31 January 2019, end of day (24:00) AoE (UTC{MINUS}12:00)"
        )
        assert render("{% deadline_at t %}", t=instant) == "Friday 1 February 2019, 12:00 UTC"


# --- The deadline in its own zone, UTC and the reader's ---------------------------------------


BERLIN_DEADLINE = deadlines.deadline_instant(date(2026, 12, 16), "Europe/Berlin")


def test_a_deadline_set_in_berlin_is_shown_in_berlin_then_utc_then_the_readers_zone():
    with translation.override("en"):
        views = deadlines.deadline_views(BERLIN_DEADLINE, "Asia/Tokyo", "Europe/Berlin")
    assert [v.zone for v in views] == ["Europe/Berlin", "UTC", "Asia/Tokyo"]
    assert [v.text for v in views] == [
        "Wednesday 16 December 2026, end of day (24:00) Europe/Berlin (UTC+01:00)",
        "Wednesday 16 December 2026, 23:00 UTC",
        "Thursday 17 December 2026, 08:00 Asia/Tokyo (UTC+09:00)",
    ]


def test_the_readers_zone_is_not_repeated_when_it_is_the_deadlines_own():
    views = deadlines.deadline_views(BERLIN_DEADLINE, "Europe/Berlin", "Europe/Berlin")
    assert [v.zone for v in views] == ["Europe/Berlin", "UTC"]


def test_an_aoe_deadline_is_shown_in_aoe_utc_and_the_readers_zone_as_before():
    instant = deadlines.deadline_instant(date(2019, 1, 31), "AoE")
    assert [v.zone for v in deadlines.deadline_views(instant, "Europe/Berlin")] == [
        "AoE",
        "UTC",
        "Europe/Berlin",
    ]
    assert [v.zone for v in deadlines.deadline_views(instant, None, "Mars/Base")] == [
        "AoE",
        "UTC",
    ]


def test_time_words_carry_the_names_and_patterns_of_the_active_language():
    with translation.override("es"):
        words = deadlines.time_words()
    assert words["weekdays"][0] == "lunes" and words["weekdays"][2] == "miércoles"
    assert words["months"][11] == "diciembre"
    assert words["at"] == "%(weekday)s %(day)d de %(month)s de %(year)d, %(time)s %(zone)s"
    assert "(24:00)" in words["endOfDay"] and words["minus"] == MINUS


# --- Pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_rfp_page_shows_a_berlin_deadline_in_berlin_utc_and_the_visitors_zone(client, language):
    rfp = RFPFactory(deadline_zone="Europe/Berlin", deadline_date=date(2026, 12, 16))
    rfp.deadline_instant = BERLIN_DEADLINE
    rfp.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.cookies["tz"] = "Asia/Tokyo"
    with translation.override(language):
        body = client.get(rfp.get_absolute_url()).content.decode()
        home = client.get(reverse("home")).content.decode()
        expected = [
            v.text for v in deadlines.deadline_views(BERLIN_DEADLINE, "Asia/Tokyo", "Europe/Berlin")
        ]
        official = translation.gettext("Official time (%(zone)s)") % {"zone": "Europe/Berlin"}
    for text in expected:
        assert text in body
        assert text in home  # the RFP's card
    assert official in body
    assert "Anywhere on Earth" not in body
    assert 'datetime="2026-12-16T23:00:00Z"' in body


@pytest.mark.django_db
def test_without_a_known_zone_the_page_gives_portal_js_the_words_of_its_language(client):
    rfp = RFPFactory(deadline_zone="Europe/Berlin")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    with translation.override("es"):
        body = client.get(rfp.get_absolute_url()).content.decode()
    match = re.search(
        r'data-local-time="[^"]+" data-local-skip="([^"]*)" data-time-words="([^"]+)"', body
    )
    assert match, "no line for portal.js to fill in"
    assert match.group(1).split() == ["Europe/Berlin", "UTC"]
    words = json.loads(match.group(2).replace("&quot;", '"'))
    assert words["months"][0] == "enero"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_verify_gives_the_received_time_in_utc_and_aoe_for_people(
    client, language, proposer, open_rfp
):
    rfp = open_rfp
    version = submitted_proposal(rfp, proposer, "Verified").versions.get()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    with translation.override(language):
        body = client.post(reverse("verify_receipt"), {"code": version.receipt_code})
        body = body.content.decode()
        utc = deadlines.format_in_zone(version.received_at, "UTC").text
        aoe = deadlines.format_in_zone(version.received_at, "AoE").text
    assert utc in body and aoe in body
    assert not ISO.search(
        body.replace(f'datetime="{deadlines.html_datetime(version.received_at)}"', "")
    )


def test_verification_names_the_received_time_in_the_deadlines_zone():
    result = receipts.Verification(found=True, received_at=RECEIVED, deadline_zone="Europe/Berlin")
    with translation.override("en"):
        assert [v.text for v in result.received_views] == [
            "Tuesday 1 December 2026, 07:11:49 UTC",
            "Tuesday 1 December 2026, 08:11:49 Europe/Berlin (UTC+01:00)",
        ]
    assert receipts.Verification(found=False).received_views == []


@pytest.mark.django_db
def test_the_calendar_event_describes_the_deadline_for_people_in_the_rfps_zone_and_utc(client):
    rfp = RFPFactory(
        deadline_zone="Europe/Berlin",
        deadline_date=date(2026, 12, 16),
        deadline_instant=BERLIN_DEADLINE,
    )
    with translation.override("en"):
        body = client.get(reverse("rfp_calendar", args=[rfp.slug])).content.decode()
    text = body.replace("\r\n ", "").replace("\\,", ",")
    assert "Wednesday 16 December 2026, end of day (24:00) Europe/Berlin (UTC+01:00)" in text
    assert "= Wednesday 16 December 2026, 23:00 UTC" in text
    assert "2026-12-16T23:00:00Z" not in text
