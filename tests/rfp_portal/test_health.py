"""/health/live/ and /health/ready/ (rfp_portal.health): what they answer, that a failing check
makes readiness 503 without telling why in public, that a check which hangs costs its budget
and no more, and that neither ALLOWED_HOSTS nor the https redirect stops a container's probe.

The readiness checks run in threads with database connections of their own, so the tests that
write rows for them to read commit those rows (transaction=True)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from rfp_portal.models import OutboxMessage

DEMO_CHECKS = {"database", "cache", "storage", "outbox"}  # no Celery ping: tasks run eagerly


def test_liveness_answers_ok_and_asks_no_database(client):
    # No django_db mark: pytest-django refuses any database access in this test.
    response = client.get("/health/live/")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]


@override_settings(ALLOWED_HOSTS=["rfp.example.org"], SECURE_SSL_REDIRECT=True)
def test_a_container_probe_passes_host_checks_and_the_https_redirect(client):
    """Inside the container the probe says Host: localhost over plain http; a page asked that
    way is refused (400) or redirected, the probe is answered."""
    assert client.get("/accounts/login/", HTTP_HOST="localhost:8000").status_code == 400
    page = client.get("/accounts/login/", HTTP_HOST="rfp.example.org")
    assert page.status_code == 301 and page["Location"].startswith("https://")
    probe = client.get("/health/live/", HTTP_HOST="localhost:8000")
    assert probe.status_code == 200 and probe.content == b"ok"
    assert client.get("/health/live/", HTTP_HOST="web").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_readiness_on_the_demo_configuration_is_working(client):
    """SQLite or PostgreSQL, the local-memory cache, files on disk, eager Celery: no service."""
    response = client.get("/health/ready/")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "working",
        "checks": dict.fromkeys(DEMO_CHECKS, "working"),
    }


@pytest.mark.django_db(transaction=True)
def test_readiness_is_503_when_storage_cannot_be_written(client, settings, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    unwritable = blocker / "media"  # under a file: no one can create it, root included
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(unwritable)},
        },
    }
    with caplog.at_level(logging.WARNING):
        response = client.get("/health/ready/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"] == "unavailable"
    assert body["checks"]["database"] == "working"
    # The public answer names the check, not the error or the path; the log has them.
    assert str(tmp_path) not in response.content.decode()
    assert "Error" not in response.content.decode()
    assert "Readiness check storage" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_an_old_queued_mail_makes_readiness_503_and_a_failed_one_a_warning(client, settings):
    settings.HEALTH_OUTBOX_MAX_AGE_MINUTES = 15
    now = timezone.now()
    fresh = OutboxMessage.objects.create(
        idempotency_key="fresh", to="a@example.org", subject="s", body_text="b", created_at=now
    )
    assert client.get("/health/ready/").json()["checks"]["outbox"] == "working"

    failed = OutboxMessage.objects.create(
        idempotency_key="failed",
        to="b@example.org",
        subject="s",
        body_text="b",
        state=OutboxMessage.State.FAILED,
        last_error="SMTPServerDisconnected: mail.internal.example:25",
    )
    response = client.get("/health/ready/")
    assert response.status_code == 200  # retried by the sweeper: worth a look, not an outage
    assert response.json()["checks"]["outbox"] == "warning"
    assert "mail.internal" not in response.content.decode()

    OutboxMessage.objects.filter(pk=fresh.pk).update(created_at=now - timedelta(minutes=16))
    response = client.get("/health/ready/")
    assert response.status_code == 503
    assert response.json()["checks"]["outbox"] == "unavailable"

    OutboxMessage.objects.filter(pk__in=[fresh.pk, failed.pk]).update(
        state=OutboxMessage.State.SENT
    )
    assert client.get("/health/ready/").status_code == 200


class _SilentServer:
    """A TCP server that accepts connections and never answers: a cache that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.mark.django_db(transaction=True)
def test_a_hanging_cache_costs_its_budget_not_the_request(client, settings):
    from rfp_portal import health

    server = _SilentServer()
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            }
        }
        started = time.monotonic()
        response = client.get("/health/ready/")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "unavailable"
    assert response.json()["checks"]["database"] == "working"
    # Each check's budget, plus the second the library grants a client's own timeout.
    assert elapsed < health.CHECK_SECONDS + 1.5, elapsed


@pytest.mark.django_db(transaction=True)
def test_readiness_without_a_host_the_portal_serves(client):
    with override_settings(ALLOWED_HOSTS=["rfp.example.org"]):
        response = client.get("/health/ready/", HTTP_HOST="localhost:8000")
    assert response.status_code == 200
