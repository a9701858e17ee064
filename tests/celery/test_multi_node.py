"""Two web nodes and a worker that share only PostgreSQL, Redis and S3.

Two gunicorn processes on two ports, with the production settings (DJANGO_ENV=production,
spoken to over plain HTTP as a TLS proxy would, saying so with X-Forwarded-Proto), and a real
Celery worker process, all on this session's test database, one Redis database of their own
(DB 12: never the suite's 15 nor the benches' 9-11) and a moto S3 server on loopback. Each
process has its own empty MEDIA_ROOT and VAR_DIR: whatever one of them kept on its own disk or
in its own memory, the others could not see, and the journey below would fail.

- A proposer signs in on node A, opens the draft on node B with the same cookie, uploads the PDF
  and submits there; the worker renders the receipt PDF into S3, and both nodes serve it, the
  same bytes; a staff member signs in (password on A, second factor on B), starts the export of
  all proposals on A and downloads the ZIP from B.
- The rate limits count in the shared Redis: failed sign-ins (per account) and receipt checks
  (per address) split over both nodes are refused at the same total as on one node.

PostgreSQL only: the production settings refuse SQLite, and the nodes are separate processes.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse
from django.utils import timezone

from evaluation.models import Export
from proposals import submission
from proposals.models import SubmissionVersion
from proposals.receipts import receipt_pdf_name
from rfp_portal.adapters import SIGN_IN_THROTTLED
from rfp_portal.ratelimits import VERIFY_RECEIPT
from tests.factories import PASSWORD
from tests.helpers.broker import broker_answers
from tests.helpers.lifecycle import pass_deadline
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import complete_answers, form_data, open_now, pdf_upload
from tests.helpers.required_services import require_or_skip
from tests.helpers.smtp_sink import SmtpSink
from tests.helpers.waiting import wait_until

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgresql(reason="the production settings the nodes run with refuse SQLite"),
    pytest.mark.django_db(transaction=True),  # the nodes read what the test commits
]

PROJECT_DIR = Path(settings.BASE_DIR)
BIN_DIR = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379/12"  # the suite uses 15, the benches 9, 10 and 11
BUCKET = "rfp-portal-multi-node"
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
EDIT_RE = re.compile(r'name="edit" value="(\d+)"')
# The start of the portal's message (rfp_portal.adapters.SIGN_IN_THROTTLED, in English).
TOO_MANY = str(SIGN_IN_THROTTLED).split(":")[0]
START_TIMEOUT = 60
# The one name both nodes are reached by, as behind a load balancer: allauth keys the per-account
# sign-in limit by the site's domain, the request's Host when django.contrib.sites is not used.
PUBLIC_HOST = "portal.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Cluster:
    """The processes this module starts (stopped by PID), their logs and their directories."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.media: dict[str, Path] = {}

    def env(self, name: str, shared: dict[str, str]) -> dict[str, str]:
        home = self.tmp / name
        (home / "media").mkdir(parents=True)
        (home / "uploads").mkdir()
        self.media[name] = home / "media"
        return {
            **shared,
            "VAR_DIR": str(home / "var"),
            "MEDIA_ROOT": str(home / "media"),
            "TMPDIR": str(home / "uploads"),
        }

    def start(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            cmd, env=env, cwd=PROJECT_DIR, stdout=log, stderr=subprocess.STDOUT
        )

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")[-4000:]

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{self.log(name)}")

    def base(self, node: str) -> str:
        return f"http://127.0.0.1:{self.ports[node]}"

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _services_or_skip() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        require_or_skip("the nodes need PostgreSQL (the production settings refuse SQLite)")
    if not broker_answers(REDIS_URL):
        require_or_skip(f"Redis does not answer at {REDIS_URL}")
    if not (BIN_DIR / "gunicorn").exists() or not (BIN_DIR / "celery").exists():
        require_or_skip(f"gunicorn or celery is not installed in {BIN_DIR}")
    try:
        import moto.server  # noqa: F401
    except ImportError:
        require_or_skip("moto[server] is not installed (the S3 server on loopback)")


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, _receipt_key, tmp_path_factory):
    """Nodes "a" and "b" (gunicorn, one sync worker each) and "worker" (Celery, solo pool)."""
    import boto3
    import redis
    from django.db import connection
    from moto.server import ThreadedMotoServer

    with django_db_blocker.unblock():
        _services_or_skip()
        db = connection.settings_dict
    tmp = tmp_path_factory.mktemp("multi-node")
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    endpoint = f"http://127.0.0.1:{s3_port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    redis.Redis.from_url(REDIS_URL).flushdb()
    sink = SmtpSink()
    cluster = Cluster(tmp)
    cluster.s3 = client
    cluster.sink = sink
    base_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "AWS_", "PYTEST", "FAST_PASSWORD"))
        and k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "DEBUG")
    }
    shared = {
        **base_env,
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "rfp_portal.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": PUBLIC_HOST,
        "SITE_URL": f"https://{PUBLIC_HOST}",
        # The test session's database (TEST_DATABASE_SUFFIX included): what the test commits,
        # the nodes read.
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "DATABASE_CONN_MAX_AGE": "0",  # no connection outlives a request: the test DB is flushed
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "RECEIPT_KEYS_DIR": str(_receipt_key),
        "STATIC_ROOT": str(tmp / "static"),
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "LOG_LEVEL": "WARNING",
    }
    try:
        collected = subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            env=cluster.env("collectstatic", shared),
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
        )
        assert collected.returncode == 0, collected.stderr[-3000:]
        for node in ("a", "b"):
            cluster.ports[node] = free_port()
            cluster.start(
                node,
                [
                    str(BIN_DIR / "gunicorn"),
                    "rfp_portal.wsgi",
                    "--bind",
                    f"127.0.0.1:{cluster.ports[node]}",
                    "--workers",
                    "1",
                    "--timeout",
                    "120",
                ],
                cluster.env(node, shared),
            )
        cluster.start(
            "worker",
            [
                str(BIN_DIR / "celery"),
                "-A",
                "rfp_portal",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
            ],
            cluster.env("worker", shared),
        )
        for node in ("a", "b"):
            started = wait_until(
                lambda node=node: (
                    listening(cluster.ports[node]) or cluster.procs[node].poll() is not None
                ),
                timeout=START_TIMEOUT,
            )
            cluster.check_alive()
            assert started, f"node {node} does not listen after {START_TIMEOUT} s"
        yield cluster
    finally:
        cluster.stop()
        sink.close()
        s3.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(tmp, ignore_errors=True)


class Visitor:
    """One person's browser: one cookie jar, used against whichever node it is sent to.

    Cookies are kept by hand: the production cookies are Secure, and the nodes are spoken to over
    plain HTTP with the public Host and X-Forwarded-Proto, as a TLS-terminating load balancer
    does."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.cookies: dict[str, str] = {}
        self.http = requests.Session()

    def request(self, node: str, method: str, path: str, **kwargs) -> requests.Response:
        base = self.cluster.base(node)
        origin = f"https://{PUBLIC_HOST}"
        headers = {
            "Host": PUBLIC_HOST,
            "X-Forwarded-Proto": "https",
            "Origin": origin,
            "Referer": origin + path,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        response = self.http.request(
            method, base + path, headers=headers, allow_redirects=False, timeout=60, **kwargs
        )
        for name, value in response.cookies.items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, node: str, path: str) -> requests.Response:
        return self.request(node, "GET", path)

    def post_form(self, node: str, path: str, data, **kwargs) -> requests.Response:
        page = self.get(node, path)
        assert page.status_code == 200, (node, path, page.status_code)
        token = CSRF_RE.search(page.text).group(1)
        if isinstance(data, dict):
            data = {**data, "csrfmiddlewaretoken": token}
        return self.request(node, "POST", path, data=data, **kwargs)

    def sign_in(self, node: str, email: str, password: str) -> requests.Response:
        return self.post_form(
            node, reverse("account_login"), {"login": email, "password": password}
        )


def path_of(response: requests.Response) -> str:
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def fetch_stored(visitor: Visitor, node: str, path: str) -> bytes:
    """A download from a node: a redirect to a short-lived signed S3 URL, then the bytes."""
    response = visitor.get(node, path)
    assert response.status_code == 302, (node, path, response.status_code, response.text[:300])
    signed = response.headers["Location"]
    assert signed.startswith(visitor.cluster.s3.meta.endpoint_url), signed
    assert "Signature=" in signed
    fetched = requests.get(signed, timeout=30)
    assert fetched.status_code == 200, fetched.text[:300]
    return fetched.content


def with_production_password(user) -> None:
    """The suite hashes passwords with MD5 for speed; the nodes, in production, accept only
    their own hashers: store the password with the first of them (with few iterations: each
    failed sign-in below checks it, and a node upgrades it at the first good one)."""
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(PASSWORD, hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])


def bucket_keys(cluster: Cluster) -> list[str]:
    return [o["Key"] for o in cluster.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_a_proposer_and_staff_move_between_nodes_and_nothing_is_kept_on_a_node(
    cluster, open_rfp, proposer, staff
):
    with_production_password(proposer)
    with_production_password(staff)
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Across nodes", now=timezone.now()
    )
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="Across nodes",
        fields=complete_answers(open_rfp),
        document=None,
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )

    # Signed in on A; the session is in the shared database, so B knows the proposer.
    browser = Visitor(cluster)
    signed_in = browser.sign_in("a", proposer.email, PASSWORD)
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert "/accounts/login/" not in path_of(signed_in)
    draft_path = f"/proposals/{proposal.pk}/"
    draft = browser.get("b", draft_path)
    assert draft.status_code == 200, draft.status_code
    assert "Across nodes" in draft.text

    # The PDF uploaded and the proposal submitted on B.
    pdf = pdf_upload(3).read()
    data = form_data(proposal)
    data.update(
        edit=EDIT_RE.search(draft.text).group(1),
        then="submit_now",
        csrfmiddlewaretoken=CSRF_RE.search(draft.text).group(1),
    )
    done = browser.request(
        "b",
        "POST",
        draft_path,
        data=data,
        files={"document": ("proposal.pdf", pdf, "application/pdf")},
    )
    assert done.status_code == 302, done.text[:1000]
    assert re.search(r"/versions/1/$", path_of(done)), path_of(done)
    version = SubmissionVersion.objects.select_related("proposal__rfp").get(proposal=proposal)
    stored_pdf = cluster.s3.get_object(Bucket=BUCKET, Key=version.document.name)
    assert stored_pdf["Body"].read() == pdf

    # The worker renders the receipt PDF into S3; both nodes serve that file.
    receipt_key = receipt_pdf_name(version)
    rendered = wait_until(lambda: receipt_key in bucket_keys(cluster), timeout=60)
    cluster.check_alive()
    assert rendered, f"no receipt PDF from the worker:\n{cluster.log('worker')}"
    by_worker = cluster.s3.get_object(Bucket=BUCKET, Key=receipt_key)["Body"].read()
    receipt_path = reverse("receipt_pdf", args=[proposal.pk, version.number])
    from_a = fetch_stored(browser, "a", receipt_path)
    from_b = fetch_stored(browser, "b", receipt_path)
    assert from_a.startswith(b"%PDF-") and from_a == from_b == by_worker
    mail_key = f"X-Idempotency-Key: receipt:{version.pk}:".encode()
    assert wait_until(lambda: any(mail_key in m for m in cluster.sink.messages), timeout=30), (
        "the worker did not send the receipt mail"
    )

    # Staff: the password on A, the second factor on B; the export started on A, downloaded
    # from B.
    pass_deadline(open_rfp)
    open_now(open_rfp)
    desk = Visitor(cluster)
    first = desk.sign_in("a", staff.email, PASSWORD)
    assert first.status_code == 302 and path_of(first) == reverse("mfa_authenticate")
    second = desk.post_form("b", reverse("mfa_authenticate"), {"code": totp_code()})
    assert second.status_code == 302, second.text[:500]
    exports_path = reverse("staff_exports", args=[open_rfp.slug])
    started = desk.post_form("a", exports_path, {"kind": Export.Kind.BUNDLE})
    assert started.status_code == 302, started.text[:500]
    export = Export.objects.get(rfp=open_rfp, kind=Export.Kind.BUNDLE)
    finished = wait_until(
        lambda: Export.objects.get(pk=export.pk).state in ("done", "failed"), timeout=90
    )
    cluster.check_alive()
    export.refresh_from_db()
    assert finished and export.state == "done", (export.state, cluster.log("worker"))
    status = desk.get("b", reverse("staff_export_status", args=[open_rfp.slug, export.pk]))
    assert status.status_code == 200
    bundle = fetch_stored(
        desk, "b", reverse("staff_export_download", args=[open_rfp.slug, export.pk])
    )
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        names = archive.namelist()
        assert any(n.endswith(".pdf") for n in names), names
        assert all(archive.read(n).startswith(b"%PDF-") for n in names if n.endswith(".pdf"))
    assert export.file.name in bucket_keys(cluster)

    # Nothing was kept on a node's own disk: every file is in the bucket.
    for name, media in cluster.media.items():
        assert not any(media.rglob("*")), (name, sorted(media.rglob("*")))
    cluster.check_alive()


def test_rate_limits_count_the_requests_to_both_nodes_together(cluster, proposer):
    """Failed sign-ins (allauth's per-account limit) and receipt checks (the portal's own
    limit per address), split over both nodes, are refused at the same total as on one."""
    with_production_password(proposer)
    limit = int(settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")[1].split("/")[0])
    attacker = Visitor(cluster)
    answers = []
    for attempt in range(limit + 1):
        node = "ab"[attempt % 2]
        response = attacker.sign_in(node, proposer.email, "wrong-" + PASSWORD)
        assert response.status_code == 200, (node, response.status_code)
        answers.append(TOO_MANY in response.text)
    # Allowed up to the limit in total (not up to the limit on each node), then refused.
    assert answers == [False] * limit + [True], answers
    # Refused on both nodes now, even with the right password.
    for node in ("a", "b"):
        response = Visitor(cluster).sign_in(node, proposer.email, PASSWORD)
        assert response.status_code == 200 and TOO_MANY in response.text, node

    per_minute = int(settings.ACCOUNT_RATE_LIMITS[VERIFY_RECEIPT].split(",")[0].split("/")[0])
    checker = Visitor(cluster)
    statuses = [
        checker.post_form(
            "ab"[n % 2], reverse("verify_receipt"), {"code": "R-AAAA-BBBB-CCCC"}
        ).status_code
        for n in range(per_minute + 1)
    ]
    assert 429 not in statuses[:per_minute] and statuses[-1] == 429, statuses
    cluster.check_alive()
