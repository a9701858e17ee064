"""Serving stored uploads and exports: always as a download, never from a public URL."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect


def serve_attachment(name: str, filename: str, content_type: str) -> HttpResponse:
    """The stored file `name` as an attachment called `filename`.

    On S3 a short-lived signed URL (AWS_QUERYSTRING_EXPIRE) that forces the download; on local
    disk the bytes through this response. Callers check permissions first.
    """
    if not name or not default_storage.exists(name):
        raise Http404
    if hasattr(default_storage, "bucket_name"):
        return redirect(
            default_storage.url(
                name,
                parameters={
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                    "ResponseContentType": content_type,
                },
            )
        )
    response = FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=filename,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
