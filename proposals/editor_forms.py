"""Forms of the RFP editor (proposals.views.editor and editor_parts): each step's fields, checked
one by one so that every problem is said next to its field. The writes are proposals.editor's.

A list of short texts (a criterion's guiding questions, a feature's tasks) is a TextListField:
one input per item and a few empty ones to add more (without JavaScript, saving gives new empty
ones; with it, "Add another" does), never JSON.

Over 400 lines: the deadline's form computes and checks the instant the way the live preview
shows it (one form for both), and each field's refusal is worded here, next to its field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from proposals import editor
from proposals.models import RFP
from rfp_portal import deadlines
from rfp_portal.formatting import file_size

ITEM = _("Item")


class TextListWidget(forms.Widget):
    """One text input per item, all with the same name, plus ``extra`` empty ones; drawn as a
    fieldset (partials/field.html) whose legend is the field's label."""

    template_name = "staff/editor/widgets/text_list.html"
    use_fieldset = True

    def __init__(self, *, extra: int = 2, item_label: Any = ITEM, attrs=None):
        super().__init__(attrs)
        self.extra = extra
        self.item_label = item_label

    def value_from_datadict(self, data, files, name):
        if hasattr(data, "getlist"):
            return data.getlist(name)
        value = data.get(name)
        return value if isinstance(value, list) else ([] if value is None else [value])

    def value_omitted_from_data(self, data, files, name):
        return name not in data

    def format_value(self, value):
        if value is None:
            return []
        return [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        items = [item for item in self.format_value(value) if item.strip()]
        items += [""] * self.extra
        base_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"]["items"] = [
            {"value": item, "id": f"{base_id}_{index}", "number": index + 1}
            for index, item in enumerate(items)
        ]
        context["widget"]["item_label"] = self.item_label
        context["widget"]["describedby"] = context["widget"]["attrs"].get("aria-describedby", "")
        context["widget"]["invalid"] = context["widget"]["attrs"].get("aria-invalid", "")
        return context

    def id_for_label(self, id_):
        return f"{id_}_0" if id_ else id_


class MultilineField(forms.CharField):
    """A text area's text with line ends as the files write them: a browser sends CRLF, so
    without this a typed body would differ from the same body imported from a file."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n") if value else value


class TextListField(forms.Field):
    """A list of non-empty, stripped texts (empty inputs are dropped)."""

    widget = TextListWidget

    def __init__(self, *, max_length: int = 500, max_items: int = 50, **kwargs):
        self.max_length, self.max_items = max_length, max_items
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> list[str]:
        if value in (None, ""):
            return []
        items = value if isinstance(value, list | tuple) else [value]
        return [str(item).strip() for item in items if str(item).strip()]

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if len(value) > self.max_items:
            raise forms.ValidationError(
                _("At most %(n)s items; remove some.") % {"n": self.max_items}
            )
        for number, item in enumerate(value, start=1):
            if len(item) > self.max_length:
                raise forms.ValidationError(
                    _("Item %(number)s has %(length)s characters; at most %(max)s are allowed.")
                    % {"number": number, "length": len(item), "max": self.max_length}
                )


# --- Basics and deadline (proposals.views.editor) ------------------------------------------------

# The body's Markdown, in bytes of UTF-8: the step and its live preview refuse more.
MAX_BODY_BYTES = 100 * 1024


# More would be a rule nobody means (the model allows 32,767).
MAX_REVISIONS = 100


class _KeepsValues:
    """A step's form that a preview shows again, unjudged: "Preview the body" and "Show the
    deadline" save nothing, so a half-written form is not wrong yet and says no error."""

    # The keyword arguments the form is made with, passed again by keeping_values().
    options: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        self._options = {key: kwargs.pop(key) for key in self.options if key in kwargs}
        super().__init__(*args, **kwargs)

    def keeping_values(self):
        """This form unbound, showing what was typed (checkboxes as they were ticked)."""
        initial = {name: self[name].value() for name in self.fields}
        return type(self)(initial=initial, **self._options)


def _body_size_problem(text: str) -> str | None:
    size = len((text or "").encode("utf-8"))
    if size <= MAX_BODY_BYTES:
        return None
    return _("The body is %(size)s; at most %(max)s is allowed. Shorten it.") % {
        "size": file_size(size),
        "max": file_size(MAX_BODY_BYTES),
    }


class BasicsForm(_KeepsValues, forms.Form):
    """The basics step: what the RFP is called, who funds and issues it, its texts, currency
    and total cap. Its fields are exactly proposals.editor.BASICS_FIELDS."""

    options = ("rfp",)

    title = forms.CharField(label=_("Title"), max_length=200)
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=80,
        help_text=_(
            "The last part of the RFP's address: lower-case letters, digits and hyphens, for "
            "example pypi-2026-q1."
        ),
    )
    funder = forms.CharField(
        label=_("Funder"),
        max_length=200,
        required=False,
        help_text=_("Optional: who pays for the work."),
    )
    issuer = forms.CharField(
        label=_("Issuer"),
        max_length=200,
        required=False,
        help_text=_("Optional: who runs the RFP, when not the funder."),
    )
    summary = MultilineField(
        label=_("Summary"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One or two sentences, shown in lists of RFPs and in the announcement."),
    )
    body_markdown = MultilineField(
        label=_("Body (Markdown)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=_(
            "Optional: the RFP's full text. Markdown: a blank line between paragraphs, "
            "## for a heading, - for a list item, **bold**, [a link](https://example.org)."
        ),
    )
    currency = forms.CharField(
        label=_("Currency"),
        max_length=3,
        initial="USD",
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 4}),
        help_text=_("Three capital letters (ISO 4217), for example USD or EUR."),
    )
    total_cap = forms.DecimalField(
        label=_("Total cap"),
        required=False,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        help_text=_(
            "Optional: the most all awards together may add up to, in the RFP's currency. "
            "Empty: no total cap."
        ),
    )

    def __init__(self, *args, rfp: RFP | None = None, **kwargs):
        super().__init__(*args, rfp=rfp, **kwargs)
        self.rfp = rfp

    @classmethod
    def initial_from(cls, rfp: RFP) -> dict[str, Any]:
        return {name: getattr(rfp, name) for name in cls.base_fields}

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        others = RFP.objects.filter(slug=slug)
        if self.rfp is not None and self.rfp.pk:
            others = others.exclude(pk=self.rfp.pk)
        if others.exists():
            raise forms.ValidationError(_("Another RFP has this slug already: choose another."))
        return slug

    def clean_body_markdown(self) -> str:
        body = self.cleaned_data["body_markdown"]
        problem = _body_size_problem(body)
        if problem:
            raise forms.ValidationError(problem)
        return body

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise forms.ValidationError(
                _("Use three capital letters (ISO 4217), for example USD or EUR.")
            )
        return currency


class MarkdownPreviewForm(forms.Form):
    """The body as typed, for its live preview (bounded like the step's own field)."""

    body_markdown = MultilineField(required=False, strip=False)

    def clean_body_markdown(self) -> str:
        body = self.cleaned_data["body_markdown"]
        problem = _body_size_problem(body)
        if problem:
            raise forms.ValidationError(problem)
        return body

    def problem(self) -> str:
        return " ".join(self.errors.get("body_markdown", []))


END_OF_DAY, AT_TIME = "1", "0"


class DeadlineInstantForm(_KeepsValues, forms.Form):
    """Date, zone, and end of day or a time of day: the deadline's instant (``self.instant``
    once valid). The deadline step is made of it, and its preview panel reads it alone."""

    options = ("now",)

    deadline_date = forms.DateField(
        label=_("Deadline date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Give the deadline's date.")},
    )
    deadline_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=(),
        initial=deadlines.AOE_ZONE_NAME,
        help_text=_(
            "The zone the deadline's date and time are in. AoE (Anywhere on Earth): the date "
            "has ended everywhere on Earth."
        ),
        error_messages={
            "invalid_choice": _("%(value)s is not a time zone we know: choose one from the list.")
        },
    )
    end_of_day = forms.TypedChoiceField(
        label=_("Deadline time"),
        choices=[(END_OF_DAY, _("End of day (24:00)")), (AT_TIME, _("At a time of day"))],
        coerce=lambda value: value == END_OF_DAY,
        initial=END_OF_DAY,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose end of day or a time of day.")},
    )
    deadline_time = forms.TimeField(
        label=_("Time of day"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Only for “At a time of day”: the local time in that zone, e.g. 17:00."),
    )

    def __init__(self, *args, now: datetime, **kwargs):
        super().__init__(*args, now=now, **kwargs)
        self.now = now
        self.instant: datetime | None = None
        self.fields["deadline_zone"].choices = deadlines.zone_choices()

    @classmethod
    def initial_from(cls, rfp: RFP) -> dict[str, Any]:
        initial = {name: getattr(rfp, name) for name in cls.base_fields if hasattr(rfp, name)}
        initial["end_of_day"] = END_OF_DAY if rfp.deadline_end_of_day else AT_TIME
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        day, zone = cleaned.get("deadline_date"), cleaned.get("deadline_zone")
        end_of_day, at = cleaned.get("end_of_day"), cleaned.get("deadline_time")
        if end_of_day is False and at is None and "deadline_time" not in self.errors:
            self.add_error(
                "deadline_time", _("Give the time of day, or choose “End of day (24:00)”.")
            )
        if day is None or zone is None or end_of_day is None:
            return cleaned
        if any(name in self.errors for name in DeadlineInstantForm.base_fields):
            return cleaned
        if end_of_day:
            cleaned["deadline_time"] = None
        try:
            self.instant = editor.deadline_preview(day, zone, end_of_day=end_of_day, at=at)
        except ValueError:  # UnknownZone included; a date at the end of the calendar
            self.add_error("deadline_date", _("This date and zone do not make a deadline."))
        return cleaned

    def deadline(self) -> dict[str, Any]:
        """The arguments proposals.editor.save_deadline takes for the deadline itself."""
        data = self.cleaned_data
        return {
            "deadline_date": data["deadline_date"],
            "deadline_zone": data["deadline_zone"],
            "deadline_end_of_day": data["end_of_day"],
            "deadline_time": data["deadline_time"],
        }

    def problem(self) -> str:
        """The first problem, in a few words, for the preview panel."""
        for name, errors in self.errors.items():
            if errors:
                label = self.fields[name].label if name in self.fields else ""
                return f"{label}: {errors[0]}" if label else errors[0]
        return ""


class DeadlineForm(DeadlineInstantForm):
    """The deadline and rules step: the deadline (not passed) and the rules of submission and
    review. Its rules are exactly proposals.editor.RULES_FIELDS."""

    grace_seconds = forms.IntegerField(
        label=_("Grace period after the deadline (seconds)"),
        min_value=0,
        max_value=86_400,
        initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_(
            "Submissions reaching the server this many seconds after the deadline still count; "
            "at most 86,400 (one day). The published deadline stays the one above."
        ),
    )
    max_revisions = forms.IntegerField(
        label=_("Maximum revisions"),
        min_value=0,
        max_value=MAX_REVISIONS,
        initial=3,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("How many times a team may resubmit after its first submission."),
    )
    review_due = forms.DateField(
        label=_("Reviews due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "Optional: reviews are due by the end of this day, AoE; not before the deadline's date."
        ),
    )
    sealed = forms.BooleanField(
        label=_("Sealed until the deadline"),
        required=False,
        initial=True,
        help_text=_("Nobody but the team can read a proposal before the deadline."),
    )
    refuse_active_content = forms.BooleanField(
        label=_("Refuse PDFs with active content"),
        required=False,
        help_text=_(
            "JavaScript, actions, embedded files or forms. When not refused, such a PDF is "
            "accepted and reviewers are warned before they open it."
        ),
    )
    reviewers_see_others_first = forms.BooleanField(
        label=_("Reviewers see other reviews before submitting their own"),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instant is not None and deadlines.countdown(self.now, self.instant).passed:
            self.add_error(
                "deadline_date",
                _("The deadline would be %(when)s, which has passed: choose a later one.")
                % {"when": deadlines.format_deadline(self.instant, cleaned["deadline_zone"])},
            )
        day, due = cleaned.get("deadline_date"), cleaned.get("review_due")
        if day is not None and due is not None and due < day:
            self.add_error(
                "review_due",
                _("Reviews cannot be due before the deadline's date: choose that day or later."),
            )
        return cleaned

    def rules(self) -> dict[str, Any]:
        """The rules proposals.editor.save_deadline takes (RULES_FIELDS)."""
        return {name: self.cleaned_data[name] for name in editor.RULES_FIELDS}
