from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class RfpPortalConfig(AppConfig):
    name = "rfp_portal"
    verbose_name = "RFP Portal"

    def ready(self) -> None:
        from rfp_portal import signals  # noqa: F401  (connects allauth signals to the audit trail)


class PortalAdminConfig(AdminConfig):
    """The Django admin, with a site that asks rfp_portal.permissions who may enter."""

    default_site = "rfp_portal.admin_site.PortalAdminSite"
