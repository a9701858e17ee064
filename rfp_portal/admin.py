"""Admin for users and the read-only audit trail and outbox."""

from collections.abc import Callable

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
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


class ReadOnlyAdmin(PortalModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SealedRowsAdmin(ReadOnlyAdmin):
    """Rows that tell who bid on an RFP still sealed (`sealed_rows`, a Q from
    rfp_portal.permissions) are in no list, search, filter choice, facet or date hierarchy here,
    and their pages are closed (403) until the RFP is opened (rule 2: staff see counts only)."""

    sealed_rows: Callable[[], Q]

    def get_queryset(self, request):
        # Everything the change list shows, counts and offers to filter by is read from here.
        return super().get_queryset(request).exclude(self.sealed_rows())

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            try:
                sealed = self.model._default_manager.filter(self.sealed_rows(), pk=object_id)
                closed = sealed.exists()
            except (ValueError, TypeError, ValidationError):
                closed = False
            if closed:
                raise PermissionDenied
        return obj


@admin.register(AuditEvent)
class AuditEventAdmin(SealedRowsAdmin):
    """Events about sealed proposals are not listed and their pages stay closed until the RFP
    is opened (the staff audit page counts them)."""

    sealed_rows = staticmethod(permissions.sealed_audit_events)
    list_display = ["at", "actor_label", "action", "object_type", "object_label", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_label", "action"]
    date_hierarchy = "at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(SealedRowsAdmin):
    """Delivery, not content: a mail's subject and body are its recipient's (a receipt or an
    invitation names a sealed proposal, a reset mail holds a sign-in link).

    Until an RFP is opened, its mails that tell who bid (receipts, co-author invitations,
    reminders about a draft...; see permissions.sealed_outbox_messages) are not listed: the
    list counts them.
    """

    sealed_rows = staticmethod(permissions.sealed_outbox_messages)
    list_display = ["created_at", "to", "template", "state", "attempts", "sent_at"]
    list_filter = ["state", "template"]
    search_fields = ["to", "template"]
    fields = ["to", "template", "state", "attempts", "last_error", "created_at", "sent_at"]

    def changelist_view(self, request, extra_context=None):
        sealed = OutboxMessage.objects.filter(permissions.sealed_outbox_messages())
        extra_context = {
            **(extra_context or {}),
            "sealed_messages": sealed.count(),
            "sealed_failed": sealed.filter(state=OutboxMessage.State.FAILED).count(),
        }
        return super().changelist_view(request, extra_context)
