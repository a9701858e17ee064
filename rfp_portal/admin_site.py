"""The Django admin site: entry decided by rfp_portal.permissions, sign-in through allauth."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from rfp_portal import permissions, redirects


class PortalPermissionsMixin:
    """For every ModelAdmin and inline: who may do what is rfp_portal.permissions' decision,
    not Django's per-model permissions (staff role + MFA + admin flag)."""

    def has_module_permission(self, request):
        return permissions.can_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return permissions.can_use_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return permissions.can_use_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return permissions.can_use_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return permissions.can_use_admin(request.user)


class PortalModelAdmin(PortalPermissionsMixin, admin.ModelAdmin):
    pass


class PortalAdminSite(admin.AdminSite):
    site_header = _("RFP Portal administration")
    site_title = _("RFP Portal admin")
    index_title = _("Data fixes (sealed proposals stay sealed here too)")

    def has_permission(self, request):
        return permissions.can_use_admin(request.user)

    def login(self, request, extra_context=None):
        """Never the admin's own password form: allauth's sign-in, with MFA and rate limits."""
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            next_url = request.GET.get(REDIRECT_FIELD_NAME) or request.get_full_path()
            return redirect_to_login(next_url)
        if permissions.has_role(request.user, permissions.Role.STAFF):
            denial = permissions.area_denial(request, permissions.Area.STAFF)
            if denial is not None:
                return denial
        if not self.has_permission(request):
            raise PermissionDenied(_("Your account may not use the admin."))
        return redirects.redirect_to_next(
            request,
            request.GET.get(REDIRECT_FIELD_NAME),
            reverse("admin:index", current_app=self.name),
        )
