"""Admin for users and the read-only audit trail and outbox."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from rfp_portal import permissions
from rfp_portal.admin_site import PortalModelAdmin, PortalPermissionsMixin
from rfp_portal.models import AuditEvent, OutboxMessage, User


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


class ReadOnlyAdmin(PortalModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Events about sealed proposals are not listed and their pages stay closed until the RFP
    is opened (rule 2: staff see counts only; the staff audit page counts them)."""

    list_display = ["at", "actor_label", "action", "object_type", "object_label", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_label", "action"]

    def get_queryset(self, request):
        return permissions.audit_events_for_staff(super().get_queryset(request))

    def get_search_results(self, request, queryset, search_term):
        # The change list always asks this, searching or not: sealed events are never listed.
        queryset = queryset.filter(sealed=False)
        return super().get_search_results(request, queryset, search_term)

    def has_view_permission(self, request, obj=None):
        if (
            obj is not None
            and AuditEvent.objects.filter(permissions.sealed_audit_events(), pk=obj.pk).exists()
        ):
            return False
        return super().has_view_permission(request, obj)

    date_hierarchy = "at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Delivery, not content: a mail's subject and body are its recipient's (a receipt or an
    invitation names a sealed proposal, a reset mail holds a sign-in link)."""

    list_display = ["created_at", "to", "template", "state", "attempts", "sent_at"]
    list_filter = ["state", "template"]
    search_fields = ["to", "template"]
    fields = ["to", "template", "state", "attempts", "last_error", "created_at", "sent_at"]
