"""The readiness check's Celery ping and the metrics' queue length, against the local Redis
broker: a broker with no worker makes readiness 503 within the check's budget, a real worker
makes it 200; a task waiting in the broker shows in /metrics."""

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rfp_portal import health
from rfp_portal.celery import app
from tests.helpers.broker import DEAD_BROKER

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

TOKEN = "q" * 32


def test_a_broker_without_a_worker_makes_readiness_503_within_the_budget(client, live_broker):
    started = time.monotonic()
    response = client.get("/health/ready/")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["celery"] == "unavailable"
    assert checks["database"] == "working"
    assert elapsed < health.CHECK_SECONDS + 1.5, elapsed
    assert "127.0.0.1" not in response.content.decode()


def test_a_dead_broker_makes_readiness_503_within_the_budget(client, broker_conf):
    broker_conf(DEAD_BROKER)
    started = time.monotonic()
    response = client.get("/health/ready/")
    assert time.monotonic() - started < health.CHECK_SECONDS + 1.5
    assert response.status_code == 503
    assert response.json()["checks"]["celery"] == "unavailable"


def test_a_running_worker_answers_the_ping(client, worker):
    response = client.get("/health/ready/")
    assert response.json()["checks"]["celery"] == "working", response.content
    assert response.status_code == 200


def _queue_length(client) -> float:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == "rfp_portal_celery_queue_length":
                assert sample.labels == {"queue": "celery"}
                return sample.value
    raise AssertionError("no queue length in the metrics")


def test_tasks_waiting_in_the_broker_show_as_the_queue_length(client, settings, live_broker):
    settings.METRICS_TOKEN = TOKEN
    assert _queue_length(client) == 0
    app.send_task("rfp_portal.tasks.sweep_outbox")
    app.send_task("rfp_portal.tasks.sweep_outbox", priority=6)  # kombu: a list of its own
    assert _queue_length(client) == 2
