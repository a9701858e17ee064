"""Forms of the RFP editor's timeline and scope steps (proposals.views.editor_parts): timeline
entries, and milestones with their features (budgets, caps, tasks) on one page with totals. Each
row is checked field by field so that every problem is said next to its field; add, move and
remove redraw the posted rows without saving. The writes are proposals.editor's.

Why one module of about 740 lines: the two steps share the row operations (add, move, remove
without JavaScript), the amounts' parsing and the error summary's entries, and the scope form
nests a formset of features in each milestone's row; split further, each half would import
the other's private helpers."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.forms.formsets import DELETION_FIELD_NAME
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from proposals import budget, editor
from proposals.editor_forms import TextListField, TextListWidget
from proposals.models import TimelineEntry
from rfp_portal import formatting

# --- Timeline, and milestones with their features (scope) -----------------------------------
#
# Each is a list of rows posted as Django formsets, so that the page works without JavaScript.
# A submit button named "op" (Move up, Move down, Remove, Add...) draws the posted rows again in
# the new arrangement, unbound (nothing checked, nothing saved) and says so; Save checks every
# row and the view replaces the step's parts as a whole. An empty row is ignored, never an error.

OP = "op"
TIMELINE_PREFIX = "t"
MAX_TIMELINE_ENTRIES = 60
SCOPE_PREFIX = "m"
MAX_MILESTONES = 20
MAX_FEATURES = 50  # in all milestones together
MAX_TASKS = 30
# A new feature's index and number in its <template>: editor.js puts the next ones in their
# place (data-placeholder, data-number-placeholder), leaving the milestone's own __prefix__ and
# __number__ to the milestone's template.
FEATURE_PLACEHOLDER = "__feature__"
FEATURE_NUMBER_PLACEHOLDER = "__featurenumber__"

NOT_SAVED_ORDER = _("Not saved yet: press Save to keep this order.")
NOT_SAVED_ADDED = _("Not saved yet: fill in the new row, then press Save.")
NOT_SAVED_REMOVED = _("Not saved yet: press Save to keep this change.")
NOT_SAVED = _("Nothing was saved.")

_TIMELINE_OP = re.compile(r"(up|down|add)(?:-(\d+))?")
_SCOPE_OP = re.compile(r"(add|up|down|remove)-(m|f)(?:-(\d+))?(?:-(\d+))?")


def _raw(form: forms.Form, name: str) -> Any:
    """A field's value as posted (or as drawn, for an unbound form), not checked."""
    return form[name].value()


def _blank(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return not any(str(item).strip() for item in value)
    return value is None or str(value).strip() == ""


def _amount(text: Any) -> Decimal | None:
    """An amount as typed ("25000", "25,000", "25 000,50"), as proposers type theirs."""
    try:
        return budget.parse_amount(text)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


def _amount_or_none(text: Any) -> Decimal | None:
    try:
        return budget.parse_amount(text)
    except ValueError:
        return None


def _amount_text(value: Decimal) -> str:
    """A stored amount in its input: 25000.00 → "25000", 25000.50 → "25000.50"."""
    return str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value)


def _summary_entries(form: forms.Form, row: str) -> list[dict[str, str]]:
    """A row's problems for the error summary, each linked to its field (as KeyedRows does)."""
    entries = []
    for error in form.non_field_errors():
        first = next(iter(form), None)
        text = _("%(row)s: %(error)s") % {"row": row, "error": error}
        entries.append({"text": text, "target": first.id_for_label if first else ""})
    for field in form:
        for error in field.errors:
            text = _("%(row)s, %(field)s: %(error)s") % {
                "row": row,
                "field": field.label,
                "error": error,
            }
            target = field.id_for_label or (f"{field.auto_id}_0" if field.auto_id else "")
            entries.append({"text": text, "target": target})
    return entries


class TimelineEntryForm(forms.Form):
    """One entry: a day, or a month ("December 2019": stored as its first day, precision
    month), and what happens then."""

    date = forms.DateField(
        label=_("Date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date as year-month-day, such as 2019-12-02.")},
    )
    month_only = forms.BooleanField(label=_("Only the month"), required=False)
    label = forms.CharField(label=_("Label"), max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_permitted = False  # every row is checked; clean() lets an empty one pass

    def is_empty(self) -> bool:
        return _blank(_raw(self, "date")) and _blank(_raw(self, "label"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.is_empty():
            return data
        if data.get("date") is None and "date" not in self.errors:
            self.add_error(
                "date", _("Write the date of this entry (any day of it for “Only the month”).")
            )
        if not data.get("label") and "label" not in self.errors:
            self.add_error("label", _("Write what happens on this date."))
        return data

    def item(self) -> editor.TimelineItem:
        data = self.cleaned_data
        precision = (
            TimelineEntry.Precision.MONTH if data["month_only"] else TimelineEntry.Precision.DAY
        )
        return editor.TimelineItem(date=data["date"], label=data["label"], precision=precision)


class TimelineRows(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "At most %(num)d entry; remove some.", "At most %(num)d entries; remove some.", "num"
        )
    }

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields[DELETION_FIELD_NAME].label = _("Remove")


TimelineFormSet = forms.formset_factory(
    TimelineEntryForm,
    formset=TimelineRows,
    extra=2,
    can_delete=True,
    max_num=MAX_TIMELINE_ENTRIES,
    absolute_max=MAX_TIMELINE_ENTRIES,
    validate_max=True,
)


class TimelineForm:
    """The timeline step: its entries in the order shown (saved in that order), two empty rows
    to add more; "Remove" ticks an entry out when saving."""

    def __init__(self, data: Any = None, *, rfp: Any, rows: list[dict] | None = None):
        self.rfp = rfp
        self.problems: list[str] = []
        self.focus: tuple[str, int] | None = None  # (control, row) to put the focus on
        if data is not None:
            self.formset = TimelineFormSet(data, prefix=TIMELINE_PREFIX)
        else:
            self.formset = TimelineFormSet(prefix=TIMELINE_PREFIX, initial=rows or [])

    @classmethod
    def for_rfp(cls, rfp: Any) -> TimelineForm:
        entries = sorted(rfp.timeline.all(), key=lambda e: (e.position, e.date))
        rows = [
            {
                "date": entry.date,
                "month_only": entry.precision == TimelineEntry.Precision.MONTH,
                "label": entry.label,
            }
            for entry in entries
        ]
        return cls(rfp=rfp, rows=rows)

    def _posted(self) -> list[tuple[int, dict[str, Any]]]:
        return [
            (
                index,
                {
                    "date": _raw(form, "date") or "",
                    "month_only": bool(_raw(form, "month_only")),
                    "label": _raw(form, "label") or "",
                    DELETION_FIELD_NAME: bool(_raw(form, DELETION_FIELD_NAME)),
                },
            )
            for index, form in enumerate(self.formset.forms)
            if not form.is_empty()
        ]

    def rearranged(self, op: str) -> tuple[TimelineForm, str]:
        """The posted entries drawn again (empty rows left out, two new ones added), one moved
        up or down if op says so ("up-3", "down-3", "add"); nothing is saved."""
        posted = self._posted()
        match = _TIMELINE_OP.fullmatch(op or "")
        note, focus = NOT_SAVED, None
        if match and match[1] == "add":
            note, focus = NOT_SAVED_ADDED, ("date", len(posted))
        elif match and match[2] is not None:
            order = [index for index, _row in posted]
            at = order.index(int(match[2])) if int(match[2]) in order else -1
            to = at - 1 if match[1] == "up" else at + 1
            if at >= 0 and 0 <= to < len(posted):
                posted[at], posted[to] = posted[to], posted[at]
                note, focus = NOT_SAVED_ORDER, ("up" if to > 0 else "down", to)
        again = TimelineForm(rfp=self.rfp, rows=[row for _index, row in posted])
        again.focus = focus
        return again, note

    def is_valid(self) -> bool:
        return self.formset.is_valid() and not self.problems

    def _kept(self) -> list[TimelineEntryForm]:
        return [
            form
            for form in self.formset.forms
            if not self.formset._should_delete_form(form) and not form.is_empty()
        ]

    def items(self) -> list[editor.TimelineItem]:
        return [form.item() for form in self._kept()]

    @property
    def has_errors(self) -> bool:
        return bool(self.formset.is_bound and not self.formset.is_valid()) or bool(self.problems)

    def summary(self) -> list[dict[str, str]]:
        if not self.has_errors:
            return []
        entries = [{"text": str(e), "target": ""} for e in self.problems]
        entries += [{"text": str(e), "target": ""} for e in self.formset.non_form_errors()]
        for number, form in enumerate(self.formset.forms, start=1):
            if self.formset._should_delete_form(form):
                continue
            entries += _summary_entries(form, _("Entry %(number)s") % {"number": number})
        return entries

    def rows(self) -> list[dict[str, Any]]:
        """The rows to draw, then the empty row that JavaScript copies (in a <template>)."""
        forms_ = list(self.formset.forms)
        filled = [not form.is_empty() for form in forms_]
        rows = []
        for index, form in enumerate(forms_):
            label = _raw(form, "label") or ""
            if self.focus == ("date", index):
                form.fields["date"].widget.attrs["autofocus"] = True
            rows.append(
                {
                    "form": form,
                    "index": index,
                    "number": index + 1,
                    "title": label.strip() or _("entry %(number)s") % {"number": index + 1},
                    "up": filled[index] and any(filled[:index]),
                    "down": filled[index] and any(filled[index + 1 :]),
                    "focus": self.focus[0] if self.focus and self.focus[1] == index else "",
                }
            )
        rows.append(
            {
                "form": self.formset.empty_form,
                "index": "__prefix__",
                "number": "__number__",
                "title": _("entry %(number)s") % {"number": "__number__"},
                "template": True,
            }
        )
        return rows


class MilestoneForm(forms.Form):
    name = forms.CharField(label=_("Milestone name"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.empty_permitted = False


class FeatureForm(forms.Form):
    """A feature: its name, budget and cap (in the RFP's currency) and its tasks."""

    name = forms.CharField(label=_("Feature name"), max_length=200, required=False)
    budget = forms.CharField(
        label=_("Budget"),
        max_length=30,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "data-amount": "budget"}
        ),
    )
    cap = forms.CharField(
        label=_("Cap"),
        max_length=30,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "data-amount": "cap"}
        ),
    )
    tasks = TextListField(
        label=_("Tasks"),
        max_length=500,
        max_items=MAX_TASKS,
        widget=TextListWidget(item_label=_("Task")),
    )

    def __init__(self, *args: Any, currency: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.empty_permitted = False

    def is_empty(self) -> bool:
        return all(_blank(_raw(self, name)) for name in ("name", "budget", "cap", "tasks"))

    def clean_budget(self) -> Decimal | None:
        return _amount(self.cleaned_data["budget"])

    def clean_cap(self) -> Decimal | None:
        return _amount(self.cleaned_data["cap"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.is_empty():
            return data
        if not data.get("name") and "name" not in self.errors:
            self.add_error("name", _("Give the feature a name."))
        amount, cap = data.get("budget"), data.get("cap")
        if amount is None and "budget" not in self.errors:
            self.add_error("budget", _("Write the budget (0 if there is none)."))
        if cap is None and "cap" not in self.errors:
            self.add_error("cap", _("Write the cap: at least the budget."))
        elif amount is not None and cap is not None and cap < amount:
            self.add_error(
                "cap",
                _("It must be at least the budget (%(budget)s).")
                % {"budget": formatting.money(amount, self.currency)},
            )
        return data

    def item(self) -> editor.FeatureItem:
        data = self.cleaned_data
        return editor.FeatureItem(
            name=data["name"], budget=data["budget"], cap=data["cap"], tasks=data["tasks"]
        )


class MilestoneRows(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "At most %(num)d milestone; remove some.",
            "At most %(num)d milestones; remove some.",
            "num",
        )
    }


class FeatureRows(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": ngettext_lazy(
            "At most %(num)d feature in a milestone; remove some.",
            "At most %(num)d features in a milestone; remove some.",
            "num",
        )
    }


_bounded = {"extra": 0, "validate_max": True}
MilestoneFormSet = forms.formset_factory(
    MilestoneForm,
    formset=MilestoneRows,
    max_num=MAX_MILESTONES,
    absolute_max=MAX_MILESTONES,
    **_bounded,
)
FeatureFormSet = forms.formset_factory(
    FeatureForm,
    formset=FeatureRows,
    max_num=MAX_FEATURES,
    absolute_max=MAX_FEATURES,
    **_bounded,
)


def _new_feature() -> dict[str, Any]:
    return {"name": "", "budget": "", "cap": "", "tasks": []}


def _new_milestone() -> dict[str, Any]:
    return {"name": "", "features": [_new_feature()]}


class ScopeForm:
    """Milestones and features on one page: the milestones are the formset "m" (m-0-name...),
    each milestone's features the formset "m-<i>-f" (m-0-f-0-name, m-0-f-0-budget...).

    A milestone with neither a name nor a feature, and a feature with nothing typed, are
    ignored. The totals (per milestone, overall, against the RFP's total cap) are of what is on
    the page, saved or not."""

    def __init__(
        self,
        data: Any = None,
        *,
        rfp: Any,
        state: list[dict[str, Any]] | None = None,
        focus: tuple[int, int | None, str] | None = None,
    ):
        self.rfp = rfp
        self.currency = rfp.currency
        self.problems: list[str] = []
        self.focus = focus
        self._checked: bool | None = None
        kwargs = {"currency": self.currency}
        if data is not None:
            self.milestones = MilestoneFormSet(data, prefix=SCOPE_PREFIX)
            self.features = [
                FeatureFormSet(data, prefix=self._features_prefix(index), form_kwargs=kwargs)
                for index in range(len(self.milestones.forms))
            ]
        else:
            state = state or [_new_milestone()]
            self.milestones = MilestoneFormSet(
                prefix=SCOPE_PREFIX, initial=[{"name": m["name"]} for m in state]
            )
            self.features = [
                FeatureFormSet(
                    prefix=self._features_prefix(index),
                    initial=milestone["features"] or [_new_feature()],
                    form_kwargs=kwargs,
                )
                for index, milestone in enumerate(state)
            ]

    @staticmethod
    def _features_prefix(index: int | str) -> str:
        return f"{SCOPE_PREFIX}-{index}-f"

    @classmethod
    def for_rfp(cls, rfp: Any) -> ScopeForm:
        state = [
            {
                "name": milestone.name,
                "features": [
                    {
                        "name": feature.name,
                        "budget": _amount_text(feature.budget),
                        "cap": _amount_text(feature.cap),
                        "tasks": list(feature.tasks or []),
                    }
                    for feature in milestone.features.all()
                ],
            }
            for milestone in rfp.milestones.all()
        ]
        return cls(rfp=rfp, state=state)

    # --- Without JavaScript: add, move and remove redraw the page, unsaved ------------------

    def state(self) -> list[dict[str, Any]]:
        """Every milestone and feature as posted (or drawn), not checked."""
        return [
            {
                "name": _raw(milestone, "name") or "",
                "features": [
                    {name: _raw(feature, name) or "" for name in ("name", "budget", "cap")}
                    | {"tasks": [t for t in (_raw(feature, "tasks") or []) if str(t).strip()]}
                    for feature in features.forms
                ],
            }
            for milestone, features in zip(self.milestones.forms, self.features, strict=True)
        ]

    def rearranged(self, op: str) -> tuple[ScopeForm, str]:
        """The posted page drawn again with op done: "add-m", "add-f-<i>", "up-m-<i>",
        "down-m-<i>", "remove-m-<i>", "up-f-<i>-<j>", "down-f-<i>-<j>", "remove-f-<i>-<j>"
        (i a milestone's index, j a feature's in it). Nothing is checked or saved."""
        state = self.state()
        match = _SCOPE_OP.fullmatch(op or "")
        note, focus = NOT_SAVED, None
        action, kind = (match[1], match[2]) if match else ("", "")
        i = int(match[3]) if match and match[3] else None
        j = int(match[4]) if match and match[4] else None
        if kind == "m" and action == "add" and len(state) < MAX_MILESTONES:
            state.append(_new_milestone())
            note, focus = NOT_SAVED_ADDED, (len(state) - 1, None, "name")
        elif i is None or i >= len(state):
            pass
        elif kind == "m" and action in ("up", "down"):
            to = i - 1 if action == "up" else i + 1
            if 0 <= to < len(state):
                state[i], state[to] = state[to], state[i]
                note, focus = NOT_SAVED_ORDER, (to, None, "up" if to > 0 else "down")
        elif kind == "m" and action == "remove":
            del state[i]
            note, focus = NOT_SAVED_REMOVED, (-1, None, "add")
        elif kind == "f" and action == "add":
            state[i]["features"].append(_new_feature())
            note, focus = NOT_SAVED_ADDED, (i, len(state[i]["features"]) - 1, "name")
        elif kind == "f" and j is not None and j < len(state[i]["features"]):
            features = state[i]["features"]
            if action == "remove":
                del features[j]
                note, focus = NOT_SAVED_REMOVED, (i, None, "add")
            else:
                to = j - 1 if action == "up" else j + 1
                if 0 <= to < len(features):
                    features[j], features[to] = features[to], features[j]
                    note, focus = NOT_SAVED_ORDER, (i, to, "up" if to > 0 else "down")
        state = state or [_new_milestone()]
        for milestone in state:
            milestone["features"] = milestone["features"] or [_new_feature()]
        return ScopeForm(rfp=self.rfp, state=state, focus=focus), note

    # --- Save ----------------------------------------------------------------------------

    def _filled(self, index: int) -> list[FeatureForm]:
        return [form for form in self.features[index].forms if not form.is_empty()]

    def is_valid(self) -> bool:
        if self._checked is None:
            valid = self.milestones.is_valid()
            for features in self.features:
                valid = features.is_valid() and valid
            self._check_milestones()
            self._checked = valid and not self._has_row_errors() and not self.problems
        return self._checked

    def _check_milestones(self) -> None:
        seen: dict[str, int] = {}
        count = 0
        for index, milestone in enumerate(self.milestones.forms):
            filled = self._filled(index)
            count += len(filled)
            name = (milestone.cleaned_data or {}).get("name", "")
            if "name" in milestone.errors:
                continue
            if not name:
                if filled:
                    milestone.add_error("name", _("Give the milestone a name."))
                continue
            if not filled:
                milestone.add_error(
                    None,
                    _("“%(name)s” has no feature: add a feature or remove the milestone.")
                    % {"name": name},
                )
            key = name.casefold()
            if key in seen:
                milestone.add_error(
                    "name",
                    _("Milestone %(number)s has this name already: give each its own.")
                    % {"number": seen[key] + 1},
                )
            else:
                seen[key] = index
        if count > MAX_FEATURES:
            self.problems.append(
                _("%(count)s features: at most %(max)s are allowed; remove some.")
                % {"count": count, "max": MAX_FEATURES}
            )

    def _has_row_errors(self) -> bool:
        formsets = [self.milestones, *self.features]
        return any(fs.non_form_errors() or any(f.errors for f in fs.forms) for fs in formsets)

    def items(self) -> list[editor.MilestoneItem]:
        """What proposals.editor.replace_scope stores, in the order shown (once valid)."""
        items = []
        for index, milestone in enumerate(self.milestones.forms):
            filled = self._filled(index)
            if not milestone.cleaned_data.get("name") and not filled:
                continue
            items.append(
                editor.MilestoneItem(
                    name=milestone.cleaned_data["name"], features=[f.item() for f in filled]
                )
            )
        return items

    @property
    def has_errors(self) -> bool:
        return self.milestones.is_bound and (not self.is_valid() or bool(self.problems))

    def summary(self) -> list[dict[str, str]]:
        if not self.has_errors:
            return []
        entries = [{"text": str(e), "target": ""} for e in self.problems]
        entries += [{"text": str(e), "target": ""} for e in self.milestones.non_form_errors()]
        for index, milestone in enumerate(self.milestones.forms):
            row = _("Milestone %(number)s") % {"number": index + 1}
            features = self.features[index]
            for error in milestone.non_field_errors():
                first = features.forms[0]["name"].id_for_label if features.forms else ""
                text = _("%(row)s: %(error)s") % {"row": row, "error": error}
                entries.append({"text": text, "target": first})
            for error in milestone["name"].errors:
                text = _("%(row)s, %(field)s: %(error)s") % {
                    "row": row,
                    "field": milestone["name"].label,
                    "error": error,
                }
                entries.append({"text": text, "target": milestone["name"].id_for_label})
            for error in features.non_form_errors():
                text = _("%(row)s: %(error)s") % {"row": row, "error": error}
                entries.append({"text": text, "target": ""})
            for number, feature in enumerate(features.forms, start=1):
                where = _("Milestone %(milestone)s, feature %(feature)s") % {
                    "milestone": index + 1,
                    "feature": number,
                }
                entries += _summary_entries(feature, where)
        return entries

    # --- Drawing ---------------------------------------------------------------------------

    def _money(self, value: Decimal | None) -> str:
        return formatting.money(value or Decimal(0), self.currency)

    def _sums(self, forms_: list[FeatureForm]) -> tuple[Decimal, Decimal]:
        budgets = caps = Decimal(0)
        for form in forms_:
            budgets += _amount_or_none(_raw(form, "budget")) or 0
            caps += _amount_or_none(_raw(form, "cap")) or 0
        return budgets, caps

    def _feature_row(self, form: FeatureForm, i: Any, j: Any, **flags: Any) -> dict[str, Any]:
        name = str(_raw(form, "name") or "").strip()
        number = j + 1 if isinstance(j, int) else FEATURE_NUMBER_PLACEHOLDER
        focus = self.focus or (None, None, "")
        if focus == (i, j, "name"):
            form.fields["name"].widget.attrs["autofocus"] = True
        return {
            "form": form,
            "number": number,
            "title": name or _("feature %(number)s") % {"number": number},
            "up_op": f"up-f-{i}-{j}",
            "down_op": f"down-f-{i}-{j}",
            "remove_op": f"remove-f-{i}-{j}",
            "focus": focus[2] if (focus[0], focus[1]) == (i, j) else "",
            **flags,
        }

    def _milestone_row(self, form: MilestoneForm, i: Any, features: Any, **flags: Any):
        name = str(_raw(form, "name") or "").strip()
        number = i + 1 if isinstance(i, int) else "__number__"
        forms_ = list(features.forms)
        if self.focus == (i, None, "name"):
            form.fields["name"].widget.attrs["autofocus"] = True
        budgets, caps = self._sums(forms_)
        focus = self.focus or (None, None, "")
        feature_rows = [
            self._feature_row(feature, i, j, up=j > 0, down=j < len(forms_) - 1)
            for j, feature in enumerate(forms_)
        ]
        template = FeatureForm(
            prefix=f"{features.prefix}-{FEATURE_PLACEHOLDER}",
            auto_id="id_%s",
            use_required_attribute=False,
            currency=self.currency,
        )
        feature_rows.append(
            self._feature_row(template, i, FEATURE_PLACEHOLDER, up=True) | {"template": True}
        )
        return {
            "form": form,
            "number": number,
            "title": name or _("milestone %(number)s") % {"number": number},
            "management": features.management_form,
            "features_prefix": features.prefix,
            "features": feature_rows,
            "budget_total": self._money(budgets),
            "cap_total": self._money(caps),
            "add_op": f"add-f-{i}",
            "up_op": f"up-m-{i}",
            "down_op": f"down-m-{i}",
            "remove_op": f"remove-m-{i}",
            "focus": focus[2] if (focus[0], focus[1]) == (i, None) else "",
            **flags,
        }

    def rows(self) -> list[dict[str, Any]]:
        """The milestones to draw with their features, each list ending with the empty row
        that JavaScript copies to add one (drawn in a <template>)."""
        forms_ = list(self.milestones.forms)
        rows = [
            self._milestone_row(form, i, self.features[i], up=i > 0, down=i < len(forms_) - 1)
            for i, form in enumerate(forms_)
        ]
        empty = MilestoneForm(
            prefix=f"{SCOPE_PREFIX}-__prefix__", auto_id="id_%s", use_required_attribute=False
        )
        features = FeatureFormSet(
            prefix=self._features_prefix("__prefix__"),
            initial=[_new_feature()],
            form_kwargs={"currency": self.currency},
        )
        template = self._milestone_row(empty, "__prefix__", features, up=True)
        rows.append(template | {"template": True})
        return rows

    @property
    def add_focus(self) -> bool:
        return bool(self.focus) and self.focus[2] == "add" and self.focus[0] == -1

    def totals(self) -> dict[str, Any]:
        """The sums of budgets and of caps, and what is left under the RFP's total cap."""
        budgets, caps = self._sums([f for features in self.features for f in features.forms])
        totals: dict[str, Any] = {"budget": self._money(budgets), "cap": self._money(caps)}
        total_cap = self.rfp.total_cap
        if total_cap is not None:
            totals["total_cap"] = self._money(total_cap)
            totals["total_cap_cents"] = int(total_cap * 100)
            for name, value in (("budget", budgets), ("cap", caps)):
                left = total_cap - value
                words = _("%(amount)s under") if left >= 0 else _("%(amount)s over")
                totals[f"{name}_left"] = words % {"amount": self._money(abs(left))}
        # How the reader's locale writes 1234.50, for the totals that follow typing (editor.js).
        sample = formatting.number(Decimal("1234.5"), 2)
        totals["group"], totals["decimal"] = sample[1], sample[-3]
        return totals
