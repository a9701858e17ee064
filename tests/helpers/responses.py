"""What a response shows a person: its text (a PDF's extracted text), and its file name."""

import io

from pypdf import PdfReader


def body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if (
        response.get("Content-Type", "").startswith("application/pdf")
        and response.status_code == 200
    ):
        reader = PdfReader(io.BytesIO(content))
        return "\n".join(page.extract_text() for page in reader.pages) + response.get(
            "Content-Disposition", ""
        )
    return content.decode("utf-8", "replace") + response.get("Content-Disposition", "")
