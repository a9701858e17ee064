"""Admin for users. The audit trail and the outbox are registered in proposals.admin: which of
their rows stay hidden is the sealing rule (proposals.rules)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from rfp_portal.admin_site import PortalPermissionsMixin
from rfp_portal.models import User


@admin.register(User)
class UserAdmin(PortalPermissionsMixin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "organisation", "is_active", "is_staff"]
    search_fields = ["email", "full_name", "organisation"]
    list_filter = ["is_active", "is_staff", "groups"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["full_name", "organisation", "time_zone"]}),
        (_("Roles"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    # The admin's two-box filter widget labels a plain <span> with aria-label (an axe
    # violation, WCAG 4.1.2); the three roles fit in plain checkboxes.
    filter_horizontal = ()

    readonly_fields = ["last_login", "date_joined"]

    def has_delete_permission(self, request, obj=None):
        # Accounts are deactivated, never deleted: their audit events keep them (PROTECT),
        # and the admin's "cannot delete" page would list what they own, a sealed proposal
        # among it (rule 2: who bid is sealed until opening).
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Superuser status bypasses every model permission (MFA secrets, e-mail addresses):
        # only a superuser (made with createstaff/createsuperuser) may grant it.
        if not request.user.is_superuser:
            fields.append("is_superuser")
        return fields

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)
