"""URL map of the whole portal."""

from django.contrib import admin
from django.urls import include, path

from evaluation import views as evaluation_views
from proposals import views as proposal_views
from proposals.feeds import PublishedRFPFeed
from rfp_portal import views as portal_views

urlpatterns = [
    path("", proposal_views.home, name="home"),
    path("rfps/<slug:slug>/", proposal_views.rfp_detail, name="rfp_detail"),
    path("rfps/<slug:slug>/deadline.ics", proposal_views.rfp_calendar, name="rfp_calendar"),
    path("feeds/rfps.atom", PublishedRFPFeed(), name="rfp_feed"),
    path("time-zone/", portal_views.set_time_zone, name="set_time_zone"),
    path("accounts/profile/", portal_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    path("staff/", proposal_views.staff_home, name="staff_home"),
    path("review/", evaluation_views.reviewer_home, name="reviewer_home"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
