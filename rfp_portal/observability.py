"""Logs a machine reads, a request id to find one request's lines, and optional error reports.

- logging_config(): the LOGGING dict. With LOG_FORMAT=json (the default when
  DJANGO_ENV=production) every line on the console is one JSON object (python-json-logger):
  time, level, logger, message, the request id and whatever the call added; text otherwise
  (the demo and the tests).
- RequestIdMiddleware: each request gets an id (the proxy's X-Request-ID when it sends a sane
  one, else a new one), put on the log lines written while it runs and sent back in the
  response's X-Request-ID.
- init_error_reporting(): Sentry (or a compatible service) when SENTRY_DSN is set, off
  otherwise. No personal data is sent: send_default_pii=False (no user, cookies or IP address),
  no request bodies (a draft's text or an upload is never sent) and no local variables of the
  stack frames (they can hold proposal text).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

LOG_FORMATS = ("text", "json")
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-" outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


def _forget_request_id(**kwargs: Any) -> None:
    _request_id.set("")


class RequestIdMiddleware:
    """The id stays set until the response is finished (request_finished), so the line Django
    writes after the middleware (e.g. "Not Found: /x" by django.request) carries it too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        request_finished.connect(_forget_request_id, dispatch_uid="rfp_portal.request_id")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex
        request.request_id = request_id
        _request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: one console handler, text or JSON, on the root logger (the django,
    celery and portal loggers propagate to it)."""
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if log_format == "json"
        else {"format": "%(message)s"}  # as the demo always printed
    )
    loggers: dict[str, dict] = {
        "django.db.backends": {"level": "WARNING"},
        # One line per task at INFO drowns the demo's output when tasks run in-process.
        "celery.app.trace": {"level": "WARNING"},
        "kombu.connection": {"level": "ERROR"},
        # WeasyPrint reports every step of every PDF ("Step 5 - Creating layout - Page 1")
        # at INFO.
        "weasyprint.progress": {"level": "WARNING"},
    }
    if log_format == "json":
        # Django's own console handlers (on "django" with DEBUG, and runserver's) would print
        # the same records again as text: in JSON mode everything goes through the root's.
        loggers["django"] = {"handlers": [], "level": "INFO", "propagate": True}
        loggers["django.server"] = {"handlers": [], "level": "INFO", "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "rfp_portal.observability.RequestIdFilter"}},
        "formatters": {"portal": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "portal",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": loggers,
    }


def init_error_reporting(*, dsn: str, environment: str, traces_sample_rate: float) -> None:
    """Start the Sentry SDK with the Django and Celery integrations, sending no personal data."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
    )
