"""Forms of the RFP editor's steps for proposal elements and criteria (proposals.views.
editor_parts; the timeline and scope steps' forms are in proposals.editor_scope_forms): rows of
a step, each row checked field by field so that every problem is said next to its field; the
writes are proposals.editor's.

Why one module of about 430 lines: both steps are rows with a unique key (KeyedRows: empty rows
ignored, keys unique, move and remove without JavaScript), and a criterion's row draws one
meaning per score of the scale as posted, which is most of the length."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from proposals import editor
from proposals.editor_forms import MultilineField, TextListField, TextListWidget
from proposals.models import Criterion, ProposalElement

# --- What a proposal contains, and the criteria: rows with a key ----------------------------

MAX_ELEMENTS = 40
MAX_CRITERIA = 30
# The scores a criterion's scale may use, and the scale of a new criterion (and of every gate).
SCALE_LOWEST, SCALE_HIGHEST = 0, 10
DEFAULT_SCALE = (0, 5)
MEANING_MAX_LENGTH = 500


def _in_words(choices) -> list[tuple[str, Any]]:
    return [(value, capfirst(label)) for value, label in choices]


class KeyedRows(forms.BaseFormSet):
    """Rows with a key (proposal elements, criteria), in their order.

    A row left as it was drawn (an empty row to add one) is ignored, keys are unique and the
    number of rows is bounded, each problem said on its row's field. Move up, Move down and
    Remove redraw the posted rows without saving: posted_rows() gives their values, which the
    view passes back as initial rows; the rows' order is their order on the page."""

    prefix_name = "rows"
    row_name = _("Row %(number)s")
    max_rows = MAX_ELEMENTS
    too_many = _("At most %(n)s rows; remove some.")
    duplicate_key = _("Another row has this key already: choose another.")

    @classmethod
    def get_default_prefix(cls) -> str:
        return cls.prefix_name

    def kept(self) -> list[tuple[int, forms.Form]]:
        """The rows that say something, with their index on the posted page: every row that
        was drawn filled in, and every empty one that was typed into."""
        return [
            (index, form)
            for index, form in enumerate(self.forms)
            if index < self.initial_form_count() or form.has_changed()
        ]

    def posted_rows(self) -> list[tuple[int, dict[str, Any]]]:
        """Each kept row's values as typed (not checked), to draw them again."""
        return [
            (index, {name: form[name].value() for name in form.fields})
            for index, form in self.kept()
        ]

    def clean(self) -> None:
        kept = [form for _index, form in self.kept()]
        seen: set[str] = set()
        for form in kept:
            key = form.cleaned_data.get("key")
            if key and key in seen:
                form.add_error("key", self.duplicate_key)
            seen.add(key)
        self.check_rows(kept)
        if len(kept) > self.max_rows:
            raise forms.ValidationError(self.too_many % {"n": self.max_rows})

    def check_rows(self, kept: list[forms.Form]) -> None:
        """Checks across rows beyond unique keys (a subclass's)."""

    def items(self) -> list[Any]:
        """What the editor stores, in order (once valid)."""
        return [form.item() for _index, form in self.kept()]

    def rows(self) -> list[dict[str, Any]]:
        """The rows to draw, then the empty row that JavaScript copies to add one (drawn in a
        <template>, its index and number as placeholders)."""
        forms_ = list(self.forms)
        rows = []
        for index, form in enumerate(forms_):
            rows.append(
                {
                    "form": form,
                    "index": index,
                    "label": self.row_name % {"number": index + 1},
                    "up": index > 0,
                    "down": index < len(forms_) - 1,
                    "up_anchor": f"{self.prefix}-row-{index - 1}",
                    "down_anchor": f"{self.prefix}-row-{index + 1}",
                }
            )
        rows.append(
            {
                "form": self.empty_form,
                "index": "__prefix__",
                "label": self.row_name % {"number": "__number__"},
                "up": True,
                "down": False,
                "empty": True,
            }
        )
        return rows

    def summary(self, more: list[str] | tuple[str, ...] = ()) -> list[dict[str, str]]:
        """The error summary: each problem with its row and field, linked to the field."""
        entries = [{"text": str(error), "target": ""} for error in self.non_form_errors()]
        entries += [{"text": str(error), "target": ""} for error in more]
        for index, form in enumerate(self.forms):
            row = self.row_name % {"number": index + 1}
            for name, errors in form.errors.items():
                field = form[name] if name in form.fields else None
                for error in errors:
                    if field is None or str(error).startswith(f"{field.label}:"):
                        text = _("%(row)s: %(error)s") % {"row": row, "error": error}
                    else:
                        text = _("%(row)s, %(field)s: %(error)s") % {
                            "row": row,
                            "field": field.label,
                            "error": error,
                        }
                    target = field.id_for_label if field is not None else ""
                    entries.append({"text": text, "target": target or ""})
        return entries


class ElementForm(forms.Form):
    """One part of a proposal (a proposal element)."""

    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_("The name of the answer in exports: letters, digits, - and _."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=_in_words(ProposalElement.Kind.choices),
        initial=ProposalElement.Kind.TEXT,
    )
    label = forms.CharField(
        label=_("Label"),
        max_length=200,
        help_text=_("What proposers read above the field, for example “The team”."),
    )
    help = MultilineField(
        label=_("Help"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Optional: what is expected, shown under the field."),
    )
    required = forms.BooleanField(
        label=_("Required"),
        required=False,
        initial=True,
        help_text=_("A proposal cannot be submitted without it."),
    )

    def item(self) -> editor.ElementItem:
        data = self.cleaned_data
        return editor.ElementItem(
            key=data["key"],
            kind=data["kind"],
            label=data["label"],
            help=data["help"],
            required=data["required"],
        )


class ElementRows(KeyedRows):
    prefix_name = "elements"
    row_name = _("Element %(number)s")
    max_rows = MAX_ELEMENTS
    too_many = _("At most %(n)s proposal elements; remove some.")
    duplicate_key = _("Another element has this key already: choose another.")

    @staticmethod
    def initial_rows(rfp) -> list[dict[str, Any]]:
        return [
            {
                "key": element.key,
                "kind": element.kind,
                "label": element.label,
                "help": element.help,
                "required": element.required,
            }
            for element in rfp.elements.order_by("position", "id")
        ]

    def check_rows(self, kept: list[forms.Form]) -> None:
        # A proposal has one document (Proposal.document): a second PDF element could not be
        # answered.
        pdfs = [form for form in kept if form.cleaned_data.get("kind") == ProposalElement.Kind.PDF]
        for form in pdfs[1:]:
            form.add_error(
                "kind", _("A proposal has one PDF document: another element is the PDF already.")
            )


ElementFormSet = forms.formset_factory(
    ElementForm,
    formset=ElementRows,
    extra=2,
    max_num=200,
    absolute_max=200,
)


def _whole(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _scale(low: Any, high: Any) -> tuple[int, int] | None:
    low, high = _whole(low), _whole(high)
    if low is None or high is None or not SCALE_LOWEST <= low < high <= SCALE_HIGHEST:
        return None
    return low, high


class CriterionForm(forms.Form):
    """One criterion: a gate (passed or failed) or a scored one, with its weight, its scale and
    what each score of the scale means. Its meaning inputs follow the scale as posted (or as
    stored), so that a new scale saved without JavaScript shows inputs for its scores."""

    key = forms.SlugField(
        label=_("Key"),
        max_length=50,
        help_text=_("Its short name in exports: letters, digits, - and _."),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=_in_words(Criterion.Kind.choices),
        initial=Criterion.Kind.SCORED,
        help_text=_("A gate is passed or failed; a scored criterion gets a score on its scale."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    weight = forms.DecimalField(
        label=_("Weight"),
        required=False,
        max_digits=6,
        decimal_places=2,
        initial=1,
        help_text=_(
            "Scored criteria only: how much its score counts against the others (1 each when "
            "all weigh the same). A gate has none: a weight typed for it is left out."
        ),
    )
    questions = TextListField(
        label=_("Guiding questions"),
        max_items=20,
        initial=list,
        widget=TextListWidget(item_label=_("Question")),
        help_text=_("What reviewers ask themselves; shown on the RFP's page and the review form."),
    )
    scale_min = forms.IntegerField(
        label=_("Lowest score"),
        required=False,
        min_value=SCALE_LOWEST,
        max_value=SCALE_HIGHEST,
        initial=DEFAULT_SCALE[0],
    )
    scale_max = forms.IntegerField(
        label=_("Highest score"),
        required=False,
        min_value=SCALE_LOWEST,
        max_value=SCALE_HIGHEST,
        initial=DEFAULT_SCALE[1],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scale = self._drawn_scale()
        # A new criterion starts with the meanings of the default scale.
        defaults = (
            editor.default_anchors() if not self.initial and self.scale == DEFAULT_SCALE else {}
        )
        for score in range(self.scale[0], self.scale[1] + 1):
            self.fields[self.meaning_name(score)] = forms.CharField(
                label=_("Meaning of %(score)s") % {"score": score},
                required=False,
                max_length=MEANING_MAX_LENGTH,
                initial=defaults.get(str(score), ""),
            )

    @staticmethod
    def meaning_name(score: int) -> str:
        return f"anchor_{score}"

    def _drawn_scale(self) -> tuple[int, int]:
        """The scale whose meanings are drawn: as posted (or stored); when that is no scale,
        the scores whose meanings were posted, else the default."""
        if self.is_bound:
            low = self.data.get(self.add_prefix("scale_min"))
            high = self.data.get(self.add_prefix("scale_max"))
        else:
            low = self.initial.get("scale_min", DEFAULT_SCALE[0])
            high = self.initial.get("scale_max", DEFAULT_SCALE[1])
        scale = _scale(low, high)
        if scale is not None:
            return scale
        if self.is_bound:
            start = self.add_prefix(self.meaning_name(0))[:-1]
            scores = sorted(
                score
                for name in self.data
                if name.startswith(start)
                and (score := _whole(name[len(start) :])) is not None
                and SCALE_LOWEST <= score <= SCALE_HIGHEST
            )
            if len(scores) >= 2:
                return scores[0], scores[-1]
        return DEFAULT_SCALE

    def meaning_fields(self) -> list[forms.BoundField]:
        return [self[self.meaning_name(score)] for score in range(self.scale[0], self.scale[1] + 1)]

    def scored_only(self) -> list[str]:
        """The fields a gate does not have, besides its weight."""
        return ["scale_min", "scale_max", *(name for name in self.fields if name[:7] == "anchor_")]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        if kind == Criterion.Kind.GATE:
            # A gate's weight, scale and meanings are not asked (hidden with JavaScript): without
            # it, a new row's weight of 1 is still there when staff choose "gate", so it is
            # ignored as the scale is (the saved page shows the gate without one).
            for name in ["weight", *self.scored_only()]:
                self._errors.pop(name, None)
            data["weight"] = None
        elif kind == Criterion.Kind.SCORED:
            self._clean_scored(data)
        return data

    def _clean_scored(self, data: dict[str, Any]) -> None:
        weight = data.get("weight")
        if "weight" not in self._errors and (weight is None or weight <= 0):
            self.add_error("weight", _("Weight: a scored criterion needs a weight above zero."))
        low, high = data.get("scale_min"), data.get("scale_max")
        for name, value in (("scale_min", low), ("scale_max", high)):
            if value is None and name not in self._errors:
                self.add_error(
                    name,
                    _("Give a whole number from %(low)s to %(high)s.")
                    % {"low": SCALE_LOWEST, "high": SCALE_HIGHEST},
                )
        if low is None or high is None:
            return
        if high <= low:
            self.add_error("scale_max", _("Highest score: it must be above the lowest score."))
            return
        for score in range(low, high + 1):
            name = self.meaning_name(score)
            if name in self.fields and name not in self._errors and not data.get(name):
                self.add_error(name, _("Say what a score of %(score)s means.") % {"score": score})

    def item(self) -> editor.CriterionItem:
        data = self.cleaned_data
        common = {
            "key": data["key"],
            "kind": data["kind"],
            "name": data["name"],
            "questions": data["questions"],
        }
        if data["kind"] != Criterion.Kind.SCORED:
            return editor.CriterionItem(**common)
        low, high = data["scale_min"], data["scale_max"]
        return editor.CriterionItem(
            **common,
            weight=data["weight"],
            scale_min=low,
            scale_max=high,
            anchors={str(score): data[self.meaning_name(score)] for score in range(low, high + 1)},
        )


class CriterionRows(KeyedRows):
    prefix_name = "criteria"
    row_name = _("Criterion %(number)s")
    max_rows = MAX_CRITERIA
    too_many = _("At most %(n)s criteria; remove some.")
    duplicate_key = _("Another criterion has this key already: choose another.")

    @staticmethod
    def initial_rows(rfp) -> list[dict[str, Any]]:
        rows = []
        for criterion in rfp.criteria.order_by("position", "id"):
            anchors = dict(criterion.anchors)
            if criterion.is_gate and (criterion.scale_min, criterion.scale_max) == DEFAULT_SCALE:
                # Should it become a scored criterion, it starts with the default meanings.
                anchors = editor.default_anchors()
            rows.append(
                {
                    "key": criterion.key,
                    "kind": criterion.kind,
                    "name": criterion.name,
                    "weight": criterion.weight,
                    "questions": list(criterion.questions),
                    "scale_min": criterion.scale_min,
                    "scale_max": criterion.scale_max,
                    **{
                        CriterionForm.meaning_name(int(score)): text
                        for score, text in anchors.items()
                        if _whole(score) is not None
                    },
                }
            )
        return rows


CriterionFormSet = forms.formset_factory(
    CriterionForm,
    formset=CriterionRows,
    extra=1,
    max_num=200,
    absolute_max=200,
)
