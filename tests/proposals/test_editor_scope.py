"""The RFP editor's timeline and scope steps (proposals.views.editor_parts): the page shows the
stored parts, and posting it back as it is stores the same; the PSF's Q4 2019 scope typed in
gives exactly the import's milestones and features; every bad input is said on its field (400,
nothing saved); Move up / Move down / Add / Remove without JavaScript redraw the posted page
unsaved, and Save then stores the order shown; a published RFP is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from proposals.models import RFP, Feature, Milestone, TimelineEntry
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.factories import RFPFactory, TimelineEntryFactory
from tests.helpers.rfp_fields import import_q4_as_draft, q4_data, q4_shift, rfp_fields

pytestmark = pytest.mark.django_db

NOT_SAVED_ORDER = "Not saved yet: press Save to keep this order."


def draft(**fields) -> RFP:
    fields.setdefault("total_cap", Decimal("65000"))
    return RFPFactory(status=RFP.Status.DRAFT, published_at=None, currency="USD", **fields)


def q4_draft() -> RFP:
    return import_q4_as_draft(slug="q4-draft", shift=q4_shift())


def scope_url(rfp: RFP) -> str:
    return reverse("staff_rfp_edit_scope", args=[rfp.slug])


def timeline_url(rfp: RFP) -> str:
    return reverse("staff_rfp_edit_timeline", args=[rfp.slug])


class _FormFields(HTMLParser):
    """What a browser without JavaScript posts from a page's form: every named input, select
    and textarea outside <template> (ticked checkboxes only), and no button."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._template = 0
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self._template += 1
        if self._template or not a.get("name"):
            return
        if tag == "input" and a.get("type") not in ("submit", "button"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            default = "on" if a.get("type") == "checkbox" else ""
            self.fields.append((a["name"], a.get("value") or default))
        elif tag == "textarea":
            self._textarea = a["name"]

    def handle_data(self, data):
        if self._textarea:
            self.fields.append((self._textarea, data))
            self._textarea = None

    def handle_endtag(self, tag):
        if tag == "template":
            self._template -= 1


def form_data(response, **changes) -> dict[str, list[str]]:
    parser = _FormFields()
    parser.feed(response.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        if name != "csrfmiddlewaretoken":
            data.setdefault(name, []).append(value)
    for name, value in changes.items():
        data[name.replace("__", "-")] = value if isinstance(value, list) else [value]
    return data


def scope_data(milestones, **extra) -> dict:
    """A scope as the page posts it: [(milestone name, [(name, budget, cap, [tasks])...])...]."""
    data: dict = {"m-TOTAL_FORMS": len(milestones), "m-INITIAL_FORMS": 0}
    for i, (name, features) in enumerate(milestones):
        data[f"m-{i}-name"] = name
        data[f"m-{i}-f-TOTAL_FORMS"] = len(features)
        data[f"m-{i}-f-INITIAL_FORMS"] = 0
        for j, (feature, amount, cap, tasks) in enumerate(features):
            data[f"m-{i}-f-{j}-name"] = feature
            data[f"m-{i}-f-{j}-budget"] = amount
            data[f"m-{i}-f-{j}-cap"] = cap
            data[f"m-{i}-f-{j}-tasks"] = [*tasks, "", ""]
    return data | extra


def q4_scope() -> list:
    return [
        (
            m["name"],
            [(f["name"], str(f["budget"]), str(f["cap"]), f["tasks"]) for f in m["features"]],
        )
        for m in q4_data()["milestones"]
    ]


def scope_of(rfp: RFP) -> list:
    return [
        (
            m.name,
            [(f.name, f.budget, f.cap, f.tasks) for f in m.features.order_by("position")],
        )
        for m in Milestone.objects.filter(rfp=rfp).order_by("position")
    ]


def page_order(response, names: list[str]) -> list[str]:
    text = response.content.decode()
    return sorted(names, key=text.index)


# --- Scope: the stored parts, and saving them --------------------------------------------------


def test_the_scope_page_shows_the_stored_milestones_features_and_totals(staff_client):
    rfp = q4_draft()
    page = staff_client.get(scope_url(rfp))
    text = page.content.decode()
    assert page.status_code == 200
    assert 'value="Milestone 1 - Verifiable cryptographic signing of artifacts"' in text
    assert 'name="m-0-f-0-budget" value="25000"' in text.replace(" " * 2, " ")
    assert 'value="Serve signed metadata"' in text
    # Per milestone, overall, and against the total cap, in the RFP's currency, for people.
    assert "USD 25,000" in text and "USD 30,000" in text
    assert "USD 48,000" in text and "USD 60,000" in text
    assert "Compared with the RFP's total cap (USD 65,000)" in text
    assert "USD 17,000 under" in text and "USD 5,000 under" in text
    for label in ("Milestone name", "Feature name", "Budget", "Cap", "Tasks", "Task 1"):
        assert f">{label}</" in text
    assert "Add a milestone" in text and "Add a feature" in text


def test_posting_the_page_as_it_is_stores_the_same_scope(staff_client):
    rfp = q4_draft()
    before = rfp_fields(rfp)["milestones"]
    page = staff_client.get(scope_url(rfp))
    response = staff_client.post(scope_url(rfp), form_data(page, save="1"))
    assert response.status_code == 302
    assert response["Location"] == scope_url(rfp)
    assert rfp_fields(RFP.objects.get(pk=rfp.pk))["milestones"] == before


def test_the_q4_scope_typed_in_gives_exactly_its_milestones_and_features(staff, staff_client):
    rfp = draft()
    imported = q4_draft()
    response = staff_client.post(scope_url(rfp), scope_data(q4_scope(), save_next="1"))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_rfp_edit_elements", args=[rfp.slug])
    assert rfp_fields(rfp)["milestones"] == rfp_fields(imported)["milestones"]
    assert scope_of(rfp) == [
        (
            "Milestone 1 - Verifiable cryptographic signing of artifacts",
            [
                (
                    "TUF signing (PEP 458), about 4-5 weeks",
                    Decimal("25000"),
                    Decimal("30000"),
                    [
                        "Generate and sign TUF metadata",
                        "Serve signed metadata",
                        "Cache and invalidate metadata",
                        "Administrator documentation for key material",
                        "Client-library documentation for validating metadata",
                    ],
                )
            ],
        ),
        (
            "Milestone 2 - Automated detection of malicious uploads",
            [
                (
                    "Malicious upload detection, about 3-4 weeks",
                    Decimal("20000"),
                    Decimal("24500"),
                    [
                        "Run automated checks on new projects, releases and files",
                        "Pluggable system for developing and deploying checks",
                        "Models for check results",
                        "Administrator views for reviewing results",
                        "Documentation for writing new checks",
                    ],
                )
            ],
        ),
        (
            "Documentation",
            [
                (
                    "Documentation for the features above",
                    Decimal("3000"),
                    Decimal("5500"),
                    ["Documentation"],
                )
            ],
        ),
    ]
    event = AuditEvent.objects.filter(action=AuditAction.RFP_EDITED).latest("at")
    assert event.actor == staff
    assert event.details == {"step": "scope", "milestones": 3, "features": 3}


def test_amounts_are_read_as_people_type_them_and_empty_rows_are_left_out(staff_client):
    rfp = draft()
    data = scope_data(
        [
            ("Build", [("Core", "25,000", "30 000,50", ["Write it"]), ("", "", "", [])]),
            ("", [("", "", "", [])]),
        ]
    )
    response = staff_client.post(scope_url(rfp), data | {"save": "1"})
    assert response.status_code == 302
    assert scope_of(rfp) == [
        ("Build", [("Core", Decimal("25000"), Decimal("30000.50"), ["Write it"])])
    ]


# --- Scope: every problem on its field, nothing saved ------------------------------------------

CAP_BELOW = "Milestone 1, feature 1, Cap: It must be at least the budget (USD 25,000)."


@pytest.mark.parametrize(
    ("changes", "message", "target"),
    [
        ({"m__0__f__0__cap": "20000"}, CAP_BELOW, "id_m-0-f-0-cap"),
        (
            {"m__0__f__0__budget": ""},
            "Milestone 1, feature 1, Budget: Write the budget (0 if there is none).",
            "id_m-0-f-0-budget",
        ),
        (
            {"m__1__f__0__budget": "-5"},
            "Milestone 2, feature 1, Budget: An amount cannot be negative.",
            "id_m-1-f-0-budget",
        ),
        (
            {"m__1__f__0__cap": "lots"},
            "Milestone 2, feature 1, Cap: Enter an amount as a number, such as 8000 or 8000.50.",
            "id_m-1-f-0-cap",
        ),
        (
            {"m__2__f__0__name": ""},
            "Milestone 3, feature 1, Feature name: Give the feature a name.",
            "id_m-2-f-0-name",
        ),
        (
            {"m__1__name": ""},
            "Milestone 2, Milestone name: Give the milestone a name.",
            "id_m-1-name",
        ),
        (
            {"m__2__name": "Milestone 2 - Automated detection of malicious uploads"},
            "Milestone 3, Milestone name: Milestone 2 has this name already: give each its own.",
            "id_m-2-name",
        ),
        (
            {
                "m__2__f__0__name": "",
                "m__2__f__0__budget": "",
                "m__2__f__0__cap": "",
                "m__2__f__0__tasks": ["", ""],
            },
            "Milestone 3: “Documentation” has no feature: add a feature or remove the milestone.",
            "id_m-2-f-0-name",
        ),
        (
            {"m__0__f__0__tasks": ["x" * 501]},
            "Milestone 1, feature 1, Tasks: Item 1 has 501 characters; at most 500 are allowed.",
            "id_m-0-f-0-tasks_0",
        ),
    ],
)
def test_each_bad_input_is_said_on_its_field_and_nothing_is_saved(
    staff_client, changes, message, target
):
    rfp = q4_draft()
    before = rfp_fields(rfp)
    events = AuditEvent.objects.count()
    page = staff_client.get(scope_url(rfp))
    response = staff_client.post(scope_url(rfp), form_data(page, save="1", **changes))
    text = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 400
    assert "Nothing was saved." in text
    assert f'<a href="#{target}">{message}</a>' in text
    assert f'id="{target}"' in text
    assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before
    assert AuditEvent.objects.count() == events


def test_the_number_of_features_and_of_milestones_is_bounded(staff_client):
    rfp = draft()
    many = [(f"Part {n}", "10", "10", []) for n in range(26)]
    response = staff_client.post(
        scope_url(rfp), scope_data([("One", many), ("Two", many)], save="1")
    )
    assert response.status_code == 400
    assert "52 features: at most 50 are allowed; remove some." in response.content.decode()
    data = scope_data([(f"M{n}", [("F", "1", "1", [])]) for n in range(21)], save="1")
    response = staff_client.post(scope_url(rfp), data)
    assert response.status_code == 400
    assert "At most 20 milestones; remove some." in response.content.decode()
    assert not Milestone.objects.filter(rfp=rfp).exists()


def test_a_broken_post_is_refused_without_an_error_page(staff_client):
    rfp = q4_draft()
    before = rfp_fields(rfp)
    response = staff_client.post(scope_url(rfp), {"save": "1"})
    assert response.status_code == 400
    assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before


# --- Scope: add, move and remove without JavaScript -------------------------------------------


def test_moving_a_milestone_up_redraws_the_page_unsaved_and_save_keeps_that_order(staff_client):
    rfp = q4_draft()
    before = rfp_fields(rfp)
    names = [m.name for m in rfp.milestones.all()]
    page = staff_client.get(scope_url(rfp))
    moved = staff_client.post(scope_url(rfp), form_data(page, op="up-m-2"))
    assert moved.status_code == 200
    assert NOT_SAVED_ORDER in moved.content.decode()
    assert page_order(moved, names) == [names[0], names[2], names[1]]
    assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before

    # The moved milestone's Move up button keeps the focus.
    assert 'value="up-m-1" class="button button--secondary button--small" autofocus' in (
        moved.content.decode()
    )
    saved = staff_client.post(scope_url(rfp), form_data(moved, save="1"))
    assert saved.status_code == 302
    assert [name for name, _features in scope_of(rfp)] == [names[0], names[2], names[1]]


def test_moving_a_feature_down_within_its_milestone(staff_client):
    rfp = draft()
    scope = [("Build", [("First", "1", "2", ["a"]), ("Second", "3", "4", ["b"])])]
    moved = staff_client.post(scope_url(rfp), scope_data(scope, op="down-f-0-0"))
    assert moved.status_code == 200
    assert page_order(moved, ['value="First"', 'value="Second"']) == [
        'value="Second"',
        'value="First"',
    ]
    assert not Milestone.objects.filter(rfp=rfp).exists()
    staff_client.post(scope_url(rfp), form_data(moved, save="1"))
    assert [f for _name, features in scope_of(rfp) for f in features] == [
        ("Second", Decimal("3"), Decimal("4"), ["b"]),
        ("First", Decimal("1"), Decimal("2"), ["a"]),
    ]


def test_adding_a_feature_and_a_milestone_without_javascript(staff_client):
    rfp = q4_draft()
    before = rfp_fields(rfp)
    page = staff_client.get(scope_url(rfp))
    added = staff_client.post(scope_url(rfp), form_data(page, op="add-f-2"))
    text = added.content.decode()
    assert added.status_code == 200
    assert "Not saved yet: fill in the new row, then press Save." in text
    assert 'name="m-2-f-1-name" maxlength="200" autofocus' in text
    assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before

    added = staff_client.post(scope_url(rfp), form_data(added, op="add-m"))
    assert 'name="m-3-name"' in added.content.decode()
    filled = form_data(
        added,
        save="1",
        m__2__f__1__name="Translations",
        m__2__f__1__budget="1000",
        m__2__f__1__cap="1500",
        m__2__f__1__tasks=["Spanish", "French"],
        m__3__name="Outreach",
        m__3__f__0__name="Talks",
        m__3__f__0__budget="500",
        m__3__f__0__cap="500",
    )
    assert staff_client.post(scope_url(rfp), filled).status_code == 302
    scope = scope_of(rfp)
    assert scope[2][1][1] == (
        "Translations",
        Decimal("1000"),
        Decimal("1500"),
        ["Spanish", "French"],
    )
    assert scope[3] == ("Outreach", [("Talks", Decimal("500"), Decimal("500"), [])])


def test_removing_a_milestone_or_a_feature_redraws_the_page_unsaved(staff_client):
    rfp = q4_draft()
    before = rfp_fields(rfp)
    page = staff_client.get(scope_url(rfp))
    removed = staff_client.post(scope_url(rfp), form_data(page, op="remove-m-2"))
    text = removed.content.decode()
    assert removed.status_code == 200
    assert "Not saved yet: press Save to keep this change." in text
    assert 'value="Documentation"' not in text
    assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before

    # A milestone whose only feature is removed keeps an empty feature row to fill in.
    removed = staff_client.post(scope_url(rfp), form_data(removed, op="remove-f-1-0"))
    text = removed.content.decode()
    assert 'value="Malicious upload detection, about 3-4 weeks"' not in text
    assert 'name="m-1-f-0-name"' in text
    refused = staff_client.post(scope_url(rfp), form_data(removed, save="1"))
    assert refused.status_code == 400
    assert "has no feature: add a feature or remove the milestone." in refused.content.decode()


# --- Timeline ---------------------------------------------------------------------------------


def timeline_data(rows, **extra) -> dict:
    """The timeline as the page posts it: [(date, month only, label)...] and two empty rows."""
    rows = [*rows, ("", False, ""), ("", False, "")]
    data: dict = {"t-TOTAL_FORMS": len(rows), "t-INITIAL_FORMS": 0}
    for i, (day, month_only, label) in enumerate(rows):
        data[f"t-{i}-date"] = day
        data[f"t-{i}-label"] = label
        if month_only:
            data[f"t-{i}-month_only"] = "on"
    return data | extra


def timeline_of(rfp: RFP) -> list:
    return list(
        TimelineEntry.objects.filter(rfp=rfp)
        .order_by("position")
        .values_list("date", "precision", "label", "position")
    )


def test_the_timeline_is_saved_in_the_order_shown_with_months(staff, staff_client):
    rfp = draft()
    data = timeline_data(
        [
            ("2019-09-25", False, "Request for Proposals period opens"),
            ("2019-10-21", False, "Request for Proposals period closes (end of day, AoE)"),
            ("2019-12-17", True, "Contract work begins"),
        ],
        save_next="1",
    )
    response = staff_client.post(timeline_url(rfp), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff_rfp_edit_scope", args=[rfp.slug])
    assert timeline_of(rfp) == [
        (date(2019, 9, 25), "day", "Request for Proposals period opens", 0),
        (date(2019, 10, 21), "day", "Request for Proposals period closes (end of day, AoE)", 1),
        (date(2019, 12, 1), "month", "Contract work begins", 2),
    ]
    event = AuditEvent.objects.filter(action=AuditAction.RFP_EDITED).latest("at")
    assert event.details == {"step": "timeline", "entries": 3} and event.actor == staff

    page = staff_client.get(timeline_url(rfp))
    text = page.content.decode()
    assert (
        'value="2019-12-01"' in text
        and 'name="t-2-month_only" id="id_t-2-month_only" checked' in text
    )
    for label in ("Date", "Only the month", "Label", "Remove"):
        assert f">{label}</label>" in text
    # Posted back as it is, the timeline stays the same.
    assert staff_client.post(timeline_url(rfp), form_data(page, save="1")).status_code == 302
    assert [row[:3] for row in timeline_of(rfp)] == [
        (date(2019, 9, 25), "day", "Request for Proposals period opens"),
        (date(2019, 10, 21), "day", "Request for Proposals period closes (end of day, AoE)"),
        (date(2019, 12, 1), "month", "Contract work begins"),
    ]


def test_moving_an_entry_redraws_unsaved_and_save_stores_the_order_shown(staff_client):
    rfp = draft()
    TimelineEntryFactory(rfp=rfp, date=date(2030, 1, 1), label="First", position=0)
    TimelineEntryFactory(rfp=rfp, date=date(2030, 2, 1), label="Second", position=1)
    page = staff_client.get(timeline_url(rfp))
    assert 'Move up<span class="visually-hidden"> Second</span>' in page.content.decode()
    moved = staff_client.post(timeline_url(rfp), form_data(page, op="up-1"))
    assert moved.status_code == 200
    assert NOT_SAVED_ORDER in moved.content.decode()
    assert page_order(moved, ['value="First"', 'value="Second"'])[0] == 'value="Second"'
    assert [row[2] for row in timeline_of(rfp)] == ["First", "Second"]
    assert staff_client.post(timeline_url(rfp), form_data(moved, save="1")).status_code == 302
    assert [row[2] for row in timeline_of(rfp)] == ["Second", "First"]


def test_remove_ticks_an_entry_out(staff_client):
    rfp = draft()
    TimelineEntryFactory(rfp=rfp, date=date(2030, 1, 1), label="Keep", position=0)
    TimelineEntryFactory(rfp=rfp, date=date(2030, 2, 1), label="Drop", position=1)
    page = staff_client.get(timeline_url(rfp))
    response = staff_client.post(timeline_url(rfp), form_data(page, save="1", t__1__DELETE="on"))
    assert response.status_code == 302
    assert [row[2] for row in timeline_of(rfp)] == ["Keep"]


@pytest.mark.parametrize(
    ("row", "message", "target"),
    [
        (
            ("2019-02-30", False, "A day that is not"),
            "Entry 1, Date: Enter a date as year-month-day, such as 2019-12-02.",
            "id_t-0-date",
        ),
        (
            ("2019-12-02", False, "x" * 301),
            "Entry 1, Label: Ensure this value has at most 300 characters (it has 301).",
            "id_t-0-label",
        ),
        (
            ("2019-12-02", False, ""),
            "Entry 1, Label: Write what happens on this date.",
            "id_t-0-label",
        ),
        (
            ("", True, "Contracts"),
            "Entry 1, Date: Write the date of this entry (any day of it for “Only the month”).",
            "id_t-0-date",
        ),
    ],
)
def test_each_bad_timeline_entry_is_said_on_its_field(staff_client, row, message, target):
    rfp = draft()
    TimelineEntryFactory(rfp=rfp, date=date(2030, 1, 1), label="Stays", position=0)
    response = staff_client.post(timeline_url(rfp), timeline_data([row], save="1"))
    assert response.status_code == 400
    assert f'<a href="#{target}">{message}</a>' in response.content.decode()
    assert [row[2] for row in timeline_of(rfp)] == ["Stays"]


# --- Only drafts --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [scope_url, timeline_url])
def test_a_published_rfp_is_refused(staff_client, url):
    rfp = q4_draft()
    rfp.status, rfp.published_at = RFP.Status.PUBLISHED, timezone.now()
    rfp.save()
    before = rfp_fields(rfp)
    page = staff_client.get(url(rfp))
    assert page.status_code == 200
    assert "This RFP is published: it changes only by addendum" in page.content.decode()
    assert 'name="m-0-name"' not in page.content.decode()
    response = staff_client.post(url(rfp), scope_data(q4_scope()[:1], save="1"))
    assert response.status_code == 400
    assert rfp_fields(RFP.objects.get(pk=rfp.pk)) == before
    assert Feature.objects.filter(milestone__rfp=rfp).count() == 3
