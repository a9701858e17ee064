"""The budget check (rule 7): requested amounts per feature against budget and cap, and the
total against the total limit (`total_limit`, the one home of that rule: the RFP page, the
proposer's check, the decision page and the funding plan all read it).

Pure functions over plain values, shown to proposers while drafting and to reviewers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.utils.translation import gettext as _

from rfp_portal import formatting


class Standing(StrEnum):
    NOT_REQUESTED = "not_requested"
    WITHIN_BUDGET = "within_budget"
    OVER_BUDGET_WITHIN_CAP = "over_budget_within_cap"
    OVER_CAP = "over_cap"


@dataclass(frozen=True)
class FeatureCheck:
    feature_id: int
    name: str
    budget: Decimal
    cap: Decimal
    requested: Decimal | None
    standing: Standing

    @property
    def explanation(self) -> str:
        if self.standing == Standing.NOT_REQUESTED:
            return _("No amount requested.")
        if self.standing == Standing.WITHIN_BUDGET:
            return _("Within budget.")
        if self.standing == Standing.OVER_BUDGET_WITHIN_CAP:
            return _(
                "Over budget by %(over)s but within the cap: explain why in your proposal."
            ) % {"over": _amount(self.requested - self.budget)}
        return _("Over the cap by %(over)s: this amount cannot be awarded.") % {
            "over": _amount(self.requested - self.cap)
        }

    @property
    def ok(self) -> bool:
        return self.standing != Standing.OVER_CAP


@dataclass(frozen=True)
class BudgetCheck:
    features: list[FeatureCheck]
    total_requested: Decimal
    total_budget: Decimal
    total_cap: Decimal  # total_limit: the RFP's total cap, or the sum of the feature budgets
    rfp_total_cap: bool = True  # False: the RFP publishes none, so the sum of the budgets

    @property
    def total_within_cap(self) -> bool:
        return self.total_requested <= self.total_cap

    @property
    def total_explanation(self) -> str:
        if self.rfp_total_cap:
            if self.total_within_cap:
                return _("The total is within the overall cap.")
            return _("The total is over the overall cap by %(over)s.") % {
                "over": _amount(self.total_requested - self.total_cap)
            }
        if self.total_within_cap:
            return _("The total is within the sum of the feature budgets.")
        return _(
            "The total is over the sum of the feature budgets by %(over)s: going over one "
            "feature's budget must be made up under budget elsewhere."
        ) % {"over": _amount(self.total_requested - self.total_cap)}

    @property
    def any_over_cap(self) -> bool:
        return any(f.standing == Standing.OVER_CAP for f in self.features)


def _amount(value: Decimal) -> str:
    """2000.00 → "2,000"; 2000.50 → "2,000.50", grouped in the reader's locale (the words
    around it name the currency)."""
    return formatting.amount(value)


# Spaces group digits too (Spanish pages show "10 000" with a no-break space, copied back).
_DIGIT_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")


def parse_amount(text: object) -> Decimal | None:
    """A requested amount as typed: None when empty; ValueError when not a positive number."""
    if text is None:
        return None
    raw = _DIGIT_SPACES.sub("", str(text)).replace("_", "")
    if "." not in raw and _DECIMAL_COMMA.fullmatch(raw):
        # "8000,50": a decimal comma, as Spanish (and most of Europe) writes it; a comma before
        # three digits still groups thousands ("8,000").
        raw = raw.replace(",", ".")
    raw = raw.replace(",", "")
    if raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(_("Enter an amount as a number, such as 8000 or 8000.50.")) from None
    if not value.is_finite():
        raise ValueError(_("Enter an amount as a number, such as 8000 or 8000.50."))
    if value < 0:
        raise ValueError(_("An amount cannot be negative."))
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(_("Use at most two decimal places."))
    if value >= Decimal("1e10"):
        raise ValueError(_("That amount is too large."))
    return value.quantize(Decimal("0.01"))


def standing(requested: Decimal | None, budget: Decimal, cap: Decimal) -> Standing:
    if requested is None or requested == 0:
        return Standing.NOT_REQUESTED
    if requested <= budget:
        return Standing.WITHIN_BUDGET
    if requested <= cap:
        return Standing.OVER_BUDGET_WITHIN_CAP
    return Standing.OVER_CAP


def total_limit(total_budget: Decimal, total_cap: Decimal | None) -> Decimal:
    """What all the amounts together may come to: the RFP's total cap when it publishes one;
    else the sum of the feature budgets (`total_budget`), as every RFP page says: "you may
    request more than a feature's budget, up to its cap, if you stay under budget elsewhere"."""
    return total_cap if total_cap is not None else total_budget


def check_budget(features, requested: dict[int, Decimal | None], *, total_cap: Decimal | None):
    """features: iterable of objects with id, name, budget, cap (e.g. Feature rows); the total
    is checked against `total_limit`."""
    checks = []
    total = Decimal(0)
    total_budget = Decimal(0)
    for feature in features:
        amount = requested.get(feature.id)
        checks.append(
            FeatureCheck(
                feature_id=feature.id,
                name=feature.name,
                budget=feature.budget,
                cap=feature.cap,
                requested=amount,
                standing=standing(amount, feature.budget, feature.cap),
            )
        )
        total += amount or 0
        total_budget += feature.budget
    return BudgetCheck(
        features=checks,
        total_requested=total,
        total_budget=total_budget,
        total_cap=total_limit(total_budget, total_cap),
        rfp_total_cap=total_cap is not None,
    )
