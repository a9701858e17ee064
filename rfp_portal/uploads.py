"""Upload handling for every request of the portal: nothing past the size limit is stored.

Django streams a multipart body through its upload handlers chunk by chunk (64 KB). The
handlers named in settings.FILE_UPLOAD_HANDLERS start with `SizeLimitHandler`, which counts
the bytes of every file of the request and drops the file that takes the request past
MAX_PDF_BYTES (SkipFile: what was buffered is discarded and the rest of it is read off the
wire without being kept). The other fields of the form are still parsed, so the page can say
why and keep what the person typed. `request.upload_too_large` tells the view.

`/verify/` needs only a digest of the file: `hash_uploads_only` replaces the handlers of that
view with `Sha256UploadHandler`, which hashes the chunks as they arrive and stores nothing
(neither in memory nor in a temporary file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest
from django.views.decorators.csrf import csrf_exempt, csrf_protect


def upload_limit() -> int:
    return settings.MAX_PDF_BYTES


def upload_too_large(request: HttpRequest) -> bool:
    """Whether a file of this request was dropped for passing the size limit."""
    return bool(getattr(request, "upload_too_large", False))


class SizeLimitHandler(FileUploadHandler):
    """First in the chain: counts the bytes of the request's files and drops the file that
    passes the limit before the next handler (memory or temporary file) keeps its chunk."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = limit
        self.received = 0  # over every file of the request: at most `limit` bytes are kept

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > (self.limit or upload_limit()):
            if self.request is not None:
                self.request.upload_too_large = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


class HashedUpload(UploadedFile):
    """What a hashed upload leaves behind: its name, size and SHA-256, no content."""

    def __init__(self, *, name: str, size: int, sha256: str, content_type: str | None = None):
        super().__init__(file=None, name=name, content_type=content_type, size=size)
        self.sha256 = sha256

    def open(self, mode=None):
        raise ValueError("A hashed upload keeps no content.")


class Sha256UploadHandler(FileUploadHandler):
    """Hashes each file chunk by chunk and stores none of it (the chain ends here)."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        self.digest.update(raw_data)
        return None

    def file_complete(self, file_size):
        return HashedUpload(
            name=self.file_name,
            size=file_size,
            sha256=self.digest.hexdigest(),
            content_type=self.content_type,
        )


def hash_uploads_only(view: Callable) -> Callable:
    """The view's files are hashed while they stream and never kept (size limit first).

    Upload handlers can only be changed before the body is parsed, and the CSRF check parses
    it: hence csrf_exempt outside and csrf_protect inside, as Django's documentation
    prescribes."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.upload_handlers = [SizeLimitHandler(request), Sha256UploadHandler(request)]
        return protected(request, *args, **kwargs)

    return wrapper
