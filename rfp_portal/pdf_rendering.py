"""PDF rendering with WeasyPrint that can fetch nothing but the portal's own static files."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

# A scheme of letters only: ManifestStaticFilesStorage (collectstatic in production) leaves such
# URLs in static/css/pdf.css alone instead of failing on them.
STATIC_PREFIX = "portalstatic:"


class FetchRefused(ValueError):
    pass


def _static_bytes(url: str) -> tuple[bytes, str]:
    if not url.startswith(STATIC_PREFIX):
        raise FetchRefused(f"refused to fetch a {urlsplit(url).scheme or 'relative'} URL")
    path = url[len(STATIC_PREFIX) :].lstrip("/")
    if ".." in path.split("/"):
        raise FetchRefused("refused a path outside static files")
    found = finders.find(path)
    if not found:
        raise FetchRefused(f"no static file {path}")
    with open(found, "rb") as handle:
        data = handle.read()
    mime = {
        ".css": "text/css",
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".ttf": "font/ttf",
        ".woff2": "font/woff2",
    }.get("." + path.rsplit(".", 1)[-1], "application/octet-stream")
    return data, mime


def static_only_fetcher():
    """WeasyPrint's URL fetcher: only portalstatic:<path> of the app's own static files.

    Anything else (http, file, data from user content) is refused, so no document can make the
    renderer read the disk or the network.
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            data, mime = _static_bytes(url)
            return URLFetcherResponse(url, body=data, headers={"Content-Type": mime})

    return StaticOnlyFetcher()


# Tagged PDF (PDF/UA-1): a structure tree for screen readers, the document's language and its
# title shown as the window title. Templates set <html lang> and <title>.
PDF_VARIANT = "pdf/ua-1"

_fonts = threading.local()


def _font_config():
    """WeasyPrint's font configuration, one per thread and kept. A new one per render (its
    default) leaves some 0.2 MB behind each time, which a worker rendering thousands of receipts
    or a 300-proposal export keeps (bench/zip_export.py: 323 MB peak with one per render, 252 MB
    shared). Sharing is safe: it loads each @font-face of static/css/pdf.css once and returns at
    once for one it already holds. Its temporary font folder goes when the process ends."""
    from weasyprint.text.fonts import FontConfiguration

    config = getattr(_fonts, "config", None)
    if config is None:
        config = _fonts.config = FontConfiguration()
        atexit.register(config.__del__)
    return config


def render_pdf(
    template: str, context: dict, *, attachments: Sequence[tuple[str, bytes, str]] = ()
) -> bytes:
    """Render a template to a tagged (PDF/UA-1) PDF. The template gets LANGUAGE_CODE (the active
    language, for <html lang>) and static_prefix. `attachments`: (file name, bytes,
    description) of files embedded in the PDF (the receipt carries its signed .json)."""
    from weasyprint import HTML, Attachment

    context = {
        "LANGUAGE_CODE": translation.get_language() or settings.LANGUAGE_CODE,
        **context,
        "static_prefix": STATIC_PREFIX,
    }
    html = render_to_string(template, context)
    embedded = [
        Attachment(string=data, name=name, description=description)
        for name, data, description in attachments
    ]
    return HTML(string=html, base_url=STATIC_PREFIX, url_fetcher=static_only_fetcher()).write_pdf(
        pdf_variant=PDF_VARIANT, attachments=embedded, font_config=_font_config()
    )
