"""Public RFP pages: the deadline instant, scope, criteria, calendar file and feed."""

import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from proposals import demo, services
from proposals.models import RFP
from rfp_portal import deadlines
from tests.factories import FeatureFactory, RFPFactory

pytestmark = pytest.mark.django_db

DATA_FILES = sorted(demo.DEMO_DATA_DIR.glob("*.toml"))


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.stem)
def test_rfp_page_shows_the_computed_instant_for_each_data_file(client, path):
    data = tomllib.loads(path.read_text())
    # Loaded without the demo shift, the page must show the file's own instant.
    services.load_rfp(data, now=datetime(2019, 1, 1, tzinfo=UTC))
    response = client.get(reverse("rfp_detail", args=[data["slug"]]))
    assert response.status_code == 200
    body = response.content.decode()
    expected = data["expected_deadline_utc"]
    assert f'datetime="{expected}"' in body
    instant = deadlines.parse_utc_iso(expected)
    assert deadlines.format_deadline(instant, "AoE") in body
    assert deadlines.format_deadline(instant, "UTC") in body
    assert "end of day (24:00) AoE" in body


def test_psf_2019_deadline_reads_as_31_january_aoe_and_1_february_noon_utc(client):
    path = next(p for p in DATA_FILES if p.stem == "pypi-2019-q1")
    services.load_rfp(tomllib.loads(path.read_text()), now=datetime(2019, 1, 1, tzinfo=UTC))
    body = client.get(reverse("rfp_detail", args=["pypi-2019-q1"])).content.decode()
    assert "Thursday 31 January 2019, end of day (24:00) AoE (UTC\u221212:00)" in body
    assert "Friday 1 February 2019, 12:00 UTC" in body


def test_viewer_zone_cookie_adds_a_local_time_line(client):
    rfp = RFPFactory()
    client.cookies["tz"] = "Asia/Kolkata"
    body = client.get(rfp.get_absolute_url()).content.decode()
    assert "Your time (Asia/Kolkata)" in body
    assert deadlines.format_deadline(rfp.deadline_instant, "Asia/Kolkata") in body


def test_bogus_zone_cookie_is_ignored(client):
    rfp = RFPFactory()
    client.cookies["tz"] = "../../etc/passwd"
    response = client.get(rfp.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "passwd" not in body
    assert body.count('<div class="deadline__zone"') == 3  # AoE, UTC, the row portal.js fills


def test_time_zone_form_sets_cookie_without_javascript(client):
    rfp = RFPFactory()
    response = client.post(
        reverse("set_time_zone"), {"time_zone": "America/New_York", "next": rfp.get_absolute_url()}
    )
    assert response.status_code == 302 and response.url == rfp.get_absolute_url()
    assert response.cookies["tz"].value == "America/New_York"
    bad = client.post(
        reverse("set_time_zone"), {"time_zone": "Nowhere", "next": "https://evil.example/"}
    )
    assert bad.url == "/"


def test_home_groups_open_and_past_rfps(client):
    open_rfp = RFPFactory(title="Open one")
    past = RFPFactory(title="Past one", deadline_instant=datetime(2019, 2, 1, 12, tzinfo=UTC))
    draft = RFPFactory(title="Secret draft", status="draft", published_at=None)
    body = client.get(reverse("home")).content.decode()
    assert body.index(open_rfp.title) < body.index("past-heading") < body.index(past.title)
    assert draft.title not in body


def test_draft_rfp_is_404_for_the_public(client, proposer):
    draft = RFPFactory(status="draft", published_at=None)
    assert client.get(draft.get_absolute_url()).status_code == 404
    client.force_login(proposer)
    assert client.get(draft.get_absolute_url()).status_code == 404


def test_markdown_body_is_rendered_and_sanitised(client):
    rfp = RFPFactory(
        body_markdown="# Big\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))"
        " [ok](https://example.org)"
    )
    body = client.get(rfp.get_absolute_url()).content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script>alert(1)</script>" not in body
    assert 'href="javascript' not in body
    assert 'href="https://example.org" rel="noopener noreferrer nofollow"' in body
    assert "<h2>Big</h2>" in body


def test_scope_table_shows_budgets_caps_and_totals(client):
    feature = FeatureFactory(budget=8000, cap=10000)
    FeatureFactory(milestone=feature.milestone, budget=5000, cap=7000)
    body = client.get(feature.milestone.rfp.get_absolute_url()).content.decode()
    # The table's columns name the currency; its cells are the amounts, grouped.
    assert "Budget (USD)" in body and "Cap (USD)" in body
    assert '"num">8,000<' in body and '"num">10,000<' in body
    # Key facts: the total budget, and the total cap, which without the RFP's own is the sum of
    # the budgets (over one feature's budget is made up elsewhere), and says so; the table's
    # foot sums the caps.
    assert "<dt>Total budget</dt><dd>USD 13,000</dd>" in body
    assert "<dt>Total cap</dt><dd>USD 13,000 <span" in body
    assert "budget must be made up under budget elsewhere" in body
    assert '"num">13,000<' in body and '"num">17,000<' in body


def test_calendar_file_has_the_deadline_instant(client):
    rfp = RFPFactory(deadline_instant=datetime(2019, 2, 1, 12, tzinfo=UTC))
    response = client.get(reverse("rfp_calendar", args=[rfp.slug]))
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert "DTSTART:20190201T120000Z" in text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_atom_feed_lists_published_rfps_only(client):
    published = RFPFactory(title="In the feed")
    RFPFactory(title="Not in the feed", status="draft", published_at=None)
    response = client.get(reverse("rfp_feed"))
    assert response["Content-Type"].startswith("application/atom+xml")
    body = response.content.decode()
    assert published.title in body and "Not in the feed" not in body


def test_home_page_query_count_does_not_grow_with_rfps(client, django_assert_max_num_queries):
    for _ in range(3):
        RFPFactory()
    with django_assert_max_num_queries(6):
        client.get(reverse("home"))
    for _ in range(10):
        RFPFactory(deadline_instant=datetime.now(UTC) - timedelta(days=30))
    with django_assert_max_num_queries(6):
        client.get(reverse("home"))


def test_saving_an_rfp_computes_the_instant_from_date_and_zone():
    rfp = RFPFactory.build(deadline_zone="Europe/Berlin")
    rfp.deadline_date = datetime(2026, 7, 1).date()
    services.save_rfp(rfp=rfp)
    rfp.refresh_from_db()
    assert deadlines.to_utc_iso(rfp.deadline_instant) == "2026-07-01T22:00:00Z"
    assert RFP.objects.filter(pk=rfp.pk).exists()
