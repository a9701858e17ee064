"""Prometheus metrics at /metrics, for the operator's scraper only.

Two kinds of figures:

- Requests, per process: RequestMetricsMiddleware counts requests by method and status class
  and times them by the URL pattern's name (never the raw path: the label set stays bounded
  by the URLconf; an address that resolves to no pattern is "unresolved"). With several
  gunicorn workers, set PROMETHEUS_MULTIPROC_DIR (an empty directory, emptied at each start):
  prometheus_client then keeps each worker's figures in files there and a scrape adds them up.
  Without it, the process's own registry is shown (with its process_* and python_* figures).
- The portal's own, read from the database at scrape time (PortalCollector), so every web node
  and worker tells the same: versions submitted, receipts signed, the outbox's queued and
  failed mails and the age of the oldest queued one, exports by state and how long the finished
  ones took from request to file, and, with a Redis broker, the length of the Celery queue.
  The queries are few and fixed (three, whatever the number of proposals); nothing is labelled
  by RFP or proposal, so the figures tell nothing about who bid on what.

Nobody reads them without `Authorization: Bearer <METRICS_TOKEN>`: without the header, with
another token, or when METRICS_TOKEN is empty, /metrics answers the portal's usual 404, as for
an address that does not exist. A staff session does not open it either.

The core may not import the apps above it (the `layers` contract): the collector names their
models by label (apps.get_model), as the root URLconf names their URL modules, and only counts
rows: no rule of theirs is involved.
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from rfp_portal.models import OutboxMessage

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Request latencies: a page is fast under 0.25 s; a submit with its PDF check can take seconds.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Exports from request to file: seconds for a CSV, minutes for a ZIP of every proposal.
EXPORT_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)

REQUESTS = Counter(
    "rfp_portal_http_requests",
    "HTTP requests answered, by method and status class.",
    ["method", "status"],
)
LATENCY = Histogram(
    "rfp_portal_http_request_duration_seconds",
    "Time to answer a request, by the name of the URL pattern that answered it.",
    ["view"],
    buckets=LATENCY_BUCKETS,
)


class RequestMetricsMiddleware:
    """Counts and times every request that reaches the portal (the probes excepted: they are
    answered before, by rfp_portal.health.ProbeMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(method=method, status=f"{response.status_code // 100}xx").inc()
        match = getattr(request, "resolver_match", None)
        LATENCY.labels(view=(match.view_name if match else "") or "unresolved").observe(elapsed)
        return response


def _model(label: str):
    return apps.get_model(label)


class PortalCollector:
    """The portal's figures, read from the database (and the broker) at each scrape."""

    def describe(self) -> list:
        return []  # nothing is read when registered: only at a scrape

    def collect(self) -> Iterator:
        yield from self._submissions()
        yield from self._outbox()
        yield from self._exports()
        yield from self._queue()

    def _submissions(self) -> Iterator:
        version = _model("proposals.SubmissionVersion")
        figures = version.objects.aggregate(versions=Count("pk"), receipts=Count("signature"))
        submitted = CounterMetricFamily(
            "rfp_portal_submissions", "Proposal versions submitted (each submit makes one)."
        )
        submitted.add_metric([], figures["versions"])
        yield submitted
        receipts = CounterMetricFamily(
            "rfp_portal_receipts_issued", "Receipts issued (signed statements of a submit)."
        )
        receipts.add_metric([], figures["receipts"])
        yield receipts

    def _outbox(self) -> Iterator:
        now = timezone.now()
        figures = OutboxMessage.objects.aggregate(
            queued=Count("pk", filter=Q(state=OutboxMessage.State.QUEUED)),
            failed=Count("pk", filter=Q(state=OutboxMessage.State.FAILED)),
            oldest=Min("created_at", filter=Q(state=OutboxMessage.State.QUEUED)),
        )
        messages = GaugeMetricFamily(
            "rfp_portal_outbox_messages",
            "Mails in the outbox not sent yet: queued, or failed and retried.",
            labels=["state"],
        )
        messages.add_metric(["queued"], figures["queued"])
        messages.add_metric(["failed"], figures["failed"])
        yield messages
        age = GaugeMetricFamily(
            "rfp_portal_outbox_oldest_queued_age_seconds",
            "How long the oldest queued mail has waited (0 when none waits).",
        )
        oldest = figures["oldest"]
        age.add_metric([], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        yield age

    def _exports(self) -> Iterator:
        export = _model("evaluation.Export")
        done = Q(state="done", finished_at__isnull=False)
        buckets = {
            f"le_{index}": Count(
                "pk", filter=done & Q(finished_at__lte=F("created_at") + timedelta(seconds=limit))
            )
            for index, limit in enumerate(EXPORT_BUCKETS)
        }
        duration = ExpressionWrapper(F("finished_at") - F("created_at"), DurationField())
        rows = list(
            export.objects.order_by()
            .values("kind", "state")
            .annotate(rows=Count("pk"), seconds=Sum(duration, filter=done), **buckets)
        )
        by_state = GaugeMetricFamily(
            "rfp_portal_exports", "Staff exports by state.", labels=["state"]
        )
        counts = {state: 0 for state in export.State.values}
        for row in rows:
            counts[row["state"]] = counts.get(row["state"], 0) + row["rows"]
        for state, count in sorted(counts.items()):
            by_state.add_metric([state], count)
        yield by_state
        durations = HistogramMetricFamily(
            "rfp_portal_export_duration_seconds",
            "Finished exports: time from the request to the file, by kind.",
            labels=["kind"],
        )
        for row in sorted(rows, key=lambda r: r["kind"]):
            if row["state"] != "done":
                continue
            cumulative = [
                (str(float(limit)), row[f"le_{i}"]) for i, limit in enumerate(EXPORT_BUCKETS)
            ]
            cumulative.append(("+Inf", row["rows"]))
            total = row["seconds"]
            durations.add_metric(
                [row["kind"]], cumulative, sum_value=total.total_seconds() if total else 0.0
            )
        yield durations

    def _queue(self) -> Iterator:
        from rfp_portal.celery import app

        url = app.conf.broker_url or ""
        if app.conf.task_always_eager or not url.startswith(("redis://", "rediss://")):
            return
        queue = app.conf.task_default_queue or "celery"
        up = GaugeMetricFamily(
            "rfp_portal_celery_broker_up", "1 when the Redis broker answered this scrape."
        )
        try:
            length = queue_length(url, queue)
        except Exception as error:
            logger.warning("Celery queue length not read: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        depth = GaugeMetricFamily(
            "rfp_portal_celery_queue_length",
            "Tasks waiting in the broker's queue (not yet taken by a worker).",
            labels=["queue"],
        )
        depth.add_metric([queue], length)
        yield depth


# kombu's Redis transport keeps a queue's priorities in lists of their own: the queue's name,
# then the name, this separator and the priority step (3, 6, 9 by default).
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


def queue_length(url: str, queue: str) -> int:
    """The tasks waiting in a Celery queue on a Redis broker (LLEN of its lists), within 1 s."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        names = [
            queue if step == 0 else f"{queue}{_PRIORITY_SEPARATOR}{step}"
            for step in _PRIORITY_STEPS
        ]
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
        return sum(pipe.execute())
    finally:
        client.close()


_PORTAL = CollectorRegistry(auto_describe=False)
_PORTAL.register(PortalCollector())


def _request_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition() -> HttpResponse:
    """The text Prometheus reads: this process's (or every worker's) requests, then the
    portal's figures."""
    body = generate_latest(_request_registry()) + generate_latest(_PORTAL)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def authorized(request: HttpRequest) -> bool:
    """The request carries `Authorization: Bearer <METRICS_TOKEN>` and the token is set."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """/metrics for whoever holds the token; for everyone else, the same 404 as a missing page."""
    if not authorized(request):
        raise Http404
    return exposition()
