"""Forms for proposers: the draft form generated from the RFP's proposal elements."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from proposals import budget
from proposals.models import Feature, Milestone, ProposalElement, field_name
from rfp_portal.formatting import money

TEXT_LIMIT = 20_000


class StartProposalForm(forms.Form):
    title = forms.CharField(
        label=_("A title for your proposal"),
        max_length=200,
        help_text=_("For example your team's name and what you propose. You can change it later."),
    )


class ProposalDraftForm(forms.Form):
    """One field per element; per-feature elements get one field per feature.

    Every field is optional here: a draft may be incomplete. Completeness is checked at submit
    (proposals.submission.missing_elements) so that saving never loses what was typed.
    """

    edit = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label=_("Proposal title"), max_length=200)

    def __init__(self, *args, rfp, milestones: list[Milestone], **kwargs):
        super().__init__(*args, **kwargs)
        self.rfp = rfp
        self.milestones = milestones
        self.elements = list(rfp.elements.all())
        self.layout: list[dict[str, Any]] = []
        for element in self.elements:
            self._add(element)

    def _add(self, element: ProposalElement) -> None:
        kind = element.kind
        help_text = element.help
        entry: dict[str, Any] = {"element": element, "kind": kind}
        if kind == ProposalElement.Kind.TEXT:
            self.fields[field_name(element)] = forms.CharField(
                label=element.label,
                help_text=help_text,
                required=False,
                max_length=TEXT_LIMIT,
                widget=forms.Textarea(attrs={"rows": 6}),
            )
            entry["name"] = field_name(element)
        elif kind == ProposalElement.Kind.AGREEMENT:
            self.fields[field_name(element)] = forms.BooleanField(
                label=_("I agree: %(label)s") % {"label": element.label},
                help_text=help_text,
                required=False,
            )
            entry["name"] = field_name(element)
        elif kind == ProposalElement.Kind.MILESTONE_CHOICE:
            self.fields[field_name(element)] = forms.TypedMultipleChoiceField(
                label=element.label,
                help_text=help_text,
                required=False,
                coerce=int,
                choices=[(m.pk, m.name) for m in self.milestones],
                widget=forms.CheckboxSelectMultiple,
            )
            entry["name"] = field_name(element)
        elif kind in (
            ProposalElement.Kind.PER_FEATURE_TEXT,
            ProposalElement.Kind.PER_FEATURE_AMOUNT,
        ):
            entry["groups"] = []
            for milestone in self.milestones:
                names = []
                for feature in milestone.features.all():
                    name = field_name(element, feature)
                    if kind == ProposalElement.Kind.PER_FEATURE_TEXT:
                        self.fields[name] = forms.CharField(
                            label=feature.name,
                            required=False,
                            max_length=TEXT_LIMIT,
                            widget=forms.Textarea(attrs={"rows": 2}),
                        )
                    else:
                        self.fields[name] = forms.CharField(
                            label=_("%(feature)s (%(currency)s)")
                            % {"feature": feature.name, "currency": self.rfp.currency},
                            required=False,
                            max_length=20,
                            help_text=_("Budget %(budget)s, cap %(cap)s")
                            % {
                                "budget": money(feature.budget, self.rfp.currency),
                                "cap": money(feature.cap, self.rfp.currency),
                            },
                            widget=forms.TextInput(
                                attrs={"inputmode": "decimal", "autocomplete": "off"}
                            ),
                        )
                    names.append((feature, name))
                entry["groups"].append((milestone, names))
        elif kind == ProposalElement.Kind.PDF:
            self.fields["document"] = forms.FileField(
                label=element.label,
                help_text=help_text,
                required=False,
                # Empty files reach proposals.pdf_check, which explains every refusal the same way.
                allow_empty_file=True,
                widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
            )
            entry["name"] = "document"
        self.layout.append(entry)

    def clean(self):
        cleaned = super().clean()
        for element in self.elements:
            if element.kind != ProposalElement.Kind.PER_FEATURE_AMOUNT:
                continue
            for milestone in self.milestones:
                for feature in milestone.features.all():
                    name = field_name(element, feature)
                    try:
                        value = budget.parse_amount(cleaned.get(name))
                    except ValueError as exc:
                        self.add_error(name, str(exc))
                        continue
                    cleaned[name] = "" if value is None else str(value)
        return cleaned

    def answers(self) -> dict[str, Any]:
        """The cleaned values as the JSON the draft stores."""
        data = self.cleaned_data
        answers: dict[str, Any] = {}
        for element in self.elements:
            kind = element.kind
            if kind == ProposalElement.Kind.PDF:
                continue
            if kind in (
                ProposalElement.Kind.PER_FEATURE_TEXT,
                ProposalElement.Kind.PER_FEATURE_AMOUNT,
            ):
                answers[element.key] = {
                    str(feature.pk): (data.get(field_name(element, feature)) or "").strip()
                    for milestone in self.milestones
                    for feature in milestone.features.all()
                }
            elif kind == ProposalElement.Kind.MILESTONE_CHOICE:
                answers[element.key] = sorted(data.get(field_name(element)) or [])
            elif kind == ProposalElement.Kind.AGREEMENT:
                answers[element.key] = bool(data.get(field_name(element)))
            else:
                answers[element.key] = (data.get(field_name(element)) or "").strip()
        return answers

    @classmethod
    def initial_from(cls, proposal, elements) -> dict[str, Any]:
        initial: dict[str, Any] = {"edit": proposal.edit_count, "title": proposal.title}
        fields = proposal.fields or {}
        for element in elements:
            value = fields.get(element.key)
            if value is None:
                continue
            if isinstance(value, dict):
                for feature_id, text in value.items():
                    initial[f"e_{element.key}__{feature_id}"] = text
            else:
                initial[f"e_{element.key}"] = value
        return initial


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Co-author's e-mail address"))


class VerifyReceiptForm(forms.Form):
    code = forms.CharField(
        label=_("Receipt code"),
        max_length=32,
        required=False,
        help_text=_("As printed on the receipt, for example R-ABCD-EFGH-JKMN."),
    )
    signed_receipt = forms.FileField(
        label=_("Or the signed receipt file (.json)"),
        required=False,
        help_text=_(
            "The file downloaded from the receipt page. We check its signature with the "
            "portal's published keys."
        ),
    )
    document = forms.FileField(
        label=_("The PDF you submitted (optional)"),
        required=False,
        help_text=_("If you add it, we check that it is exactly the file received."),
    )

    def __init__(self, *args, dropped_files: dict[str, str] | None = None, **kwargs):
        """`dropped_files`: field name → the error for a file the upload handlers dropped for
        its size before the form saw it (so the form does not take it for a missing file)."""
        super().__init__(*args, **kwargs)
        self.dropped_files = dropped_files or {}

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper().replace(" ", "")

    def clean(self):
        cleaned = super().clean()
        for name, message in self.dropped_files.items():
            self.add_error(name, message)
        if not cleaned.get("code") and not cleaned.get("signed_receipt") and not self.errors:
            self.add_error("code", _("Enter the receipt code, or add the signed receipt file."))
        return cleaned


class QuestionForm(forms.Form):
    text = forms.CharField(
        label=_("Your question"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Questions and answers are published without your name."),
    )


class AddendumForm(forms.Form):
    change_note = forms.CharField(
        label=_("What changed and why"), widget=forms.Textarea(attrs={"rows": 3})
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 3}))
    body_markdown = forms.CharField(
        label=_("Body (Markdown)"), required=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    deadline_date = forms.DateField(
        label=_("Deadline date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    deadline_zone = forms.ChoiceField(label=_("Deadline time zone"), choices=())

    def __init__(self, *args, rfp, **kwargs):
        from rfp_portal import deadlines

        super().__init__(*args, **kwargs)
        self.fields["deadline_zone"].choices = deadlines.zone_choices()
        # The RFP's parts, pre-filled; the addendum records only what differs.
        self.groups: dict[str, list[tuple[str, list[str]]]] = {
            "scope": [],
            "criteria": [],
            "timeline": [],
        }
        for feature in Feature.objects.filter(milestone__rfp=rfp).order_by(
            "milestone__position", "position"
        ):
            names = [f"feature:{feature.pk}:budget", f"feature:{feature.pk}:cap"]
            self.fields[names[0]] = forms.DecimalField(
                label=_("Budget"),
                min_value=0,
                max_digits=12,
                decimal_places=2,
                initial=feature.budget,
            )
            self.fields[names[1]] = forms.DecimalField(
                label=_("Cap"), min_value=0, max_digits=12, decimal_places=2, initial=feature.cap
            )
            self.groups["scope"].append((feature.name, names))
        for criterion in rfp.criteria.all():
            names = [f"criterion:{criterion.pk}:name", f"criterion:{criterion.pk}:questions"]
            self.fields[names[0]] = forms.CharField(
                label=_("Name"), max_length=200, initial=criterion.name
            )
            self.fields[names[1]] = forms.CharField(
                label=_("Guiding questions, one per line"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                initial="\n".join(criterion.questions),
            )
            self.groups["criteria"].append((criterion.name, names))
        for entry in rfp.timeline.all():
            names = [f"timeline:{entry.pk}:date", f"timeline:{entry.pk}:label"]
            self.fields[names[0]] = forms.DateField(
                label=_("Date"), initial=entry.date, widget=forms.DateInput(attrs={"type": "date"})
            )
            self.fields[names[1]] = forms.CharField(
                label=_("Label"), max_length=300, initial=entry.label
            )
            self.groups["timeline"].append((entry.label, names))

    def part_groups(self):
        """(legend, [(part title, field names)]) for each kind of part, in page order."""
        return [
            (_("Scope: budgets and caps"), self.groups["scope"]),
            (_("Evaluation criteria"), self.groups["criteria"]),
            (_("Timeline"), self.groups["timeline"]),
        ]

    def rfp_changes(self) -> dict:
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("title", "summary", "body_markdown", "deadline_date", "deadline_zone")
        }

    def part_changes(self) -> dict[str, dict]:
        changes: dict[str, dict] = {}
        for name, value in self.cleaned_data.items():
            if name.count(":") != 2:
                continue
            kind, pk, field = name.split(":")
            if field == "questions":
                value = [line.strip() for line in value.splitlines() if line.strip()]
            changes.setdefault(f"{kind}:{pk}", {})[field] = value
        return changes


class SubscribeForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_(
            "We e-mail you when a new RFP is published; every mail has a one-click unsubscribe."
        ),
    )


class PublishRFPForm(forms.Form):
    understood = forms.BooleanField(
        label=_(
            "I understand: subscribers are e-mailed now, and from now on the RFP changes only "
            "by addendum."
        )
    )


class DuplicateRFPForm(forms.Form):
    title = forms.CharField(label=_("Title of the copy"), max_length=200)
    slug = forms.SlugField(
        label=_("Slug of the copy"),
        max_length=80,
        help_text=_("The last part of the copy's address: letters, digits and hyphens."),
    )
    deadline_date = forms.DateField(
        label=_("New deadline date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The timeline's dates move by as many days as the deadline."),
    )
    deadline_zone = forms.ChoiceField(label=_("Deadline time zone"), choices=())

    def __init__(self, *args, **kwargs):
        from rfp_portal import deadlines

        super().__init__(*args, **kwargs)
        self.fields["deadline_zone"].choices = deadlines.zone_choices()

    def clean_slug(self) -> str:
        from proposals.models import RFP

        slug = self.cleaned_data["slug"]
        if RFP.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("Another RFP has this slug already: choose another."))
        return slug


class ImportRFPForm(forms.Form):
    file = forms.FileField(
        label=_("TOML file"),
        help_text=_(
            "An RFP in the format of Download (.toml), at most 256 KB. It becomes a draft: "
            "nobody is told until you publish it."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".toml,application/toml,text/plain"}),
    )
