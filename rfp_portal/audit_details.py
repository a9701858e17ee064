"""An audit event's details in words for the audit trail page: {"mails": 3} → "3 e-mails",
{"roles": ["proposer"]} → "Roles: proposer"; known keys have their own phrase, any other key
reads "Key: value" (lists joined by commas), never Python's repr. Instants and amounts go
through rfp_portal.deadlines and rfp_portal.formatting, so they read in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from rfp_portal import deadlines, formatting


@dataclass(frozen=True)
class Detail:
    """One phrase of an event's details: words, and maybe an identifier (an e-mail address, a
    receipt code, a digest, a path) that the page may break anywhere, as it has no words."""

    text: str
    ident: str = ""

    def __str__(self) -> str:
        return f"{self.text} {self.ident}".strip()


def _counted(n: Any) -> dict[str, Any]:
    """For ngettext: {"count": 3, "n": "3"} (n grouped in the reader's locale); ValueError for
    a value that is not a count (the generic phrase is used then)."""
    count = int(n)
    return {"count": count, "n": formatting.number(count)}


def _instant(value: Any) -> str:
    try:
        return deadlines.format_in_zone(deadlines.parse_utc_iso(value), "UTC").text
    except (TypeError, ValueError):
        return _plain(value)


def _day(value: Any) -> str:
    try:
        return formats.date_format(date.fromisoformat(value), "DATE_FORMAT")
    except (TypeError, ValueError):
        return _plain(value)


def _amount(value: Any) -> str:
    try:
        return formatting.amount(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return _plain(value)


def _plain(value: Any) -> str:
    """Any JSON value in words: lists joined by commas, mappings as "key: value", never repr."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal):
        return formatting.number(value)
    if isinstance(value, datetime) and timezone.is_aware(value):
        return deadlines.format_in_zone(value, "UTC").text
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_key(k)}: {_plain(v)}" for k, v in value.items()) or "—"
    return str(value)


def _ids(value: Any) -> str:
    """Identifiers as stored ("12, 7, 31"): never grouped like numbers ("1,234")."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return _plain(value)


def _key(key: Any) -> str:
    words = str(key).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


_MFA_TYPES = {
    "totp": gettext_lazy("authenticator app"),
    "webauthn": gettext_lazy("security key or passkey"),
    "recovery_codes": gettext_lazy("recovery codes"),
}


def _phrases(key: str, value: Any) -> list[Detail]:
    """The phrases for one key of the details: a known key in its own words ([] for a flag that
    is not set), any other key as "Key: value"."""
    if key in ("mails", "mailed"):
        c = _counted(value)
        return [Detail(ngettext("%(n)s e-mail", "%(n)s e-mails", c["count"]) % c)]
    if key == "submitted":
        c = _counted(value)
        text = ngettext("%(n)s submitted proposal", "%(n)s submitted proposals", c["count"])
        return [Detail(text % c)]
    if key == "proposals":
        c = _counted(value)
        return [Detail(ngettext("%(n)s proposal", "%(n)s proposals", c["count"]) % c)]
    if key == "roles":
        return [Detail(_("Roles: %(roles)s") % {"roles": _plain(value)})]
    if key == "email":
        return [Detail(_("E-mail:"), _plain(value))]
    if key == "reviewer":
        return [Detail(_("Reviewer:"), _plain(value))]
    if key == "version":
        return [Detail(_("Version %(n)s") % {"n": _plain(value)})]
    if key == "receipt":
        return [Detail(_("Receipt:"), _plain(value))]
    if key == "fields_sha256":
        return [Detail(_("Answers SHA-256:"), _plain(value))]
    if key == "document_sha256":
        return [Detail(_("Document SHA-256:"), _plain(value))]
    if key == "deadline_utc":
        return [Detail(_("Deadline: %(when)s") % {"when": _instant(value)})]
    if key == "old_deadline_utc":
        return [Detail(_("Deadline before: %(when)s") % {"when": _instant(value)})]
    if key == "new_deadline_utc":
        return [Detail(_("Deadline after: %(when)s") % {"when": _instant(value)})]
    if key == "review_due":
        if not value:
            return []
        return [Detail(_("Reviews due: %(date)s") % {"date": _day(value)})]
    if key == "path":
        return [Detail(_("Page:"), _plain(value))]
    if key == "proposal_id":
        return [Detail(_("Proposal no. %(id)s") % {"id": value})]
    if key == "export":
        return [Detail(_("Export no. %(id)s") % {"id": value})]
    if key == "message":
        return [Detail(_("Message no. %(id)s") % {"id": value})]
    if key == "kind":
        return [Detail(_("Kind: %(kind)s") % {"kind": _plain(value)})]
    if key == "problems":
        if not value:
            return [Detail(_("No problems"))]
        return [Detail(_("Problems: %(problems)s") % {"problems": _plain(value)})]
    if key == "fields":
        return [Detail(_("Changed: %(fields)s") % {"fields": _plain(value)})]
    if key == "deadline_moved":
        return [Detail(_("Deadline moved") if value else _("Deadline not moved"))]
    if key == "output":
        return [Detail(_("File:"), _plain(value))]
    if key == "outcome":
        return [Detail(_("Outcome: %(outcome)s") % {"outcome": _plain(value).replace("_", " ")})]
    if key == "awards":
        if not value:
            return [Detail(_("No awards"))]
        return [
            Detail(_("Award for feature no. %(id)s: %(amount)s") % {"id": k, "amount": _amount(v)})
            for k, v in dict(value).items()
        ]
    if key == "over_cap_confirmed":
        return [Detail(_("Award over a cap confirmed"))] if value else []
    if key == "step":
        return [Detail(_("Editor step: %(step)s") % {"step": _plain(value)})]
    if key == "by_hand":
        return [Detail(_("Opened by hand"))] if value else []
    if key == "first_submit":
        return [Detail(_("First submission"))] if value else []
    if key == "scores":
        return [
            Detail(_("Criterion no. %(id)s: %(score)s") % {"id": k, "score": _plain(v)})
            for k, v in dict(value).items()
        ]
    if key == "reason":
        return [Detail(_("Reason: %(reason)s") % {"reason": _plain(value)})]
    if key == "lottery":
        return [Detail(_("Lottery no. %(id)s") % {"id": value})]
    if key == "candidates":
        return [Detail(_("Candidates: proposals no. %(ids)s") % {"ids": _ids(value)})]
    if key == "places":
        if value is None:
            return [Detail(_("The draw orders every candidate"))]
        c = _counted(value)
        return [Detail(ngettext("%(n)s place to fill", "%(n)s places to fill", c["count"]) % c)]
    if key == "commitment":
        return [Detail(_("Seed commitment (SHA-256):"), _plain(value))]
    if key == "seed":
        return [Detail(_("Seed:"), _plain(value))]
    if key == "order":
        return [Detail(_("Drawn order: proposals no. %(ids)s") % {"ids": _ids(value)})]
    if key == "chosen":
        return [Detail(_("Chosen: proposals no. %(ids)s") % {"ids": _ids(value)})]
    if key == "type":
        method = _MFA_TYPES.get(value, value)
        return [Detail(_("Method: %(method)s") % {"method": _plain(str(method))})]
    return [Detail(f"{_key(key)}: {_plain(value)}")]


def describe_details(details: dict[str, Any] | None) -> list[Detail]:
    """An event's details as phrases for people: {"mails": 3} → ["3 e-mails"], {"roles":
    ["proposer"]} → ["Roles: proposer"]; an unknown key → "Key: value" (lists joined by commas),
    never Python's repr."""
    if not isinstance(details, dict):
        return [Detail(_plain(details))] if details else []
    phrases: list[Detail] = []
    for key, value in details.items():
        try:
            phrases.extend(_phrases(str(key), value))
        except (TypeError, ValueError, AttributeError):
            phrases.append(Detail(f"{_key(key)}: {_plain(value)}"))
    return phrases
