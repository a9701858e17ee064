"""PDF files for tests, made on the fly with pypdf (no files checked in)."""

import io

from pypdf import PdfWriter


def make_pdf(pages: int = 2, *, padding: int = 0) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    if padding:
        # Embedded bytes make the file as large as a test needs while staying a valid PDF.
        writer.add_attachment("padding.bin", b"\0" * padding)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.encrypt("secret-password")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def truncated_pdf() -> bytes:
    data = make_pdf(3)
    return data[: len(data) // 2]
