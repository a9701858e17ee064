"""Numbers written for people, used by templates (rfp_portal.templatetags.portal), forms and the
domain's read models alike, so a figure reads the same on a page, in a form and in a mail."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.humanize.templatetags.humanize import intcomma


def money(value, currency: str = "") -> str:
    """1234.50 → "USD 1,234.50"; whole amounts without decimals (grouped in the reader's
    locale)."""
    if value is None or value == "":
        return ""
    amount = Decimal(value)
    text = intcomma(int(amount)) if amount == amount.to_integral() else intcomma(f"{amount:.2f}")
    return f"{currency} {text}".strip()
