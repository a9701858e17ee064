"""Liveness and readiness for operators, container health checks and load balancers.

/health/live/ answers "ok" from the process alone: no database, cache or broker is asked, so a
container is restarted only when the process itself is stuck. /health/ready/ runs
django-health-check's checks (health_check.HealthCheck) at once, each in a thread of its own
and each bounded by CHECK_SECONDS (the library waits one second more for a check's own client
timeout): the database (SELECT 1), the cache (Redis in production: set, get, delete), the
default storage (a tiny file written, read and deleted), a Celery ping (only with a real
broker: with CELERY_TASK_ALWAYS_EAGER there is no worker to ask) and the outbox backlog. It
answers 200 when every check works (a warning included) and 503 otherwise. The public answer
names each check and says working, warning or unavailable: never an exception's text or a
host name, which go to the log (logger "rfp_portal.health" and the library's "health_check").

ProbeMiddleware answers both, and an authorized /metrics (rfp_portal.metrics), before the rest
of the middleware: a check from inside the container or the private network (Host: localhost
or the service's name, plain http) is neither refused by ALLOWED_HOSTS nor redirected to https
by SECURE_SSL_REDIRECT. The same views are in the URLconf, so reverse() and the authorization
matrix know them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from health_check import checks
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView

from rfp_portal import metrics
from rfp_portal.models import OutboxMessage

logger = logging.getLogger(__name__)

# The budget of each readiness check; the whole answer takes at most about one more second.
CHECK_SECONDS = 1
_BUDGET = datetime.timedelta(seconds=CHECK_SECONDS)

WORKING, WARNING, UNAVAILABLE = "working", "warning", "unavailable"


def _close_thread_connections() -> None:
    """A check's thread opened its own database connections: close them, or each probe would
    leave one behind."""
    for connection in connections.all(initialized_only=True):
        connection.close()


@dataclasses.dataclass
class Database(checks.Database):
    """SELECT 1 on a connection of its own (the library's check), within the budget."""

    name = "database"
    timeout = _BUDGET


@dataclasses.dataclass
class Cache(HealthCheck):
    """Set, read back and delete a key in the default cache (Redis in production).

    Synchronous on purpose: it runs in a thread of the check pool, so a cache that does not
    answer costs the budget, not the request (the library's check awaits the cache's async API,
    which waits on the request's own thread).
    """

    name = "cache"
    timeout = _BUDGET

    def run(self) -> None:
        cache = caches["default"]
        key = f"health-check:{uuid.uuid4().hex}"
        try:
            cache.set(key, "ok", timeout=30)
            kept = cache.get(key) == "ok"
            cache.delete(key)
        except Exception as error:
            raise ServiceUnavailable(
                f"the cache did not answer ({type(error).__name__})"
            ) from error
        if not kept:
            raise ServiceUnavailable("the cache did not keep a value")


@dataclasses.dataclass
class Storage(checks.Storage):
    """Write, read and delete a small file in the default storage (S3 in production)."""

    name = "storage"
    timeout = _BUDGET


@dataclasses.dataclass
class CeleryPing(HealthCheck):
    """At least one worker answers a ping through the broker within the budget."""

    name = "celery"
    timeout = _BUDGET

    def run(self) -> None:
        from rfp_portal.celery import app

        try:
            replies = app.control.ping(timeout=CHECK_SECONDS, limit=1)
        except Exception as error:
            raise ServiceUnavailable(
                f"the broker did not answer ({type(error).__name__})"
            ) from error
        if not replies:
            raise ServiceUnavailable(f"no worker answered a ping within {CHECK_SECONDS} s")


@dataclasses.dataclass
class OutboxBacklog(HealthCheck):
    """Mail leaves the outbox: none has waited longer than HEALTH_OUTBOX_MAX_AGE_MINUTES
    (unavailable: workers, broker or the mail server are down), and none is failing (a
    warning: the sweeper retries them; the admin's outbox shows the error)."""

    name = "outbox"
    timeout = _BUDGET

    def run(self) -> None:
        minutes = settings.HEALTH_OUTBOX_MAX_AGE_MINUTES
        cutoff = timezone.now() - datetime.timedelta(minutes=minutes)
        try:
            figures = OutboxMessage.objects.aggregate(
                stale=Count(
                    "pk", filter=Q(state=OutboxMessage.State.QUEUED, created_at__lt=cutoff)
                ),
                failed=Count("pk", filter=Q(state=OutboxMessage.State.FAILED)),
            )
        finally:
            _close_thread_connections()
        if figures["stale"]:
            raise ServiceUnavailable(
                f"{figures['stale']} mail(s) queued more than {minutes} minutes ago are not sent"
            )
        if figures["failed"]:
            raise ServiceWarning(f"{figures['failed']} mail(s) failed to send and are retried")


def readiness_checks() -> list[HealthCheck]:
    """The checks, in the order the answer names them."""
    from rfp_portal.celery import app

    found: list[HealthCheck] = [Database(), Cache(), Storage()]
    if not app.conf.task_always_eager:
        found.append(CeleryPing())
    found.append(OutboxBacklog())
    return found


def _outcome(error) -> str:
    if error is None:
        return WORKING
    return WARNING if isinstance(error, ServiceWarning) else UNAVAILABLE


class ReadinessView(HealthCheckView):
    """django-health-check's view, run in a pool of its own and answered without details."""

    def get_checks(self) -> Iterator[HealthCheck]:
        yield from readiness_checks()

    @contextlib.contextmanager
    def get_executor(self) -> Iterator[ThreadPoolExecutor]:
        executor = ThreadPoolExecutor(max_workers=5, thread_name_prefix="readiness")
        try:
            yield executor
        finally:
            # A check past its budget is abandoned, not waited for: the answer stays bounded.
            executor.shutdown(wait=False, cancel_futures=True)

    async def get(self, request, *args, **kwargs):
        found = list(self.get_checks())
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for check in found))
        answers = {result.check.name: _outcome(result.error) for result in results}
        ready = UNAVAILABLE not in answers.values()
        for result in results:
            if result.error is not None:
                logger.warning(
                    "Readiness check %s: %s (%.2f s)",
                    result.check.name,
                    result.error,
                    result.time_taken,
                )
        return JsonResponse(
            {"status": WORKING if ready else UNAVAILABLE, "checks": answers},
            status=200 if ready else 503,
        )


@never_cache
def live(request: HttpRequest) -> HttpResponse:
    """The process answers: nothing else is asked."""
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


ready = ReadinessView.as_view()


def _answer_ready(request: HttpRequest) -> HttpResponse:
    """The async readiness view from synchronous code. Under gunicorn's sync workers no event
    loop runs in the thread; where one does (a process that also drives an asyncio library in
    its main thread, as the test suite's browser does), asgiref refuses to start a second one
    there, so the view runs in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(ready)(request)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="readiness-view") as pool:
        return pool.submit(async_to_sync(ready), request).result()


class ProbeMiddleware:
    """Answers the probes first (see the module's docstring); first in MIDDLEWARE.

    /metrics is answered here only with the right token; otherwise the request goes on through
    the whole stack to the URLconf's view, which answers the same 404 as any unknown address.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == "/health/live/":
            return live(request)
        if path == "/health/ready/":
            return _answer_ready(request)
        if path == "/metrics" and request.method in ("GET", "HEAD") and metrics.authorized(request):
            return metrics.exposition()
        return self.get_response(request)
