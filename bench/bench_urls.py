"""The portal's URLs plus the deadline-rush baseline: a bare view that reads an upload."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from rfp_portal.urls import urlpatterns as portal_urlpatterns


@csrf_exempt
def upload_baseline(request: HttpRequest) -> HttpResponse:
    """Read every uploaded byte (Django streams large files to a temporary file) and return."""
    received = 0
    for upload in request.FILES.values():
        for chunk in upload.chunks():
            received += len(chunk)
    return HttpResponse(str(received), content_type="text/plain")


urlpatterns = [path("bench/upload-baseline/", upload_baseline), *portal_urlpatterns]
