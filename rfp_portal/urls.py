"""The root URL map: each app's own urls.py (included by name, so the core imports neither
app), the accounts, the portal-wide pages and the admin. URL names are global."""

from django.contrib import admin
from django.urls import include, path

from rfp_portal import health, metrics
from rfp_portal import views as portal_views

handler429 = "rfp_portal.views.too_many_requests"  # allauth's respond_429 uses it

urlpatterns = [
    path("", include("proposals.urls")),
    path("", include("evaluation.urls")),
    path("time-zone/", portal_views.set_time_zone, name="set_time_zone"),
    path("accounts/profile/", portal_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    # Django's language switch (django.conf.urls.i18n), with its `next` checked first.
    path("i18n/setlang/", portal_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    # For operators' probes and scraper (rfp_portal.health.ProbeMiddleware answers them first).
    path("health/live/", health.live, name="health_live"),
    path("health/ready/", health.ready, name="health_ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
