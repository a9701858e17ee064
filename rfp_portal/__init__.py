"""RFP Portal: project package (settings, URLs, Celery app) and cross-cutting services."""

from rfp_portal.celery import app as celery_app

__all__ = ["celery_app"]
