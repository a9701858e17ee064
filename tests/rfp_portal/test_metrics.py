"""/metrics (rfp_portal.metrics): hidden (404) without the right bearer token, the same 404 as
an address that does not exist; with it, the request figures and the portal's own, read from
the database by a fixed number of queries whatever the number of proposals."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from evaluation.models import Export
from rfp_portal.models import OutboxMessage
from tests.factories import ProposalFactory, RFPFactory
from tests.helpers.proposals import submitted_proposal

TOKEN = "m" * 20 + "3tr1cs-t0ken-f0r-tests"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    return figures(response.content.decode())


def figures(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of an exposition."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer wrong-token-of-the-same-kind-000000000000",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        "Bearer ",
    ],
)
def test_metrics_are_a_404_without_the_right_token(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 404
    unknown = client.get("/no-such-page", **extra)
    assert unknown.status_code == 404
    assert b"rfp_portal_" not in response.content


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_even_for_staff(client, settings, staff):
    settings.METRICS_TOKEN = ""
    client.force_login(staff)
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_a_staff_session_does_not_open_the_metrics(client, token, staff):
    client.force_login(staff)
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_a_real_submission_moves_the_figures(client, token, open_rfp, proposer):
    before = scrape(client)
    assert value(before, "rfp_portal_submissions_total") == 0
    submitted_proposal(open_rfp, proposer, "Counted proposal")
    after = scrape(client)
    assert value(after, "rfp_portal_submissions_total") == 1
    assert value(after, "rfp_portal_receipts_issued_total") == 1


@pytest.mark.django_db
def test_outbox_and_export_figures(client, token):
    now = timezone.now()
    OutboxMessage.objects.create(
        idempotency_key="q", to="a@example.org", subject="s", body_text="b",
        created_at=now - timedelta(minutes=10),
    )  # fmt: skip
    OutboxMessage.objects.create(
        idempotency_key="f", to="b@example.org", subject="s", body_text="b",
        state=OutboxMessage.State.FAILED,
    )  # fmt: skip
    rfp = RFPFactory()
    for seconds in (3, 20, 4000):
        Export.objects.create(
            rfp=rfp, kind=Export.Kind.SCORES, state=Export.State.DONE,
            created_at=now - timedelta(seconds=seconds), finished_at=now,
        )  # fmt: skip
    Export.objects.create(rfp=rfp, kind=Export.Kind.BUNDLE, state=Export.State.RUNNING)

    found = scrape(client)
    assert value(found, "rfp_portal_outbox_messages", state="queued") == 1
    assert value(found, "rfp_portal_outbox_messages", state="failed") == 1
    assert 590 < value(found, "rfp_portal_outbox_oldest_queued_age_seconds") < 700
    assert value(found, "rfp_portal_exports", state="done") == 3
    assert value(found, "rfp_portal_exports", state="running") == 1
    name = "rfp_portal_export_duration_seconds"
    assert value(found, f"{name}_bucket", kind="scores", le="5.0") == 1
    assert value(found, f"{name}_bucket", kind="scores", le="30.0") == 2
    assert value(found, f"{name}_bucket", kind="scores", le="3600.0") == 2
    assert value(found, f"{name}_bucket", kind="scores", le="+Inf") == 3
    assert value(found, f"{name}_count", kind="scores") == 3
    assert value(found, f"{name}_sum", kind="scores") == pytest.approx(4023, abs=1)
    assert (f"{name}_count", frozenset({("kind", "bundle")})) not in found  # not finished


@pytest.mark.django_db
def test_requests_are_counted_by_status_class_and_timed_by_view_name(client, token):
    before = scrape(client)
    client.get("/")
    client.get("/no-such-page-12345")
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("rfp_portal_http_requests_total", method="GET", status="2xx") >= 1
    assert grew("rfp_portal_http_requests_total", method="GET", status="4xx") >= 1
    latency = "rfp_portal_http_request_duration_seconds_count"
    assert grew(latency, view="home") == 1
    assert grew(latency, view="unresolved") == 1
    # Labels never carry a raw path.
    assert not any("no-such-page" in str(labels) for _, labels in after)


def _proposals(count: int) -> None:
    for _ in range(count):
        ProposalFactory(submitted=True)


@pytest.mark.django_db
def test_the_collector_runs_the_same_few_queries_for_1_and_50_proposals(client, token):
    counts = []
    for total in (1, 50):
        _proposals(total - ProposalFactory._meta.model.objects.count())
        with CaptureQueriesContext(connection) as queries:
            found = scrape(client)
        assert value(found, "rfp_portal_submissions_total") == total
        counts.append(len(queries))
    # versions and receipts, the outbox, the exports: nothing per proposal, nothing per row
    assert counts == [3, 3], counts


def test_gunicorn_workers_are_added_up_in_multiprocess_mode(tmp_path):
    """Two processes (as two gunicorn workers) count requests into PROMETHEUS_MULTIPROC_DIR;
    a scrape answered by a third sees both."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    setup = "import django\ndjango.setup()\n"
    count = setup + (
        "from rfp_portal import metrics\n"
        "metrics.REQUESTS.labels(method='GET', status='2xx').inc({n})\n"
    )
    for n in (2, 3):
        subprocess.run(
            [sys.executable, "-c", count.format(n=n)], env=env, cwd=ROOT, check=True, timeout=60
        )
    read = setup + (
        "from prometheus_client import generate_latest\n"
        "from rfp_portal import metrics\n"
        "print(generate_latest(metrics._request_registry()).decode())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", read], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    found = figures(result.stdout)
    assert value(found, "rfp_portal_http_requests_total", method="GET", status="2xx") == 5
