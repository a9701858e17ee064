"""The funding plan's form (a GET: the plan is a computation, nothing is written). Its fields
become evaluation.funding_plan.Options; adopting and the lottery repeat them as hidden inputs,
so they act on the very plan staff read."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from evaluation import funding_plan, plan_adoption


class PlanForm(forms.Form):
    objective = forms.ChoiceField(
        label=_("What the plan looks for"),
        choices=[
            ("score", _("The highest total score (each feature weighted by its budget)")),
            ("score_per_dollar", _("The most score per dollar (bids under budget count more)")),
            ("coverage", _("As many features funded as possible, then the highest score")),
        ],
        initial="score",
        widget=forms.RadioSelect,
    )
    contractors = forms.IntegerField(
        label=_("Proposals funded per feature, at most"),
        min_value=1,
        max_value=plan_adoption.MAX_CONTRACTORS,
        initial=1,
    )
    whole = forms.BooleanField(
        label=_("Fund whole proposals only (everything a proposal asked for, or nothing)"),
        required=False,
    )
    line = forms.IntegerField(
        label=_("Funding line for the band (optional)"),
        help_text=_(
            "How many proposals are funded when telling which ones the reviews cannot set apart. "
            "Empty: as many as the plan funds."
        ),
        min_value=1,
        required=False,
    )
    lock = forms.TypedMultipleChoiceField(label=_("Lock"), coerce=int, required=False)
    exclude = forms.TypedMultipleChoiceField(label=_("Exclude"), coerce=int, required=False)

    def __init__(self, *args, proposals=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(p.pk, p.title) for p in proposals]
        self.fields["lock"].choices = choices
        self.fields["exclude"].choices = choices

    def clean(self):
        data = super().clean()
        both = set(data.get("lock") or ()) & set(data.get("exclude") or ())
        if both:
            raise forms.ValidationError(_("A proposal cannot be both locked and excluded."))
        return data

    def options(self) -> funding_plan.Options:
        """Staff's choices as the solver's options (the defaults for an unbound form)."""
        data = self.cleaned_data if self.is_bound else {}
        return funding_plan.Options(
            objective=data.get("objective") or "score",
            max_contractors_per_feature=data.get("contractors") or 1,
            locked=frozenset(data.get("lock") or ()),
            excluded=frozenset(data.get("exclude") or ()),
            allow_partial=not data.get("whole", False),
        )

    def funding_line(self) -> int | None:
        return self.cleaned_data.get("line") if self.is_bound else None
