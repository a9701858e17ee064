"""A worker process that dies in the middle of a PDF render: the task runs again, one file results.

The worker here is a real `celery worker` process (prefork pool, one child), started the way
docker-compose starts it, on the test database and the local Redis. The render is held at a known
point by a row lock the test takes on the export, so the kill lands mid-render every time.
"""

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from evaluation import export_requests
from evaluation.models import Export
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(settings.BASE_DIR)


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()]


@pytest.fixture
def worker_process(live_broker, tmp_path):
    """`celery -A rfp_portal worker` as its own process, on this test's database and media."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rfp_portal.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": (
            f"sqlite:///{db['NAME']}"
            if connection.vendor == "sqlite"
            else f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": live_broker,
        "VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed after the process ends
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "rfp_portal",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_until(lambda: len(_children(process.pid)) == 1, timeout=60), (
            "the worker did not start its pool child"
        )
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        print((tmp_path / "worker.log").read_text()[-4000:])


def _export_state(pk):
    return Export.objects.filter(pk=pk).values("state", "progress", "attempts").get()


def test_a_worker_killed_mid_render_leaves_one_file_and_the_task_runs_again(
    worker_process, open_rfp, staff
):
    rfp = open_rfp
    owners = [UserFactory(email=f"team{i}@team{i}.example.io") for i in range(4)]
    for i, owner in enumerate(owners):
        submitted_proposal(rfp, owner, f"Proposal {i}")
    open_now(rfp)

    exports_dir = Path(settings.MEDIA_ROOT) / "exports"
    before = {p.name for p in exports_dir.glob(f"{rfp.slug}-bundle-*")}
    export = export_requests.request_export(rfp=rfp, kind="bundle", user=staff, now=timezone.now())
    # The worker picks the task up and starts rendering.
    assert wait_until(lambda: _export_state(export.pk)["state"] == "running", timeout=60)

    child = _children(worker_process.pid)[0]
    with transaction.atomic():
        # Hold the export row: the render's next progress update waits here, mid-render.
        Export.objects.select_for_update().get(pk=export.pk)
        time.sleep(1.0)
        held = _export_state(export.pk)
        # Still rendering: the last proposal's progress (95) and the file are not reached yet.
        assert held["state"] == "running" and held["progress"] < 95, held
        os.kill(child, signal.SIGKILL)
        assert wait_until(lambda: child not in _children(worker_process.pid), timeout=10)
    # The pool notices the lost child and requeues the task (acks_late + reject_on_worker_lost);
    # a new child renders the export from the start.
    assert wait_until(lambda: _export_state(export.pk)["state"] == "done", timeout=90), (
        _export_state(export.pk)
    )
    export.refresh_from_db()
    assert export.attempts == 2
    assert export.progress == 100 and export.problems == []

    # Exactly one new file (other tests of this session may have stored bundles of their own).
    stored = {p.name for p in exports_dir.glob(f"{rfp.slug}-bundle-*")} - before
    assert stored == {Path(export.file.name).name}
    with default_storage.open(export.file.name, "rb") as handle:
        names = zipfile.ZipFile(handle).namelist()
    assert len(names) == 4 and all(n.endswith("-summary-and-proposal.pdf") for n in names)
