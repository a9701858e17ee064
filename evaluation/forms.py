"""Forms of the evaluation: conflict declaration, the review form built from the criteria."""

from __future__ import annotations

from django import forms
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from evaluation.models import Assessment, Decision, DecisionRelease
from evaluation.services import AssessmentInput
from rfp_portal.formatting import money


class ConflictForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Do you have a conflict of interest with this team?"),
        choices=[
            ("none", _("No conflict: I can review this proposal impartially.")),
            ("conflict", _("Conflict: I should not review this proposal.")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("If there is a conflict, what is it?"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: I worked with a team member in the last three years."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "conflict" and not cleaned.get("reason", "").strip():
            self.add_error("reason", _("Say briefly what the conflict is."))
        return cleaned


class ReviewForm(forms.Form):
    """A verdict per gate and a score per scored criterion, each with a comment."""

    overall_comment = forms.CharField(
        label=_("Overall comment"), required=False, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            if criterion.is_gate:
                self.fields[f"c{criterion.pk}"] = forms.ChoiceField(
                    label=criterion.name,
                    required=False,
                    choices=Assessment.Verdict.choices,
                    widget=forms.RadioSelect,
                )
            else:
                self.fields[f"c{criterion.pk}"] = forms.TypedChoiceField(
                    label=criterion.name,
                    required=False,
                    coerce=int,
                    empty_value=None,
                    choices=[
                        (point, f"{point}: {anchor}" if anchor else str(point))
                        for point, anchor in criterion.scale_points()
                    ],
                    widget=forms.RadioSelect,
                )
            self.fields[f"c{criterion.pk}_comment"] = forms.CharField(
                label=_("Comment on %(name)s") % {"name": criterion.name},
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean(self):
        cleaned = super().clean()
        # Submitting needs every criterion judged. Said at each criterion, so the error
        # summary links to it (the service refuses an incomplete submit as well).
        if self.data.get("action") == "submit":
            for criterion in self.criteria:
                name = f"c{criterion.pk}"
                if name not in self.errors and cleaned.get(name) in (None, ""):
                    self.add_error(
                        name,
                        _("Choose pass, fail or unsure before submitting.")
                        if criterion.is_gate
                        else _("Choose a score before submitting."),
                    )
        return cleaned

    def rows(self):
        return [
            (criterion, self[f"c{criterion.pk}"], self[f"c{criterion.pk}_comment"])
            for criterion in self.criteria
        ]

    def assessments(self) -> list[AssessmentInput]:
        data = self.cleaned_data
        return [
            AssessmentInput(
                criterion=criterion,
                score=None if criterion.is_gate else data.get(f"c{criterion.pk}"),
                verdict=(data.get(f"c{criterion.pk}") or "") if criterion.is_gate else "",
                comment=data.get(f"c{criterion.pk}_comment") or "",
            )
            for criterion in self.criteria
        ]

    @staticmethod
    def initial_from(review) -> dict:
        if review is None:
            return {}
        initial = {"overall_comment": review.overall_comment}
        for assessment in review.assessments.all():
            key = f"c{assessment.criterion_id}"
            initial[key] = assessment.verdict or assessment.score
            initial[f"{key}_comment"] = assessment.comment
        return initial


class InviteReviewerForm(forms.Form):
    email = forms.EmailField(label=_("Reviewer's e-mail address"))


class AutoAssignForm(forms.Form):
    per_proposal = forms.IntegerField(
        label=_("Reviewers per proposal"), min_value=1, max_value=10, initial=3
    )


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=Decision.Outcome.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        label=_("Rationale (the proposer reads it in the debrief)"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    confirm_over_cap = forms.BooleanField(
        label=_("I confirm an award above a feature's cap"), required=False
    )

    def __init__(self, *args, features, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.features = features
        for feature in features:
            self.fields[f"award_{feature.pk}"] = forms.DecimalField(
                label=_("Award for %(feature)s") % {"feature": feature.name},
                help_text=_("Budget %(budget)s, cap %(cap)s.")
                % {
                    "budget": money(feature.budget, currency),
                    "cap": money(feature.cap, currency),
                },
                required=False,
                min_value=0,
                max_digits=12,
                decimal_places=2,
            )

    def awards(self):
        return {
            feature.pk: self.cleaned_data.get(f"award_{feature.pk}")
            for feature in self.features
            if self.cleaned_data.get(f"award_{feature.pk}") is not None
        }

    def award_fields(self):
        return [self[f"award_{feature.pk}"] for feature in self.features]

    @staticmethod
    def initial_from(decision) -> dict:
        if decision is None:
            return {}
        initial = {"outcome": decision.outcome, "rationale": decision.rationale}
        for feature_id, amount in decision.awards.items():
            initial[f"award_{feature_id}"] = amount
        return initial


class PublishDecisionsForm(forms.Form):
    """Which scores the proposers' debriefs show: raw (preselected), or calibrated, offered only
    when calibration is usable for the RFP (else the help says why). Without the field (an older
    form), raw."""

    debrief_scores = forms.ChoiceField(
        label=_("Scores in the teams' debriefs"),
        choices=DecisionRelease.DebriefScores.choices,
        widget=forms.RadioSelect,
        required=False,
        initial=DecisionRelease.DebriefScores.RAW,
    )

    def __init__(self, *args, calibrated: bool, reason: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.calibrated, self.reason = calibrated, reason
        field = self.fields["debrief_scores"]
        offered = [
            (
                DecisionRelease.DebriefScores.RAW,
                _(
                    "Raw: each criterion's mean of the submitted reviews, as the reviewers "
                    "gave them."
                ),
            )
        ]
        if calibrated:
            offered.append(
                (
                    DecisionRelease.DebriefScores.CALIBRATED,
                    _(
                        "Calibrated: each reviewer's general leniency or severity, estimated "
                        "across all the proposals they reviewed, is taken out before averaging."
                    ),
                )
            )
            field.help_text = _(
                "Either way the debrief says which scores they are, and shows no reviewer's "
                "leniency or name."
            )
        else:
            field.help_text = _("Calibrated scores are not offered. %(reason)s") % {
                "reason": escape(reason)  # help texts are drawn as HTML
            }
        field.widget.choices = offered
        field.error_messages["invalid_choice"] = _(
            "Choose which scores the debriefs show: raw or calibrated."
        )

    def clean_debrief_scores(self) -> str:
        value = self.cleaned_data.get("debrief_scores") or DecisionRelease.DebriefScores.RAW
        if value == DecisionRelease.DebriefScores.CALIBRATED and not self.calibrated:
            # Drawn again with raw chosen, the only choice offered (nothing else is lost).
            self.data = self.data.copy()
            self.data["debrief_scores"] = DecisionRelease.DebriefScores.RAW
            raise forms.ValidationError(
                _("The debriefs cannot show calibrated scores for this RFP. %(reason)s")
                % {"reason": self.reason}
            )
        return value


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Message"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 4})
    )
