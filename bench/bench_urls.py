"""The portal's URLs plus the deadline rush's two reference views.

- upload_baseline: the issue's baseline, a bare view that reads an upload and returns.
- upload_floor: the least any real submission does beyond that: a signed-in session, the CSRF
  check, the PDF checked and hashed by the portal's own validator, and the file stored. No form,
  proposal, version, audit event, mail or background job. It tells how much of the ratio's
  budget is spent before the submission's own work starts (bench/README.md). The stored file is
  deleted at once, so that writing back 900 MB does not weigh on the phases after it: a real
  submission keeps its file, so the floor, if anything, errs low.
"""

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from proposals import pdf_check
from rfp_portal.urls import urlpatterns as portal_urlpatterns


@csrf_exempt
def upload_baseline(request: HttpRequest) -> HttpResponse:
    """Read every uploaded byte (Django streams large files to a temporary file) and return."""
    received = 0
    for upload in request.FILES.values():
        for chunk in upload.chunks():
            received += len(chunk)
    return HttpResponse(str(received), content_type="text/plain")


@login_required
@require_POST
def upload_floor(request: HttpRequest) -> HttpResponse:
    """Check, hash and store each uploaded PDF as a submission does, and nothing else."""
    stored = 0
    for upload in request.FILES.values():
        info = pdf_check.inspect_pdf(upload.file, max_bytes=settings.MAX_PDF_BYTES)
        upload.seek(0)
        # A name of its own: with one shared name, a worker could delete the file that another
        # worker had just written under it, before that one set its permissions (HTTP 500).
        name = default_storage.save(f"bench-floor/{uuid.uuid4().hex}.pdf", upload)
        default_storage.delete(name)
        stored += info.size
    return HttpResponse(str(stored), content_type="text/plain")


urlpatterns = [
    path("bench/upload-baseline/", upload_baseline),
    path("bench/upload-floor/", upload_floor),
    *portal_urlpatterns,
]
