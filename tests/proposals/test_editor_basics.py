"""The RFP editor's first steps in the portal (proposals.views.editor): a new draft from the
basics form, the basics and deadline steps, and their previews (the body's Markdown, the
deadline's instant). A bad field answers 400 with its message and saves nothing; a published
RFP is refused and changes only by addendum; a preview saves nothing and never fails."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse
from django.utils import timezone

from proposals import editor
from proposals.editor_forms import MAX_BODY_BYTES, DeadlineForm
from proposals.models import RFP
from rfp_portal import deadlines
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.factories import RFPFactory

pytestmark = pytest.mark.django_db

BASICS = {
    "title": "Packaging security, 2027",
    "slug": "packaging-2027",
    "funder": "Example Foundation",
    "issuer": "Python Software Foundation",
    "summary": "Harden the packaging toolchain.",
    "body_markdown": "## Scope\n\nSign **every** release.",
    "currency": "EUR",
    "total_cap": "120000",
}


def a_draft(**changes) -> RFP:
    fields = {**BASICS, "total_cap": Decimal(BASICS["total_cap"]), **changes}
    return editor.create_draft(now=timezone.now(), **fields)


def in_days(days: int) -> date:
    return timezone.now().date() + timedelta(days=days)


def deadline_data(**changes) -> dict:
    data = {
        "deadline_date": in_days(40).isoformat(),
        "deadline_zone": "AoE",
        "end_of_day": "1",
        "deadline_time": "",
        "grace_seconds": "300",
        "max_revisions": "2",
        "review_due": in_days(60).isoformat(),
        "sealed": "on",
        "save": "1",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def snapshot(rfp: RFP) -> dict:
    rfp = RFP.objects.get(pk=rfp.pk)
    return {**model_to_dict(rfp), "deadline_instant": rfp.deadline_instant}


def edits(rfp: RFP) -> int:
    return AuditEvent.objects.filter(action=AuditAction.RFP_EDITED, object_id=str(rfp.pk)).count()


# --- A new draft -------------------------------------------------------------------------------


def test_the_new_page_is_the_empty_basics_form_with_its_labels(staff_client):
    page = staff_client.get(reverse("staff_rfp_new"))
    text = page.content.decode()
    assert page.status_code == 200
    for label in ("Title", "Slug", "Funder", "Issuer", "Summary", "Body (Markdown)"):
        assert f">{label}</label>" in text
    assert ">Currency</label>" in text and ">Total cap</label>" in text
    assert 'value="USD"' in text  # the default currency
    for button in ("Save and continue", "Save", "Preview the body"):
        assert f">{button}</button>" in text
    # The steps are not links yet: there is no draft to link to.
    assert reverse("staff_rfp_edit_deadline", args=["packaging-2027"]) not in text
    assert 'aria-live="polite"' in text and "Preview of the body" in text


def test_save_and_continue_creates_the_draft_and_goes_to_the_deadline(staff, staff_client):
    answer = staff_client.post(reverse("staff_rfp_new"), {**BASICS, "save_next": "1"})
    rfp = RFP.objects.get(slug="packaging-2027")
    assert answer.status_code == 302
    assert answer["Location"] == reverse("staff_rfp_edit_deadline", args=[rfp.slug])
    assert rfp.status == RFP.Status.DRAFT
    assert (rfp.title, rfp.funder, rfp.issuer, rfp.currency) == (
        BASICS["title"],
        BASICS["funder"],
        BASICS["issuer"],
        "EUR",
    )
    assert rfp.summary == BASICS["summary"] and rfp.body_markdown == BASICS["body_markdown"]
    assert rfp.total_cap == Decimal("120000")
    # Six weeks ahead, end of day AoE, until the deadline step sets it.
    assert rfp.deadline_zone == "AoE" and rfp.deadline_end_of_day
    created = AuditEvent.objects.get(action=AuditAction.RFP_CREATED, object_id=str(rfp.pk))
    assert created.actor == staff


def test_save_stays_on_the_basics_step_of_the_new_draft(staff_client):
    answer = staff_client.post(
        reverse("staff_rfp_new"),
        {**BASICS, "issuer": "", "total_cap": "", "body_markdown": "", "save": "1"},
    )
    rfp = RFP.objects.get(slug="packaging-2027")
    assert answer["Location"] == reverse("staff_rfp_edit_basics", args=[rfp.slug])
    assert rfp.issuer == "" and rfp.total_cap is None and rfp.body_markdown == ""
    page = staff_client.get(answer["Location"])
    assert page.status_code == 200 and "Saved." in page.content.decode()


BAD_BASICS = [
    ("title", "", "This field is required."),
    ("slug", "Not a slug!", "Enter a valid “slug”"),
    ("slug", "taken", "Another RFP has this slug already: choose another."),
    ("funder", "x" * 201, "Ensure this value has at most 200 characters"),
    ("summary", "   ", "This field is required."),
    ("currency", "EU", "Use three capital letters (ISO 4217), for example USD or EUR."),
    ("currency", "E1R", "Use three capital letters (ISO 4217), for example USD or EUR."),
    ("total_cap", "-5", "Ensure this value is greater than or equal to 0."),
    ("total_cap", "lots", "Enter a number."),
    ("body_markdown", "x" * (MAX_BODY_BYTES + 1), "at most 100 KB is allowed"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_BASICS)
def test_a_bad_basics_field_creates_nothing(staff_client, field, value, message):
    RFPFactory(slug="taken")
    before = RFP.objects.count()
    answer = staff_client.post(reverse("staff_rfp_new"), {**BASICS, field: value, "save": "1"})
    text = answer.content.decode()
    assert answer.status_code == 400
    assert message in text
    assert f'href="#id_{field}"' in text  # the error summary links to the field
    assert RFP.objects.count() == before


@pytest.mark.parametrize(("field", "value", "message"), BAD_BASICS)
def test_a_bad_basics_field_changes_nothing_on_a_draft(staff_client, field, value, message):
    RFPFactory(slug="taken")
    rfp = a_draft()
    before, audited = snapshot(rfp), edits(rfp)
    url = reverse("staff_rfp_edit_basics", args=[rfp.slug])
    answer = staff_client.post(url, {**BASICS, "title": "Changed", field: value, "save": "1"})
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert snapshot(rfp) == before and edits(rfp) == audited


def test_the_basics_step_saves_its_changes_and_keeps_its_own_slug(staff, staff_client):
    rfp = a_draft()
    url = reverse("staff_rfp_edit_basics", args=[rfp.slug])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert 'value="Packaging security, 2027"' in page.content.decode()
    # The stored body is previewed as the step opens.
    assert "<strong>every</strong>" in page.content.decode()
    answer = staff_client.post(url, {**BASICS, "currency": "usd", "title": "Renamed", "save": "1"})
    assert answer.status_code == 302 and answer["Location"] == url
    rfp.refresh_from_db()
    assert rfp.title == "Renamed" and rfp.currency == "USD"
    assert AuditEvent.objects.get(action=AuditAction.RFP_EDITED, object_id=str(rfp.pk)).actor == (
        staff
    )


def test_a_new_slug_moves_the_draft_and_its_steps(staff_client):
    rfp = a_draft()
    answer = staff_client.post(
        reverse("staff_rfp_edit_basics", args=[rfp.slug]),
        {**BASICS, "slug": "packaging-2028", "save_next": "1"},
    )
    assert answer["Location"] == reverse("staff_rfp_edit_deadline", args=["packaging-2028"])
    assert RFP.objects.get(pk=rfp.pk).slug == "packaging-2028"


# --- The body's preview ------------------------------------------------------------------------


def test_preview_the_body_shows_it_and_saves_nothing(staff_client):
    before = RFP.objects.count()
    answer = staff_client.post(
        reverse("staff_rfp_new"),
        {"title": "", "body_markdown": "Hello *world*\n\n- one\n- two", "preview": "1"},
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "<em>world</em>" in text and "<li>one</li>" in text
    # A half-written form is not wrong yet: no errors, and what was typed stays.
    assert "Please correct the following" not in text
    assert "Hello *world*" in text
    assert RFP.objects.count() == before


def test_preview_the_body_of_a_draft_saves_nothing(staff_client):
    rfp = a_draft()
    before = snapshot(rfp)
    answer = staff_client.post(
        reverse("staff_rfp_edit_basics", args=[rfp.slug]),
        {**BASICS, "title": "Not saved", "body_markdown": "**New**", "preview": "1"},
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "<strong>New</strong>" in text and 'value="Not saved"' in text
    assert snapshot(rfp) == before


def test_the_markdown_preview_renders_safe_html(staff_client):
    url = reverse("staff_markdown_preview")
    answer = staff_client.post(
        url, {"body_markdown": "# Title\n\n<script>alert(1)</script> [x](javascript:alert(1))"}
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "<h2>Title</h2>" in text
    # Raw HTML is text, and a script link is no link.
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert 'href="javascript' not in text
    empty = staff_client.post(url, {"body_markdown": "  "})
    assert empty.status_code == 200 and "Nothing to preview yet" in empty.content.decode()


def test_the_markdown_preview_refuses_more_than_100_kb(staff_client):
    url = reverse("staff_markdown_preview")
    answer = staff_client.post(url, {"body_markdown": "é" * (MAX_BODY_BYTES // 2 + 1)})
    assert answer.status_code == 400
    assert "at most 100 KB is allowed" in answer.content.decode()
    assert staff_client.post(url, {"body_markdown": "x" * MAX_BODY_BYTES}).status_code == 200


def test_the_previews_answer_post_only_and_only_staff(client, staff_client, proposer):
    for name in ("staff_markdown_preview", "staff_deadline_preview"):
        assert staff_client.get(reverse(name)).status_code == 405
    client.force_login(proposer)
    for name in ("staff_markdown_preview", "staff_deadline_preview", "staff_rfp_new"):
        assert client.post(reverse(name), {"body_markdown": "x"}).status_code == 403


def test_the_previews_need_the_csrf_token(staff):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    answer = browser.post(reverse("staff_markdown_preview"), {"body_markdown": "x"})
    assert answer.status_code == 403


# --- The deadline step -------------------------------------------------------------------------


def test_the_deadline_step_shows_the_stored_instant(staff, staff_client):
    staff.time_zone = "Asia/Tokyo"
    staff.save()
    rfp = a_draft()
    page = staff_client.get(reverse("staff_rfp_edit_deadline", args=[rfp.slug]))
    text = page.content.decode()
    assert page.status_code == 200
    for label in (
        "Deadline date",
        "Time zone",
        "Time of day",
        "Grace period after the deadline (seconds)",
        "Maximum revisions",
        "Reviews due",
    ):
        assert f">{label}</label>" in text
    assert "<legend>Deadline time</legend>" in text
    assert "End of day (24:00)" in text and "At a time of day" in text
    assert "The deadline will be" in text and ">Show the deadline</button>" in text
    for view in deadlines.deadline_views(rfp.deadline_instant, "Asia/Tokyo", "AoE"):
        assert view.text in text
    assert "Your time (Asia/Tokyo)" in text
    assert " left." in text
    # AoE is offered first, and sealing is on by default.
    assert text.index('value="AoE"') < text.index('value="UTC"')
    assert 'id="id_sealed" checked' in text


def test_the_deadline_step_saves_the_computed_instant_and_the_rules(staff, staff_client):
    rfp = a_draft()
    url = reverse("staff_rfp_edit_deadline", args=[rfp.slug])
    day = in_days(50)
    answer = staff_client.post(
        url,
        deadline_data(
            deadline_date=day.isoformat(),
            deadline_zone="Europe/Berlin",
            end_of_day="0",
            deadline_time="17:30",
            sealed=None,
            refuse_active_content="on",
            reviewers_see_others_first="on",
            save=None,
            save_next="1",
        ),
    )
    assert answer.status_code == 302
    assert answer["Location"] == reverse("staff_rfp_edit_timeline", args=[rfp.slug])
    rfp.refresh_from_db()
    assert rfp.deadline_instant == deadlines.deadline_instant(
        day, "Europe/Berlin", end_of_day=False, at=time(17, 30)
    )
    assert (rfp.deadline_zone, rfp.deadline_end_of_day, rfp.deadline_time) == (
        "Europe/Berlin",
        False,
        time(17, 30),
    )
    assert (rfp.grace_seconds, rfp.max_revisions, rfp.review_due) == (300, 2, in_days(60))
    assert not rfp.sealed and rfp.refuse_active_content and rfp.reviewers_see_others_first
    event = AuditEvent.objects.get(action=AuditAction.RFP_EDITED, object_id=str(rfp.pk))
    assert event.details["step"] == "deadline" and event.actor == staff

    # Back to end of day: the time is dropped. The saved page shows the stored instant.
    answer = staff_client.post(url, deadline_data(deadline_time="09:00"))
    assert answer["Location"] == url
    rfp.refresh_from_db()
    assert rfp.deadline_end_of_day and rfp.deadline_time is None
    page = staff_client.get(url).content.decode()
    assert deadlines.format_deadline(rfp.deadline_instant, "AoE") in page


BAD_DEADLINES = [
    ("deadline_date", {"deadline_date": ""}, "Give the deadline&#x27;s date."),
    ("deadline_date", {"deadline_date": "2027-02-31"}, "Enter a valid date."),
    ("deadline_zone", {"deadline_zone": "Mars/Olympus"}, "is not a time zone we know"),
    (
        "deadline_time",
        {"end_of_day": "0", "deadline_time": ""},
        "Give the time of day, or choose “End of day (24:00)”.",
    ),
    ("end_of_day", {"end_of_day": "maybe"}, "Select a valid choice."),
    ("grace_seconds", {"grace_seconds": "86401"}, "less than or equal to 86400"),
    ("grace_seconds", {"grace_seconds": "-1"}, "greater than or equal to 0"),
    ("max_revisions", {"max_revisions": "-1"}, "greater than or equal to 0"),
    ("max_revisions", {"max_revisions": "1000"}, "less than or equal to 100"),
    (
        "review_due",
        {"review_due": in_days(39).isoformat()},
        "Reviews cannot be due before the deadline&#x27;s date",
    ),
]


@pytest.mark.parametrize(("field", "changes", "message"), BAD_DEADLINES)
def test_a_bad_deadline_field_changes_nothing(staff_client, field, changes, message):
    rfp = a_draft()
    before, audited = snapshot(rfp), edits(rfp)
    answer = staff_client.post(
        reverse("staff_rfp_edit_deadline", args=[rfp.slug]), deadline_data(**changes)
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    assert message in text
    first = f"id_{field}_0" if field == "end_of_day" else f"id_{field}"
    assert f'href="#{first}"' in text
    assert snapshot(rfp) == before and edits(rfp) == audited


def test_a_deadline_that_has_passed_is_refused_saying_when_it_was(staff_client):
    rfp = a_draft()
    before = snapshot(rfp)
    day = in_days(-3)
    answer = staff_client.post(
        reverse("staff_rfp_edit_deadline", args=[rfp.slug]),
        deadline_data(deadline_date=day.isoformat(), review_due=""),
    )
    text = answer.content.decode()
    assert answer.status_code == 400
    when = deadlines.format_deadline(deadlines.deadline_instant(day, "AoE"), "AoE")
    assert f"The deadline would be {when}, which has passed" in text
    assert 'href="#id_deadline_date"' in text
    assert "This instant has passed" in text  # the panel says so too
    assert snapshot(rfp) == before


def test_a_deadline_at_this_very_instant_has_passed():
    now = deadlines.deadline_instant(in_days(10), "UTC", end_of_day=False, at=time(12, 0))
    data = deadline_data(
        deadline_date=in_days(10).isoformat(),
        deadline_zone="UTC",
        end_of_day="0",
        deadline_time="12:00",
    )
    form = DeadlineForm(data, now=now)
    assert not form.is_valid() and "has passed" in form.errors["deadline_date"][0]
    assert DeadlineForm(data, now=now - timedelta(microseconds=1)).is_valid()


def test_show_the_deadline_previews_it_and_saves_nothing(staff_client):
    rfp = a_draft()
    before = snapshot(rfp)
    day = in_days(30)
    answer = staff_client.post(
        reverse("staff_rfp_edit_deadline", args=[rfp.slug]),
        deadline_data(
            deadline_date=day.isoformat(),
            deadline_zone="America/New_York",
            grace_seconds="many",
            sealed=None,
            save=None,
            preview="1",
        ),
    )
    text = answer.content.decode()
    assert answer.status_code == 200
    instant = deadlines.deadline_instant(day, "America/New_York")
    assert deadlines.format_deadline(instant, "America/New_York") in text
    assert deadlines.format_deadline(instant, "UTC") in text
    # What was typed stays, unjudged (the unticked box stays unticked), and nothing is saved.
    assert "Please correct the following" not in text
    assert 'value="many"' in text and 'value="America/New_York" selected' in text
    assert 'id="id_sealed">' in text
    assert snapshot(rfp) == before


# --- The deadline's live preview ---------------------------------------------------------------


def test_the_deadline_preview_lists_the_instant_in_each_zone(staff, staff_client):
    staff.time_zone = "Asia/Tokyo"
    staff.save()
    day = in_days(20)
    answer = staff_client.post(
        reverse("staff_deadline_preview"),
        {"deadline_date": day.isoformat(), "deadline_zone": "AoE", "end_of_day": "1"},
    )
    text = answer.content.decode()
    instant = deadlines.deadline_instant(day, "AoE")
    assert answer.status_code == 200
    for view in deadlines.deadline_views(instant, "Asia/Tokyo", "AoE"):
        assert view.text in text
    assert "Anywhere on Earth (AoE)" in text and "Your time (Asia/Tokyo)" in text
    assert f'datetime="{deadlines.html_datetime(instant)}"' in text
    left = deadlines.describe_countdown(deadlines.countdown(timezone.now(), instant))
    assert left.split(",")[0].capitalize() in text and " left." in text

    at_time = staff_client.post(
        reverse("staff_deadline_preview"),
        {
            "deadline_date": day.isoformat(),
            "deadline_zone": "Europe/Berlin",
            "end_of_day": "0",
            "deadline_time": "17:00",
        },
    ).content.decode()
    local = deadlines.deadline_instant(day, "Europe/Berlin", end_of_day=False, at=time(17))
    assert deadlines.format_deadline(local, "Europe/Berlin") in at_time
    assert "Official time (Europe/Berlin)" in at_time


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"deadline_date": "2027-01-10", "deadline_zone": "Nowhere/Land"}, "Nowhere/Land"),
        ({"deadline_date": "../etc/passwd", "deadline_zone": "AoE"}, "Enter a valid date."),
        ({"deadline_date": "9999-12-31", "deadline_zone": "AoE"}, "do not make a deadline"),
        ({"deadline_zone": "AoE"}, "Give the deadline"),
        (
            {"deadline_date": "2027-01-10", "deadline_zone": "AoE", "end_of_day": "0"},
            "Give the time of day",
        ),
        ({"deadline_date": "2027-01-10", "deadline_zone": "x" * 5000}, "is not a time zone"),
    ],
)
def test_the_deadline_preview_says_what_is_wrong_never_a_500(staff_client, data, message):
    answer = staff_client.post(reverse("staff_deadline_preview"), {"end_of_day": "1", **data})
    assert answer.status_code == 200
    assert message in answer.content.decode()


def test_the_deadline_preview_says_when_the_instant_has_passed(staff_client):
    answer = staff_client.post(
        reverse("staff_deadline_preview"),
        {"deadline_date": "2019-01-31", "deadline_zone": "AoE", "end_of_day": "1"},
    )
    text = answer.content.decode()
    assert "Thursday 31 January 2019, end of day (24:00) AoE" in text
    assert "This instant has passed" in text


# --- A published RFP changes only by addendum --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [("staff_rfp_edit_basics", {**BASICS, "save": "1"}), ("staff_rfp_edit_deadline", None)],
)
def test_a_published_rfp_is_refused_and_nothing_changes(staff_client, name, data):
    rfp = RFPFactory(slug="published-one")
    data = data if data is not None else deadline_data()
    url = reverse(name, args=[rfp.slug])
    page = staff_client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert "changes only by addendum" in text
    assert reverse("staff_addendum", args=[rfp.slug]) in text
    assert "<form" not in text.split("<main")[1] or 'id="basics-form"' not in text
    before, audited = snapshot(rfp), edits(rfp)
    answer = staff_client.post(url, {**data, "preview": "1"})
    assert answer.status_code == 400
    answer = staff_client.post(url, data)
    assert answer.status_code == 400
    assert "changes only by addendum" in answer.content.decode()
    assert snapshot(rfp) == before and edits(rfp) == audited
