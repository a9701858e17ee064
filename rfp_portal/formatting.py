"""Numbers written for people, used by templates (rfp_portal.templatetags.portal), forms, mails
and the domain's read models alike, so a figure reads the same on a page, in a form and in a
mail, in the reader's language.

Grouping and the decimal mark follow the active locale's formats (Django's, or ours in
rfp_portal/formats/): English "USD 10,000.50", Spanish "USD 10 000,50" (a non-breaking space
groups the digits, as the RAE and ISO 80000 recommend, and Django's Spanish formats use).
Never format a number a person reads with an f-string or str(): use these.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

KIB = 1024
MIB = 1024 * 1024


def number(value, places: int | None = None) -> str:
    """A count or an amount, grouped in the reader's locale: 969999 → "969,999" (en),
    "969 999" (es); places fixes the decimals (1234.5, 2 → "1,234.50" / "1 234,50")."""
    if value is None or value == "":
        return ""
    if places is not None:
        value = Decimal(value).quantize(Decimal(1).scaleb(-places))
    return formats.number_format(value, places, use_l10n=True, force_grouping=True)


def money(value, currency: str = "") -> str:
    """1234.50 → "USD 1,234.50" ("USD 1 234,50" in Spanish); whole amounts without decimals
    ("USD 7,500")."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    places = 0 if amount == amount.to_integral() else 2
    return f"{currency} {number(amount, places)}".strip()


def amount(value) -> str:
    """An amount without its currency, when the words around it name it: 2000 → "2,000",
    2000.5 → "2,000.50"."""
    return money(value)


def file_size(size: int) -> str:
    """A file's size: "20.0 MB" / "20,0 MB", "49 KB", "512 bytes" / "512 bytes" (1 MB is
    1024 * 1024 bytes, as the upload limits are set)."""
    size = int(size)
    if size >= MIB:
        return _("%(size)s MB") % {"size": number(Decimal(size) / MIB, 1)}
    if size >= KIB:
        return _("%(size)s KB") % {"size": number(Decimal(size) / KIB, 0)}
    return ngettext("%(size)s byte", "%(size)s bytes", size) % {"size": number(size)}
