"""Template context every page needs: what the navigation shows, the viewer's zone."""

from django.conf import settings

from rfp_portal import permissions


def portal(request):
    user = getattr(request, "user", None)
    return {
        "nav": permissions.nav_for(user) if user is not None else {},
        "viewer_zone": getattr(request, "viewer_zone", None),
        "site_name": "RFP Portal",
        "site_url": settings.SITE_URL,
    }
