"""Checking an uploaded proposal PDF by its content, never by its name or declared type.

The parse itself runs in a bounded child process (proposals/pdfguard.py): a hostile file is
refused within seconds, whatever it costs to parse, and its parser warnings never reach the log.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rfp_portal import formatting

log = logging.getLogger(__name__)

PDF_MAGIC = b"%PDF-"
# The header may follow a little junk (allowed by the PDF spec); the end marker sits near the end.
HEADER_WINDOW = 1024
TRAILER_WINDOW = 2048
CHUNK = 1024 * 1024


class PDFRejected(ValueError):
    """The file is not an acceptable PDF; the message says why in words a proposer understands."""


class PDFTooComplex(PDFRejected):
    """Refused because checking it ran into the check's time, memory or decompression limits:
    such a refusal cost the server up to the whole limit, which a rate limit takes into account."""


@dataclass(frozen=True)
class PDFInfo:
    size: int
    pages: int
    sha256: str
    # What a viewer might act on (pdfguard.ACTIVE_KINDS: "javascript", "launch", ...).
    active_content: tuple[str, ...] = ()


# Active content in words (the kinds proposals.pdfguard finds), for proposers and reviewers.
ACTIVE_CONTENT_LABELS = {
    "javascript": gettext_lazy("JavaScript"),
    "launch": gettext_lazy("an action that starts a program"),
    "submit_form": gettext_lazy("a form that sends data"),
    "open_action": gettext_lazy("an action run when the file opens"),
    "additional_actions": gettext_lazy("actions run on events"),
    "embedded_files": gettext_lazy("embedded files"),
    "acroform": gettext_lazy("a fillable form"),
    "xfa": gettext_lazy("an XFA form"),
    "rich_media": gettext_lazy("embedded media"),
    "polyglot": gettext_lazy("data that is not part of the PDF"),
}


def describe_active_content(kinds) -> str:
    """ "JavaScript, embedded files": the kinds found, in words, in the order of the labels."""
    return ", ".join(
        str(label) for kind, label in ACTIVE_CONTENT_LABELS.items() if kind in set(kinds)
    )


def active_content_refused_message(kinds) -> str:
    return _(
        "This RFP does not accept PDFs with active content, and this file contains "
        "%(found)s. Export it again as a plain PDF (for example with “Print to PDF”) and "
        "upload that file."
    ) % {"found": describe_active_content(kinds)}


def too_complex_message() -> str:
    return _(
        "This PDF is too complex to check; export it again from your editor (for example with "
        "“Save as PDF” or “Print to PDF”) and upload that file."
    )


def _size_of(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def inspect_pdf(stream: IO[bytes], *, max_bytes: int) -> PDFInfo:
    """Validate a PDF held in a seekable stream (a temporary file for large uploads).

    Reads at most a few KB before the size check, and the parser reads only what it needs.
    Raises PDFRejected with a clear reason.
    """
    size = _size_of(stream)
    if size == 0:
        raise PDFRejected(_("The file is empty."))
    if size > max_bytes:
        raise PDFRejected(
            _("The file is %(size)s; the largest PDF accepted is %(limit)s.")
            % {"size": human_size(size), "limit": human_size(max_bytes)}
        )
    head = stream.read(HEADER_WINDOW)
    if PDF_MAGIC not in head:
        raise PDFRejected(
            _("This is not a PDF file (its content does not start like one), whatever its name.")
        )
    stream.seek(max(0, size - TRAILER_WINDOW))
    if b"%%EOF" not in stream.read(TRAILER_WINDOW):
        raise PDFRejected(
            _("The PDF is incomplete (it does not end properly); it may have been cut short.")
        )
    stream.seek(0)
    data = stream.read()
    stream.seek(0)

    from proposals import pdfguard

    try:
        checked = pdfguard.check(data)
    except pdfguard.Encrypted:
        raise PDFRejected(
            _("The PDF is encrypted or password-protected. Upload it without a password.")
        ) from None
    except pdfguard.TooComplex:
        raise PDFTooComplex(too_complex_message()) from None
    except pdfguard.Damaged:  # any failure to parse a hostile file means "damaged"
        raise PDFRejected(_("The PDF could not be read; it seems to be damaged.")) from None
    if checked.pages == 0:
        raise PDFRejected(_("The PDF has no pages."))
    return PDFInfo(
        size=size,
        pages=checked.pages,
        sha256=hashlib.sha256(data).hexdigest(),
        active_content=checked.active_content,
    )


def human_size(size: int) -> str:
    """ "20.0 MB", "49 KB", "512 bytes", in the reader's locale ("20,0 MB" in Spanish)."""
    return formatting.file_size(size)
