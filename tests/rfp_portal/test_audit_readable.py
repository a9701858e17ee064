"""A readable audit trail (issue 15, point 7): translated action names, details in words, times
for people; the filters filter as before."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from rfp_portal import audit
from rfp_portal.audit import AuditAction
from rfp_portal.audit_details import describe_details

NBSP = "\xa0"
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture(autouse=True)
def _language_reset():
    """A Spanish request leaves Spanish active in the thread (LocaleMiddleware activates it for
    the request and nothing deactivates it): later tests must not inherit it."""
    yield
    translation.deactivate()


def words(details: dict) -> list[str]:
    return [str(phrase) for phrase in describe_details(details)]


def test_every_action_has_a_label_of_its_own_in_words():
    labels = {action: str(action.label) for action in AuditAction}
    assert len(labels) == len(AuditAction) >= 57  # every action; none lost
    for action, label in labels.items():
        assert label and label != action.value, action
        assert "." not in label and "_" not in label, f"{action}: {label!r} reads like a code"
    assert len(set(labels.values())) == len(labels), "two actions share a label"
    assert labels[AuditAction.PROPOSAL_DRAFT_SAVED] == "Draft saved"
    assert audit.action_label("proposal.draft_saved") == "Draft saved"
    assert audit.action_label("gone.from_the_code") == "gone.from_the_code"


def test_every_label_is_translated_into_spanish():
    """Each label has its own entry in the Spanish catalogue (a label falling back to English
    would read the same in both)."""
    untranslated = []
    for action in AuditAction:
        with translation.override("en"):
            english = str(action.label)
        with translation.override("es"):
            spanish = str(action.label)
        if spanish == english:
            untranslated.append(english)
    assert not untranslated, f"no Spanish for: {untranslated}"


def test_known_details_read_as_phrases():
    assert words({"roles": ["proposer"]}) == ["Roles: proposer"]
    assert words({"roles": ["proposer", "reviewer"]}) == ["Roles: proposer, reviewer"]
    assert words({"mails": 3}) == ["3 e-mails"]
    assert words({"mails": 1}) == ["1 e-mail"]
    assert words({"proposals": 2, "mails": 1234}) == ["2 proposals", "1,234 e-mails"]
    assert words({"email": "a@example.org"}) == ["E-mail: a@example.org"]
    assert words({"deadline_moved": False, "fields": ["title", "deadline"]}) == [
        "Deadline not moved",
        "Changed: title, deadline",
    ]
    assert words({"outcome": "not_selected", "awards": {}, "over_cap_confirmed": False}) == [
        "Outcome: not selected",
        "No awards",
    ]
    assert words({"awards": {"7": "8000.00"}, "over_cap_confirmed": True}) == [
        "Award for feature no. 7: 8,000",
        "Award over a cap confirmed",
    ]
    assert words({"first_submit": True, "scores": {"3": 4, "4": "pass"}}) == [
        "First submission",
        "Criterion no. 3: 4",
        "Criterion no. 4: pass",
    ]
    assert words({"type": "totp"}) == ["Method: authenticator app"]
    assert words({}) == [] and words(None) == []


def test_instants_and_dates_in_details_are_for_people():
    (deadline,) = words({"deadline_utc": "2019-02-01T12:00:00.034459Z"})
    assert deadline == "Deadline: Friday 1 February 2019, 12:00 UTC"
    assert words({"review_due": "2019-02-08"}) == ["Reviews due: 8 February 2019"]


def test_unknown_details_read_as_key_and_value_never_as_python():
    assert words({"some_key": ["a", "b"]}) == ["Some key: a, b"]
    assert words({"nested": {"a_b": 1, "c": [True, None]}}) == ["Nested: A b: 1; C: yes, —"]
    assert words({"count": 12345}) == ["Count: 12,345"]
    for phrase in words({"x": {"y": ["z"]}, "flag": False, "n": None}):
        assert "{" not in phrase and "[" not in phrase and "'" not in phrase
        assert "True" not in phrase and "False" not in phrase and "None" not in phrase


def test_details_follow_the_readers_language():
    with translation.override("es"):
        assert words({"count": 12345}) == [f"Count: 12{NBSP}345"]
        assert words({"awards": {"7": "8000.50"}}) == [
            f"Adjudicación para la funcionalidad n.º 7: 8{NBSP}000,50"
        ]


# --- The page ------------------------------------------------------------------------------


def visible_text(html: str) -> str:
    """The page's text without its tags (attributes such as datetime= are for machines)."""
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def trail(staff, open_rfp, proposer):
    at = datetime(2026, 12, 1, 7, 11, 49, 34459, tzinfo=UTC)
    audit.record(
        action=AuditAction.ACCOUNT_CREATED_BY_OPERATOR,
        actor=staff,
        obj=proposer,
        details={"roles": ["proposer"]},
        at=at,
    )
    audit.record(
        action=AuditAction.DECISION_PUBLISHED,
        actor=staff,
        obj=open_rfp,
        details={"proposals": 2, "mails": 3},
        at=at,
    )
    audit.record(
        action=AuditAction.RFP_DEMO_DEADLINE_MOVED,
        actor=staff,
        obj=open_rfp,
        details={"old_deadline_utc": "2026-12-16T12:00:00Z", "review_due": "2027-01-08"},
        at=at,
    )
    return at


def test_the_audit_page_shows_labels_phrases_and_times_for_people(client, staff, trail):
    client.force_login(staff)
    response = client.get(reverse("audit_log"))
    assert response.status_code == 200
    html = response.content.decode()
    text = visible_text(html)
    for label in ["Account created by an operator", "Decisions published", "Demo deadline moved"]:
        assert label in text
    assert "Roles: proposer" in text
    assert "2 proposals" in text and "3 e-mails" in text
    assert "Deadline before: Wednesday 16 December 2026, 12:00 UTC" in text
    assert "Reviews due: 8 January 2027" in text
    assert "Tuesday 1 December 2026, 07:11" in text
    assert "{'" not in html and "{&#x27;" not in html and "[&#x27;" not in html
    assert not ISO_INSTANT.search(text), ISO_INSTANT.search(text)
    assert '<time datetime="2026-12-01T07:11:49Z">' in html  # no fraction: valid HTML
    # The code stays, muted, for staff who filter by it.
    assert "decision.published" in html


def test_the_audit_page_in_spanish(client, staff, trail):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    client.force_login(staff)
    text = visible_text(client.get(reverse("audit_log")).content.decode())
    assert "Decisiones publicadas" in text and "3 correos" in text
    assert "2026" in text and not ISO_INSTANT.search(text)


def test_filters_still_filter(client, staff, trail):
    client.force_login(staff)
    body = visible_text(client.get(reverse("audit_log") + "?action=decision").content.decode())
    assert "Decisions published" in body and "Account created by an operator" not in body
    body = visible_text(client.get(reverse("audit_log") + "?action=account.").content.decode())
    assert "Account created by an operator" in body and "Decisions published" not in body
    body = visible_text(
        client.get(reverse("audit_log") + "?actor=nobody@example.invalid").content.decode()
    )
    assert "No events match." in body


def test_the_audit_table_breaks_only_identifiers_anywhere():
    """Words wrap between words: no rule of the audit table breaks every cell mid-word."""
    css = (Path(settings.BASE_DIR) / "static" / "css" / "site.css").read_text()
    rules = re.findall(r"([^{}]*\.audit[^{}]*)\{([^}]*)\}", css)
    assert rules
    for selector, body in rules:
        assert "break-all" not in body, selector
        if "anywhere" in body:
            assert "audit-id" in selector or "audit-code" in selector, selector
