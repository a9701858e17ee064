"""Forms for cross-cutting pages: extra sign-up fields, profile, time zone choice."""

import functools

from django import forms
from django.forms.utils import flatatt
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from rfp_portal import deadlines
from rfp_portal.models import User


class SignupExtraFields(forms.Form):
    """Asked at sign-up in addition to allauth's e-mail and password."""

    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    organisation = forms.CharField(
        label=_("Organisation (optional)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )

    def signup(self, request, user: User) -> None:
        user.full_name = self.cleaned_data["full_name"]
        user.organisation = self.cleaned_data["organisation"]
        user.save(update_fields=["full_name", "organisation"])


@functools.lru_cache(maxsize=8)
def _zone_options_html(language: str | None) -> str:
    return "".join(
        f'<option value="{escape(value)}">{escape(label)}</option>'
        for value, label in deadlines.zone_choices()
    )


class ZoneSelect(forms.Select):
    """The select of some 600 zones, rendered in one pass from a per-language cache.

    Rendered option by option through widget templates it cost about 160 ms of CPU on every
    page with a deadline panel for visitors whose zone is not yet known (bench/deadline_rush).
    """

    def render(self, name, value, attrs=None, renderer=None):
        options = _zone_options_html(translation.get_language())
        if value:
            marker = f'value="{escape(value)}"'
            options = options.replace(marker, f"{marker} selected", 1)
        final_attrs = flatatt(self.build_attrs(self.attrs, {**(attrs or {}), "name": name}))
        return mark_safe(f"<select{final_attrs}>{options}</select>")  # noqa: S308 - escaped above


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Your time zone"), choices=(), widget=ZoneSelect)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = deadlines.zone_choices()


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "organisation", "time_zone"]
        widgets = {"time_zone": forms.Select}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].widget.choices = [
            ("", _("My browser's zone")),
            *deadlines.zone_choices(),
        ]

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"]
        if value and not deadlines.is_valid_zone(value):
            raise forms.ValidationError(_("Choose a time zone from the list."))
        return value


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action starts with"), required=False, max_length=64)
    actor = forms.CharField(label=_("Actor e-mail contains"), required=False, max_length=254)
    object = forms.CharField(label=_("Object contains"), required=False, max_length=300)
    since = forms.DateField(
        label=_("On or after"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
