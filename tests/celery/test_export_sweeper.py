"""An export requested while the broker is down: the request succeeds, the export waits as
"queued", and once the broker is back beat's export sweeper has it rendered on a real worker."""

import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db.models import F
from django.utils import timezone

from evaluation import export_requests, exports
from evaluation.models import Export
from evaluation.tasks import sweep_exports
from rfp_portal.celery import app
from rfp_portal.models import AuditEvent
from tests.helpers.broker import BROKER, DEAD_BROKER, broker_answers, flush_broker
from tests.helpers.proposals import open_now
from tests.helpers.required_services import require_or_skip
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_an_export_requested_while_the_broker_is_down_is_produced_later_by_the_sweeper(
    broker_conf, evaluation_setup, staff
):
    if not broker_answers(BROKER):
        require_or_skip(f"Redis does not answer at {BROKER}")
    rfp = evaluation_setup["rfp"]
    open_now(rfp)
    broker_conf(DEAD_BROKER)
    started = time.monotonic()
    export = export_requests.request_export(rfp=rfp, kind="scores", user=staff, now=timezone.now())
    assert time.monotonic() - started < 10  # the request succeeded with the broker down
    export.refresh_from_db()
    assert export.state == "queued" and export.attempts == 0 and not export.file
    # Time passes: the export is stranded (nothing was queued for it).
    Export.objects.filter(pk=export.pk).update(
        created_at=F("created_at") - exports.STRANDED_AFTER - timedelta(seconds=1)
    )

    broker_conf(BROKER)  # the broker is back; beat's sweeper runs on a real worker
    flush_broker()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        sweep_exports.delay()
        assert wait_until(lambda: Export.objects.get(pk=export.pk).state == "done", timeout=60)
        sweep_exports.delay()  # beat fires again: a finished export is not queued again
        time.sleep(1)
    export.refresh_from_db()
    assert export.file and export.attempts == 1
    assert AuditEvent.objects.filter(action="export.finished").count() == 1
