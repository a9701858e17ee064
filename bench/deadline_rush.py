"""The deadline rush: N proposers upload a PDF and submit at once, against the production stack.

    .venv/bin/python bench/deadline_rush.py [--n 300] [--concurrency 32] [--workers 5]
        [--flow one|post|review] [--no-js] [--hostile K [--hostile-kinds a,b,...]]
        [--storage disk|s3]

Starts on loopback gunicorn (sync workers), a Celery worker (prefork, concurrency 1) and an SMTP
sink, with PostgreSQL and Redis, all with DJANGO_ENV=production settings (see bench/README.md).
Uploads and receipt PDFs go to MEDIA_ROOT on local disk, or with --storage s3 to a bucket of
moto's S3 server (its own process, on loopback), as on more than one web node.
Measures, in one run:

1. baseline: the same gunicorn serving a bare view (bench_urls.upload_baseline) that reads an
   upload of the same sizes and returns; N uploads at the same concurrency;
2. the rush: every proposer posts the draft form with their PDF and "Save and submit now" (one
   request that saves and submits) and loads the receipt page it redirects to, as a browser
   does (--flow one); --flow post leaves out the receipt page, --flow review goes through the
   review page (save, review page, submit, receipt page);
3. the floor: the same uploads to bench_urls.upload_floor, which does what any submission must
   beyond the baseline (session, CSRF, the PDF checked, hashed and stored) and nothing else;
   it shows how much of the ratio's budget is gone before the submission's own work starts;
4. peak memory per web worker, and the growth of a worker's memory for one 20 MB upload;
5. afterwards, that every proposal has exactly one version, one receipt, its signed receipt
   (a leaf of its RFP's transparency log, whose leaves are dense), one delivered mail and its
   stored receipt PDF, and how long that background work trailed the rush;
6. then, in this process on the bench's database, the cost per submission of signing its
   receipt (proposals.receipt_signing.sign_version) and of appending it to the RFP's
   transparency log (proposals.transparency.append_receipt), timed over 200 calls each (see
   submission_costs).

With --hostile K, K more clients run for the whole of the measured rush, each signed in as its
own proposer, uploading hostile PDFs from tests/proposals/hostile_pdfs.py (rotating the kinds)
to its own draft over and over; each must be refused (HTTP 400, the form with the PDF error),
never a 5xx. The honest clients are unchanged; the summary gains the hostile clients' figures.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import benchlib
import requests
from benchlib import MB

sys.path.append(str(benchlib.PROJECT_DIR))
from tests.proposals import hostile_pdfs  # the tests' generator of hostile PDFs, reused as is

CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
EDIT_RE = re.compile(r'name="edit" value="(\d+)"')
RECEIPT_RE = re.compile(r"R-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
WARMUP = 15  # submissions through every worker before timing (imports, templates, connections)
SIZES = 20  # distinct PDFs, evenly spread over 1..5 MB (mean 3 MB)
TWENTY_MB = 20_000_000  # "20 MB": just under MAX_PDF_BYTES (20 MiB), so it is accepted


# --- Setup through the services (not timed) ----------------------------------------------------


def seed(count: int) -> list[dict]:
    """An open RFP, `count` verified proposers, each with a complete draft lacking only the PDF,
    and a signed-in session each (created directly: allauth's login rate limit of 30/min/IP
    would otherwise be what this measures)."""
    import tomllib
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import connection
    from django.utils import timezone

    from proposals import demo, services, submission
    from proposals.demo_teams import _answers
    from proposals.forms import field_name
    from proposals.models import ProposalElement
    from rfp_portal import permissions
    from rfp_portal.accounts import ensure_user

    with connection.cursor() as cursor:  # this seeding session only: no fsync wait per commit
        cursor.execute("SET synchronous_commit TO off")
    now = timezone.now()
    data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q4.toml").read_text())
    shift = services.demo_shift(data, today=now.date())
    rfp = services.load_rfp(data, shift=shift, now=now - timedelta(days=1)).rfp
    assert rfp.accepts_submissions_at(now), "the bench RFP must be open"
    elements = list(rfp.elements.all())
    session_store = import_module(settings.SESSION_ENGINE).SessionStore
    people = []
    for index in range(count):
        user, _ = ensure_user(
            email=f"proposer{index}@rush.example",
            password=None,
            roles=(permissions.Role.PROPOSER,),
            full_name=f"Proposer {index}",
            organisation=f"Team {index}",
        )
        title = f"Rush proposal {index}"
        proposal = submission.start_proposal(rfp=rfp, user=user, title=title, now=now)
        answers = _answers(rfp, 0.9)
        submission.save_draft(
            proposal=proposal,
            user=user,
            title=title,
            fields=answers,
            document=None,
            expected_edit=proposal.edit_count,
            now=now,
        )
        form: list[tuple[str, str]] = [("title", title)]
        for element in elements:
            value = answers.get(element.key)
            if element.kind == ProposalElement.Kind.AGREEMENT and value:
                form.append((field_name(element), "on"))
            elif element.kind == ProposalElement.Kind.MILESTONE_CHOICE:
                form += [(field_name(element), str(v)) for v in value]
            elif isinstance(value, dict):
                form += [(f"{field_name(element)}__{k}", v) for k, v in value.items()]
            elif isinstance(value, str):
                form.append((field_name(element), value))
        session = session_store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        people.append(
            {
                "index": index,
                "user_id": user.pk,
                "proposal": proposal.pk,
                "session": session.session_key,
                "form": form,
            }
        )
    return people


def check_pdf_passes(data: bytes) -> None:
    from django.conf import settings

    from proposals.pdf_check import inspect_pdf

    inspect_pdf(io.BytesIO(data), max_bytes=settings.MAX_PDF_BYTES)


# --- The HTTP side -------------------------------------------------------------------------------


class Browser:
    """One signed-in proposer: keeps cookies by hand (the production cookies are Secure, and we
    speak plain HTTP to gunicorn as a TLS proxy would, saying so with X-Forwarded-Proto)."""

    def __init__(self, base: str, session_key: str, zone: str | None) -> None:
        self.base = base
        self.http = requests.Session()
        self.cookies = {"sessionid": session_key}
        if zone:  # what the portal's JavaScript stores after the first page (static/js/portal.js)
            self.cookies["tz"] = zone
        self.csrf = ""

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "X-Forwarded-Proto": "https",
            "Origin": self.base.replace("http://", "https://"),
            "Referer": self.base.replace("http://", "https://") + path,
            "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
        }
        response = self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=120, **kwargs
        )
        for name, value in response.cookies.items():
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response


class Failure(Exception):
    pass


def expect(response: requests.Response, status: int, what: str) -> requests.Response:
    if response.status_code != status:
        raise Failure(f"{what}: HTTP {response.status_code} (expected {status})")
    return response


def location(response: requests.Response) -> str:
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def open_draft(browser: Browser, person: dict) -> None:
    """What the proposer has on screen before the rush: the draft page (gives the CSRF token)."""
    page = expect(browser.request("GET", f"/proposals/{person['proposal']}/"), 200, "draft page")
    browser.csrf = CSRF_RE.search(page.text).group(1)
    person["edit"] = EDIT_RE.search(page.text).group(1)


def upload(browser: Browser, person: dict, pdf: bytes, then: str = "submit") -> requests.Response:
    data = [
        ("csrfmiddlewaretoken", browser.csrf),
        ("edit", person["edit"]),
        *person["form"],
        ("then", then),
    ]
    files = {"document": ("proposal.pdf", pdf, "application/pdf")}
    return browser.request("POST", f"/proposals/{person['proposal']}/", data=data, files=files)


def submit_one(browser: Browser, person: dict, pdf: bytes, flow: str = "one") -> dict:
    """The proposer's submission as the browser makes it; returns timings, raises Failure.

    flow "one": the draft form with the PDF, "Save and submit now" (one POST that saves and
    submits), then the receipt page it redirects to. flow "post": the same POST alone (a client
    that does not load the receipt page). flow "review": "Save and review before submitting",
    the review page, "Submit proposal", the receipt page (four requests)."""
    if flow != "review":
        started = time.perf_counter()
        done = expect(upload(browser, person, pdf, then="submit_now"), 302, "save and submit")
        submitted = time.perf_counter()
        if not re.search(r"/versions/\d+/$", location(done)):
            raise Failure(f"save and submit did not lead to a version: {location(done)}")
        if flow == "one":
            receipt = expect(browser.request("GET", location(done)), 200, "receipt page")
            if not RECEIPT_RE.search(receipt.text):
                raise Failure("receipt page shows no receipt code")
        finished = time.perf_counter()
        return {"total": finished - started, "upload": submitted - started, "submit": 0.0}
    started = time.perf_counter()
    saved = expect(upload(browser, person, pdf), 302, "save draft with PDF")
    uploaded = time.perf_counter()
    review = expect(browser.request("GET", location(saved)), 200, "review page")
    match = EDIT_RE.search(review.text)
    if match is None:
        raise Failure("review page has no submit form")
    before_submit = time.perf_counter()
    done = expect(
        browser.request(
            "POST",
            location(saved),
            data={"csrfmiddlewaretoken": browser.csrf, "edit": match.group(1)},
        ),
        302,
        "submit",
    )
    submitted = time.perf_counter()
    receipt = expect(browser.request("GET", location(done)), 200, "receipt page")
    if not RECEIPT_RE.search(receipt.text):
        raise Failure("receipt page shows no receipt code")
    finished = time.perf_counter()
    return {
        "total": finished - started,
        "upload": uploaded - started,
        "submit": submitted - before_submit,
    }


def reference_upload(browser: Browser, pdf: bytes, view: str = "baseline") -> float:
    """One upload to a reference view of bench_urls ("baseline" or "floor"), which answers with
    the number of bytes it read; the floor is signed in and CSRF-checked, the baseline neither."""
    started = time.perf_counter()
    response = browser.request(
        "POST",
        f"/bench/upload-{view}/",
        data={"csrfmiddlewaretoken": browser.csrf} if view == "floor" else None,
        files={"document": ("proposal.pdf", pdf, "application/pdf")},
    )
    expect(response, 200, f"{view} upload")
    if int(response.text) != len(pdf):
        raise Failure(f"{view} view read a different number of bytes")
    return time.perf_counter() - started


def run_pool(jobs, concurrency: int):
    """Run callables concurrently; returns (results, errors, wall seconds)."""
    results, errors = [], []
    lock = threading.Lock()

    def call(job):
        try:
            value = job()
        except Exception as exc:
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        else:
            with lock:
                results.append(value)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(call, jobs))
    return results, errors, time.perf_counter() - started


class MemorySampler:
    """Polls the gunicorn workers' peak RSS (VmHWM) while the load runs."""

    def __init__(self, master_pid: int) -> None:
        self.master = master_pid
        self.peak_kb: dict[int, int] = {}
        self.peak_child_kb = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def workers(self) -> list[int]:
        return benchlib.children_of(self.master)

    def loop(self) -> None:
        while not self.stop.wait(0.1):
            self.sample()

    def sample(self) -> None:
        for pid in self.workers():
            hwm = benchlib.memory_kb(pid).get("VmHWM", 0)
            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm)
            for child in benchlib.descendants_of(pid):  # PDF checks (short-lived: best effort)
                hwm = benchlib.memory_kb(child).get("VmHWM", 0)
                self.peak_child_kb = max(self.peak_child_kb, hwm)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.sample()


def growth_for_one_upload(master: int, send) -> tuple[float, requests.Response]:
    """MB by which the busiest worker's peak RSS exceeded its RSS just before one upload."""
    time.sleep(0.5)
    workers = benchlib.children_of(master)
    before = {}
    for pid in workers:
        benchlib.reset_peak(pid)
        before[pid] = benchlib.memory_kb(pid)["VmRSS"]
    response = send()
    growth = max(benchlib.memory_kb(pid)["VmHWM"] - before[pid] for pid in workers)
    return growth / 1024, response


# --- Hostile clients during the rush ------------------------------------------------------------

# The kinds the upload check must refuse (the generator's others are accepted: active content is
# recorded, not refused, and indirect-arrays is cheap to check and expensive only to merge).
REFUSED_KINDS = [k for k, (_, answer) in hostile_pdfs.CORPUS.items() if answer != "accepted"]
REFUSALS = {"too complex": "too complex to check", "damaged": "seems to be damaged"}
# After a few refusals an account's next uploads are not checked for a minute (pdf_refused).
PAUSED = "waits a minute before checking another"


def build_hostile(kinds: list[str]) -> dict[str, bytes]:
    return {kind: hostile_pdfs.CORPUS[kind][0]() for kind in kinds}


class HostileClients:
    """K threads, each a signed-in proposer who uploads hostile PDFs to their own draft
    ("Save draft") one after another until stopped, starting at a different kind each and
    rotating through them. Records per kind: outcome and latency."""

    def __init__(self, pairs: list[tuple[Browser, dict]], corpus: dict[str, bytes]) -> None:
        self.pairs = pairs
        self.corpus = corpus
        self.kinds = list(corpus)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.records: list[tuple[str, str, float, float]] = []  # kind, outcome, seconds, ended
        self.threads = [
            threading.Thread(target=self.loop, args=(i, b, p), daemon=True)
            for i, (b, p) in enumerate(pairs)
        ]

    def loop(self, number: int, browser: Browser, person: dict) -> None:
        turn = number
        while not self.stop.is_set():
            kind = self.kinds[turn % len(self.kinds)]
            turn += 1
            started = time.perf_counter()
            try:
                response = upload(browser, person, self.corpus[kind], then="save")
                outcome = self.classify(kind, response)
            except Exception as exc:  # a connection error or a timeout: never expected
                outcome = f"exception {type(exc).__name__}"
            ended = time.perf_counter()
            with self.lock:
                self.records.append((kind, outcome, ended - started, ended))

    @staticmethod
    def classify(kind: str, response: requests.Response) -> str:
        status = response.status_code
        if status >= 500:
            return "5xx"
        if status == 302:
            return "accepted"
        if status == 400 and PAUSED in response.text:
            return "paused"  # the account's recent refusals: not checked at all
        if status == 400 and "Nothing was saved" in response.text:
            expected = hostile_pdfs.CORPUS[kind][1]
            for answer, words in REFUSALS.items():
                if words in response.text:
                    return "refused" if answer == expected else f"refused as {answer}"
            return "refused otherwise"
        return f"HTTP {status}"

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()  # uploads in flight finish and are counted
        for thread in self.threads:
            thread.join()

    def summary(self) -> dict:
        rows = self.records
        return {
            "uploads": len(rows),
            "refused": sum(1 for r in rows if r[1] == "refused"),
            "paused": sum(1 for r in rows if r[1] == "paused"),
            "5xx": sum(1 for r in rows if r[1] == "5xx"),
            "other": sum(1 for r in rows if r[1] not in ("refused", "paused", "5xx")),
            "max_ms": max((r[2] for r in rows), default=0.0) * 1000,
        }

    def report(self) -> list[str]:
        lines = []
        for kind in self.kinds:
            rows = [r for r in self.records if r[0] == kind]
            seconds = [r[2] * 1000 for r in rows]
            outcomes: dict[str, int] = {}
            for r in rows:
                outcomes[r[1]] = outcomes.get(r[1], 0) + 1
            lines.append(
                f"  {kind} ({len(self.corpus[kind]) / 1024:.0f} KB, expected "
                f"{hostile_pdfs.CORPUS[kind][1]}): {len(rows)} uploads"
                + "".join(f", {n} {o}" for o, n in sorted(outcomes.items()))
                + (
                    f"; latency p50 {benchlib.percentile(seconds, 50):.0f} ms, "
                    f"max {max(seconds):.0f} ms"
                    if seconds
                    else ""
                )
            )
        return lines


# --- Checking what was stored -------------------------------------------------------------------


def verify_hostile(people: list[dict]) -> dict:
    """The hostile proposers' drafts: no version, no document stored."""
    from django.db import connections

    from proposals.models import Proposal, SubmissionVersion

    ids = [p["proposal"] for p in people]
    result = {
        "versions": SubmissionVersion.objects.filter(proposal_id__in=ids).count(),
        "documents": Proposal.objects.filter(pk__in=ids).exclude(document="").count(),
    }
    connections.close_all()
    return result


def verify(people: list[dict], sink: benchlib.SmtpSink, timeout: float) -> dict:
    """Exactly one version, one receipt code, one sent receipt mail and a stored receipt PDF
    per proposal; waits (up to `timeout`) for the worker to finish the mails and PDFs."""
    from django.core.files.storage import default_storage
    from django.db import connections

    from proposals.models import ReceiptSignature, SubmissionVersion
    from proposals.receipts import receipt_pdf_name
    from rfp_portal.models import OutboxMessage

    deadline = time.monotonic() + timeout
    while True:
        versions: dict[int, list] = {}
        for version in SubmissionVersion.objects.filter(
            proposal_id__in=[p["proposal"] for p in people]
        ):
            versions.setdefault(version.proposal_id, []).append(version)
        keys = {
            f"receipt:{versions[p['proposal']][0].pk}:{p['user_id']}": p["proposal"]
            for p in people
            if len(versions.get(p["proposal"], [])) == 1
        }
        sent = dict(
            OutboxMessage.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", "state"
            )
        )
        delivered = {keys[k] for k, state in sent.items() if state == OutboxMessage.State.SENT}
        with_pdf = {
            vs[0].proposal_id
            for vs in versions.values()
            if len(vs) == 1 and default_storage.exists(receipt_pdf_name(vs[0]))
        }
        done = len(delivered) == len(people) and len(with_pdf) == len(people)
        if done or time.monotonic() > deadline:
            break
        time.sleep(1)
    one_version = sum(1 for p in people if len(versions.get(p["proposal"], [])) == 1)
    signed = set(
        ReceiptSignature.objects.filter(
            version__proposal_id__in=[p["proposal"] for p in people]
        ).values_list("version__proposal_id", flat=True)
    )
    receipts = {
        vs[0].receipt_code for vs in versions.values() if len(vs) == 1 and vs[0].receipt_code
    }
    logged, logs_dense = logged_receipts([p["proposal"] for p in people])
    complete = [
        p
        for p in people
        if len(versions.get(p["proposal"], [])) == 1
        and versions[p["proposal"]][0].receipt_code
        and p["proposal"] in signed
        and p["proposal"] in logged
        and p["proposal"] in delivered
        and p["proposal"] in with_pdf
    ]
    connections.close_all()
    return {
        "one_version": one_version,
        "more_versions": sum(1 for vs in versions.values() if len(vs) > 1),
        "receipts": len(receipts),
        "signed": len(signed),
        "logged": len(logged),
        "logs_dense": logs_dense,
        "mails_sent": len(delivered),
        "receipt_pdfs": len(with_pdf),
        "done_at": time.perf_counter(),
        "mails_queued_not_sent": sum(1 for s in sent.values() if s != OutboxMessage.State.SENT),
        "smtp_received": sink.count(b"X-Idempotency-Key: receipt:"),
        "complete": len(complete),
    }


def logged_receipts(proposal_ids: list[int]) -> tuple[set[int], str]:
    """The proposals whose signed receipt is a leaf of their RFP's transparency log, at the
    index its statement names, in a log whose leaves are dense (indexes 0..size-1, as many as
    its size) and whose stored root is the root of those leaves; and "k/m" (logs in that state
    of the logs of these proposals' RFPs)."""
    import json

    from proposals import merkle
    from proposals.models import LogLeaf, ReceiptSignature, TransparencyLog

    signatures = list(
        ReceiptSignature.objects.filter(version__proposal_id__in=proposal_ids).values_list(
            "version__proposal_id", "version__proposal__rfp_id", "statement"
        )
    )
    sound: set[int] = set()
    index_of: dict[tuple[int, str], int] = {}
    logs = list(TransparencyLog.objects.filter(rfp_id__in={rfp for _p, rfp, _s in signatures}))
    for log in logs:
        leaves = list(
            LogLeaf.objects.filter(log=log)
            .order_by("index")
            .values_list("index", "entry", "leaf_hash")
        )
        dense = [index for index, _e, _h in leaves] == list(range(log.size))
        root = merkle.root([bytes.fromhex(h) for _i, _e, h in leaves]).hex()
        if dense and root == log.root_hash:
            sound.add(log.rfp_id)
        for index, entry, _h in leaves:
            index_of[(log.rfp_id, entry)] = index
    logged = {
        proposal
        for proposal, rfp, statement in signatures
        if rfp in sound
        and index_of.get((rfp, statement)) is not None
        and index_of[(rfp, statement)] == json.loads(statement).get("log_index")
    }
    return logged, f"{len(sound)}/{len(logs)}"


# --- What submitting costs beyond the rush's figures: signing and logging ----------------------

COST_SAMPLES = 200  # timed calls per step, cycling over the bench's submitted versions


class _RollBack(Exception):
    pass


def submission_costs(proposal_ids: list[int], samples: int = COST_SAMPLES) -> dict:
    """Milliseconds per call of each step the submit runs for its receipt, timed here (one call
    at a time, after the rush, on the bench's database and keys) rather than inside the loaded
    workers, where it cannot be told apart from the rest of the request.

    Each call runs as at submit: inside a transaction (proposals.submission._submit_locked's),
    with its INSERT, then rolled back, so the bench's data is left as it was; what the step
    replaces (the version's stored signature) is removed first, untimed, in the same transaction.
    The versions are loaded with their proposal and RFP, as the submit has them in hand. One
    untimed call first (the key is read from disk once per process). Steps:

    - "sign": proposals.receipt_signing.sign_version with a log index, as
      transparency.append_receipt calls it (the statement, its canonical bytes, the Ed25519
      signature, the ReceiptSignature row); each signature made is checked with the published
      keys (untimed);
    - "log": the rest of transparency.append_receipt, the append itself: the RFP's log row
      locked (SELECT … FOR UPDATE, get_or_create), the leaf hash, the frontier updated, the
      LogLeaf INSERT and the log row's UPDATE; the entry is the version's stored signed
      statement, appended as the log's next leaf (untimed check: the leaf is at the log's old
      size and the stored root is the root of all the leaves);
    - "receipt": transparency.append_receipt whole, the one call the submit makes (sign and
      log), with both checks: a cross-check that sign + log is the whole.

    Calls are one at a time: the wait for the log row's lock when submits of one RFP commit at
    the same moment is not in these figures (it is in the rush's latencies).

    Returns {step: [ms, ...]}, plus "no_sql" (sign_version's work without its INSERT) and
    "ed25519" (the bare signature of a statement's bytes), in ms, "versions" (how many
    distinct versions were used) and "bad" (signatures or appends made here that do not
    verify: must be 0)."""
    from django.db import connections, transaction

    from proposals import merkle, receipt_signing, transparency
    from proposals.models import LogLeaf, ReceiptSignature, SubmissionVersion

    versions = list(
        SubmissionVersion.objects.filter(proposal_id__in=proposal_ids)
        .select_related("proposal__rfp")
        .order_by("pk")
    )
    keys = receipt_signing.public_keys()
    bad = 0

    def check_signature(version, signature) -> None:
        nonlocal bad
        receipt = receipt_signing.receipt_file(signature)
        try:
            receipt_signing.verify_file(receipt, keys)
        except receipt_signing.ReceiptInvalid:
            bad += 1

    def check_leaf(leaf: LogLeaf) -> None:
        nonlocal bad
        log = leaf.log
        log.refresh_from_db()
        hashes = transparency.leaf_hashes(log, log.size)
        if leaf.index != log.size - 1 or merkle.root(hashes).hex() != log.root_hash:
            bad += 1

    def append(version, entry: bytes) -> LogLeaf:
        # What transparency.append_receipt does after sign_version, with the same calls.
        log = transparency._locked_log(version.proposal.rfp)
        return transparency._append_locked(
            log,
            kind=LogLeaf.Kind.RECEIPT,
            entry=entry,
            claimed_at=version.received_at,
            now=version.received_at,
        )

    def check_receipt(version, signature) -> None:
        check_signature(version, signature)
        check_leaf(
            LogLeaf.objects.select_related("log").get(
                log__rfp=version.proposal.rfp, entry=signature.statement
            )
        )

    def drop_signature(version) -> None:
        ReceiptSignature.objects.filter(version=version).delete()

    def stored_statement(version) -> bytes:
        return ReceiptSignature.objects.get(version=version).statement.encode("ascii")

    # step: (untimed preparation, returning the call's argument; timed call; untimed check of
    # what it returned)
    steps = {
        "sign": (
            drop_signature,
            lambda v, _: receipt_signing.sign_version(v, log_index=len(versions)),
            check_signature,
        ),
        "log": (stored_statement, append, lambda v, leaf: check_leaf(leaf)),
        "receipt": (
            drop_signature,
            lambda v, _: transparency.append_receipt(v),
            check_receipt,
        ),
    }
    timings: dict = {name: [] for name in steps}
    for name, (prepare, call, check) in steps.items():
        for count in range(samples + 1):
            version = versions[count % len(versions)]
            try:
                with transaction.atomic():
                    argument = prepare(version)
                    started = time.perf_counter()
                    made = call(version, argument)
                    elapsed = time.perf_counter() - started
                    check(version, made)
                    raise _RollBack
            except _RollBack:
                pass
            if count:  # the first call is the warm-up
                timings[name].append(elapsed * 1000)
    # Where the time goes: sign_version without its INSERT (the key, the statement, its
    # canonical JSON, the signature; no SQL), and the Ed25519 signature alone.
    timings["no_sql"], timings["ed25519"] = [], []
    for count in range(samples):
        version = versions[count % len(versions)]
        started = time.perf_counter()
        key_id, private = receipt_signing.signing_key()  # as sign_version gets it
        data = receipt_signing.canonical(
            receipt_signing.statement_for(version, proposal_token="0" * 32, key_id=key_id)
        )
        private.sign(data)
        timings["no_sql"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        private.sign(data)
        timings["ed25519"].append((time.perf_counter() - started) * 1000)
    connections.close_all()
    timings["versions"] = len(versions)
    timings["bad"] = bad
    return timings


# --- Main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="proposers (default 300)")
    parser.add_argument("--concurrency", type=int, default=32, help="client threads (32)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers (5)")
    parser.add_argument(
        "--no-js",
        action="store_true",
        help="browsers without JavaScript: no time-zone cookie, so every page with a deadline "
        "panel renders its time-zone picker",
    )
    parser.add_argument(
        "--flow",
        choices=("one", "post", "review"),
        default="one",
        help="one: 'Save and submit now' and the receipt page (default); post: that POST alone; "
        "review: save and review, the review page, submit, the receipt page",
    )
    parser.add_argument(
        "--hostile",
        type=int,
        default=0,
        metavar="K",
        help="K more clients that upload hostile PDFs to their own drafts for the whole rush "
        "(default 0)",
    )
    parser.add_argument(
        "--hostile-kinds",
        default=",".join(REFUSED_KINDS),
        help="the hostile_pdfs.CORPUS kinds they rotate through (default: every kind the "
        "upload check must refuse: " + ",".join(REFUSED_KINDS) + ")",
    )
    parser.add_argument(
        "--honest-only-rate",
        type=float,
        metavar="RATE",
        help="with --hostile: the rate (submissions/s) of a run without hostile clients (same "
        "N, flow and machine); the run fails if the honest rate falls below 0.9 of it",
    )
    parser.add_argument(
        "--storage",
        choices=("disk", "s3"),
        default="disk",
        help="where uploads and receipt PDFs go: disk (MEDIA_ROOT, default) or s3 (a bucket "
        "of moto's S3 server on loopback, as with several web nodes)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and database")
    args = parser.parse_args()
    hostile_kinds = [k for k in args.hostile_kinds.split(",") if k]
    unknown = [k for k in hostile_kinds if k not in hostile_pdfs.CORPUS]
    if unknown:
        parser.error(f"unknown hostile kinds: {unknown}; known: {list(hostile_pdfs.CORPUS)}")

    tmp = Path(tempfile.mkdtemp(prefix="rfp-bench-rush-"))
    sink = benchlib.SmtpSink()
    port = benchlib.free_port()
    base = f"http://127.0.0.1:{port}"
    env = benchlib.bench_env("rush", tmp, smtp_port=sink.port, web_port=port)
    procs = benchlib.Processes()
    s3_server = None
    if args.storage == "s3":
        s3_server, s3_settings = benchlib.start_s3(procs, tmp)
        env.update(s3_settings)
    print(f"machine: {benchlib.machine()}")
    print(
        f"storage: {args.storage}"
        + (f" (moto S3 server at {env['AWS_S3_ENDPOINT_URL']})" if s3_server else " (MEDIA_ROOT)")
    )
    print(f"workdir: {tmp}")
    # The PDF check is being worked on: say which version ran, and whether it changed meanwhile.
    guard = benchlib.blob_id("proposals/pdfguard.py")
    print(f"code: {benchlib.PROJECT_DIR}, proposals/pdfguard.py blob {guard}")
    try:
        t0 = time.perf_counter()
        benchlib.prepare("rush", tmp, env)
        print(f"setup: migrations and collectstatic in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        benchlib.django_setup(env)
        from django.db import connections

        extra = 3 + WARMUP  # proposers for the 20 MB checks and the warm-up, outside the rush
        people = seed(args.n + extra + args.hostile)
        connections.close_all()
        rush_people, spare = people[: args.n], people[args.n : args.n + 3]
        warmup_people = people[args.n + 3 : args.n + extra]
        hostile_people = people[args.n + extra :]
        step = (4 * MB) // (SIZES - 1)
        pdfs = [benchlib.make_pdf(1 * MB + i * step, pages=1 + i % 5) for i in range(SIZES)]
        for pdf in (pdfs[0], pdfs[-1]):
            check_pdf_passes(pdf)
        big = benchlib.make_pdf(TWENTY_MB)
        check_pdf_passes(big)
        too_big = benchlib.make_pdf(21 * MB)
        print(f"setup: {len(people)} proposers with drafts in {time.perf_counter() - t0:.1f} s")
        hostile_corpus = {}
        if args.hostile:
            t0 = time.perf_counter()
            hostile_corpus = build_hostile(hostile_kinds)
            print(
                f"setup: {len(hostile_corpus)} hostile PDFs ("
                + ", ".join(f"{k} {len(v) / 1024:.0f} KB" for k, v in hostile_corpus.items())
                + f") in {time.perf_counter() - t0:.1f} s"
            )

        gunicorn = procs.start(
            [
                str(benchlib.BIN_DIR / "gunicorn"),
                "rfp_portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--worker-class",
                "sync",
                "--timeout",
                "120",
                "--backlog",
                "2048",
            ],
            env,
            tmp / "gunicorn.log",
        )
        # Background work yields the CPU to requests (as a worker on its own host or a container
        # with fewer CPU shares would): `nice` execs the worker, so its PID is the worker's.
        celery = procs.start(
            [
                "nice",
                "-n",
                "10",
                str(benchlib.BIN_DIR / "celery"),
                "-A",
                "rfp_portal",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=WARNING",
            ],
            env,
            tmp / "celery.log",
        )
        benchlib.wait_for_port(port)
        time.sleep(1)
        procs.note_children()
        print(
            f"gunicorn: {args.workers} sync workers on {base}; "
            "celery: prefork, concurrency 1, nice 10"
        )

        zones = [None] if args.no_js else ["Europe/Berlin", "America/New_York", "Asia/Kolkata"]
        browsers = [
            Browser(base, p["session"], zones[i % len(zones)]) for i, p in enumerate(people)
        ]
        _, errors, _ = run_pool(
            [lambda b=b, p=p: open_draft(b, p) for b, p in zip(browsers, people, strict=True)],
            args.concurrency,
        )
        if errors:
            print(f"could not open the drafts: {errors[:3]}")
            return 2
        # Warm every worker (imports, templates, connections) before timing anything.
        run_pool([lambda: reference_upload(browsers[-1], pdfs[0])] * 20, args.workers)
        warm_browsers = browsers[args.n + 3 : args.n + extra]
        hostile_browsers = browsers[args.n + extra :]
        _, errors, _ = run_pool(
            [
                lambda b=b, p=p: submit_one(b, p, pdfs[0], args.flow)
                for b, p in zip(warm_browsers, warmup_people, strict=True)
            ],
            args.workers,
        )
        if errors:
            print(f"warm-up submissions failed: {errors[:3]}")
            return 2

        pdf_for = [pdfs[i % SIZES] for i in range(args.n)]
        mean_mb = sum(len(p) for p in pdf_for) / len(pdf_for) / MB
        account = benchlib.CpuAccount(
            {
                "web": lambda: benchlib.children_of(gunicorn.pid),
                # The PDF checks run in child processes of the web workers (proposals.pdfguard).
                "pdf checks": (
                    lambda: benchlib.children_of(gunicorn.pid),
                    benchlib.subtree_cpu_seconds,
                ),
                "celery": lambda: [celery.pid, *benchlib.children_of(celery.pid)],
                "postgres": lambda: benchlib.pids_named("postgres"),
                "redis": lambda: benchlib.pids_named("redis-server"),
                **({"s3 (moto)": lambda: [s3_server.pid]} if s3_server else {}),
            }
        )

        busy = {}

        def celery_cpu() -> float:
            """CPU seconds of the Celery worker: its main process and its pool's."""
            return benchlib.cpu_seconds([celery.pid]) + benchlib.subtree_cpu_seconds(celery.pid)

        def timed(jobs):
            """One measured phase: results, errors, wall seconds, CPU used and per result."""
            account.start()
            busy["before"] = benchlib.machine_busy_seconds()
            results, failures, wall = run_pool(jobs, args.concurrency)
            busy["used"] = benchlib.machine_busy_seconds() - busy["before"]
            used = account.stop()
            return results, failures, wall, used, account.per(len(results))

        def reference_jobs(view: str):
            return [
                lambda b=b, pdf=pdf: reference_upload(b, pdf, view)
                for b, pdf in zip(browsers, pdf_for, strict=False)
            ]

        with MemorySampler(gunicorn.pid) as memory:
            base_times, base_errors, base_wall, base_used, base_account = timed(
                reference_jobs("baseline")
            )
            time.sleep(1)
            floor_times, floor_errors, floor_wall, _, floor_account = timed(reference_jobs("floor"))
            time.sleep(1)
            hostile = HostileClients(
                list(zip(hostile_browsers, hostile_people, strict=True)), hostile_corpus
            )
            rush_started = time.perf_counter()
            worker_cpu_before = celery_cpu()
            with hostile:  # no threads when --hostile is 0
                rush_times, rush_errors, rush_wall, rush_used, rush_account = timed(
                    [
                        lambda b=b, p=p, pdf=pdf: submit_one(b, p, pdf, args.flow)
                        for b, p, pdf in zip(browsers, rush_people, pdf_for, strict=False)
                    ]
                )
                rush_ended = time.perf_counter()
            hostile_ended = time.perf_counter()
        base_cpu_ms = base_used["web"] / max(1, len(base_times)) * 1000
        rush_cpu_ms = (
            (rush_used["web"] + rush_used["pdf checks"] + rush_used["celery"])
            / max(1, len(rush_times))
            * 1000
        )
        background_ms = rush_used["celery"] / max(1, len(rush_times)) * 1000
        base_rate = len(base_times) / base_wall
        floor_rate = len(floor_times) / floor_wall
        rush_rate = len(rush_times) / rush_wall
        totals = [r["total"] * 1000 for r in rush_times]
        uploads = [r["upload"] * 1000 for r in rush_times]
        submits = [r["submit"] * 1000 for r in rush_times]
        pct = benchlib.percentile
        print(
            f"baseline: {len(base_times)} uploads (mean {mean_mb:.1f} MB) in {base_wall:.1f} s = "
            f"{base_rate:.1f}/s; p50 {pct(base_times, 50) * 1000:.0f} ms, "
            f"p95 {pct(base_times, 95) * 1000:.0f} ms; errors {len(base_errors)}; "
            f"server CPU {base_cpu_ms:.0f} ms per upload"
        )
        print(
            f"floor (sign-in, CSRF, PDF checked, hashed and stored): {len(floor_times)} uploads "
            f"in {floor_wall:.1f} s = {floor_rate:.1f}/s ({floor_rate / base_rate:.2f} of the "
            f"baseline); p50 {pct(floor_times, 50) * 1000:.0f} ms; errors {len(floor_errors)}"
        )
        if args.flow == "review":
            parts = (
                f"the upload POST p50/p95 {pct(uploads, 50):.0f}/{pct(uploads, 95):.0f} ms; "
                f"the submit POST p50/p95 {pct(submits, 50):.0f}/{pct(submits, 95):.0f} ms"
            )
        else:
            parts = (
                f"the save-and-submit POST p50/p95 {pct(uploads, 50):.0f}/{pct(uploads, 95):.0f} ms"
            )
        print(
            f"rush ({args.flow}): {len(rush_times)} submissions in {rush_wall:.1f} s = "
            f"{rush_rate:.1f}/s; whole submission p50/p95/p99 {pct(totals, 50):.0f}/"
            f"{pct(totals, 95):.0f}/{pct(totals, 99):.0f} ms; {parts}; errors "
            f"{len(rush_errors)}; server CPU (web workers and celery) {rush_cpu_ms:.0f} ms per "
            f"submission, of which celery {background_ms:.0f} ms; load {os.getloadavg()[0]:.1f}"
        )
        print(f"CPU ms per baseline upload: {base_account}")
        print(f"CPU ms per floor upload: {floor_account}")
        print(f"CPU ms per submission: {rush_account}")
        print(
            f"CPU seconds in the rush ({rush_wall:.1f} s wall, {2 * rush_wall:.0f} CPU-s on 2 "
            "CPUs): "
            + ", ".join(f"{k} {v:.1f}" for k, v in rush_used.items())
            + f"; the machine was busy {busy['used']:.1f} CPU-s, so other processes used "
            f"{busy['used'] - sum(rush_used.values()):.1f}"
        )
        for error in (base_errors + floor_errors + rush_errors)[:10]:
            print(f"  error: {error}")
        hostile_stats = hostile.summary()
        if args.hostile:
            inside = sum(1 for r in hostile.records if r[3] <= rush_ended)
            print(
                f"hostile: {args.hostile} clients, {hostile_stats['uploads']} uploads "
                f"({inside} finished within the rush; the last ended "
                f"{hostile_ended - rush_ended:.1f} s after it), {hostile_stats['refused']} "
                f"refused as expected, {hostile_stats['5xx']} 5xx, {hostile_stats['other']} "
                f"other; max latency {hostile_stats['max_ms']:.0f} ms; "
                f"{hostile_stats['uploads'] / max(1e-9, hostile_ended - rush_started):.2f} "
                "uploads/s"
            )
            print("\n".join(hostile.report()))
        peak_worker_mb = max(memory.peak_kb.values()) / 1024
        print(
            "peak RSS per web worker (MB): "
            + ", ".join(f"{kb / 1024:.0f}" for kb in sorted(memory.peak_kb.values()))
            + f"; largest PDF-check child seen: {memory.peak_child_kb / 1024:.0f} MB"
        )

        # One 20 MB upload at a time, on warm workers: how much does the worker grow?
        growths = {}
        spare_browsers = browsers[args.n : args.n + 3]
        for attempt in range(3):
            person, browser = spare[attempt], spare_browsers[attempt]
            grown, response = growth_for_one_upload(
                gunicorn.pid, lambda b=browser, p=person: upload(b, p, big, then="save")
            )
            expect(response, 302, "20 MB draft upload")
            growths.setdefault("draft form, 20 MB (accepted)", []).append(grown)
            open_draft(browser, person)
            grown, response = growth_for_one_upload(
                gunicorn.pid, lambda b=browser, p=person: upload(b, p, too_big, then="save")
            )
            if response.status_code != 400 or "larger than" not in response.text:
                raise Failure(f"21 MB upload: HTTP {response.status_code}, not refused")
            growths.setdefault("draft form, 21 MB (refused at the limit)", []).append(grown)
            grown, response = growth_for_one_upload(
                gunicorn.pid, lambda b=browser: reference_upload(b, big)
            )
            growths.setdefault("baseline view, 20 MB", []).append(grown)
        for what, values in growths.items():
            print(f"worker memory growth for one upload, {what}: max {max(values):.1f} MB")
        upload_growth = max(max(v) for v in growths.values())

        outcome = verify(rush_people, sink, timeout=180)
        # The background work of a submission (receipt PDF rendered and stored, receipt mail),
        # from the rush's start until verify saw the last of it done: CPU per submission.
        worker_ms = (celery_cpu() - worker_cpu_before) / max(1, len(rush_times)) * 1000
        hostile_stored = verify_hostile(hostile_people) if args.hostile else {}
        if hostile_stored:
            print(
                f"verify: the {args.hostile} hostile drafts have {hostile_stored['versions']} "
                f"versions and {hostile_stored['documents']} stored documents"
            )
        errors = len(rush_errors)
        lost = args.n - outcome["complete"]
        print(
            f"verify: {outcome['one_version']}/{args.n} proposals with exactly one version "
            f"({outcome['more_versions']} with more), {outcome['receipts']} distinct receipt "
            f"codes, {outcome['signed']} signed receipts, {outcome['logged']} of them leaves of "
            f"their RFP's log at the index they name (logs dense with the right root: "
            f"{outcome['logs_dense']}), {outcome['mails_sent']} receipt "
            f"mails sent ({outcome['mails_queued_not_sent']} not sent), {outcome['smtp_received']} "
            f"received by the SMTP sink, {outcome['receipt_pdfs']} receipt PDFs stored"
        )
        trail = outcome["done_at"] - rush_ended
        print(f"background: the last receipt mail and PDF were done {trail:.0f} s after the rush")
        print(
            f"background: the Celery worker used {worker_ms:.0f} ms CPU per submission (receipt "
            "PDF and mail, from the rush's start until the last was done)"
        )
        media_files = benchlib.files_under(Path(env["MEDIA_ROOT"]))
        print(f"storage {args.storage}: {media_files} files under MEDIA_ROOT")
        if args.storage == "s3" and media_files:
            missed_storage = [f"{media_files} files under MEDIA_ROOT with --storage s3"]
        else:
            missed_storage = []
        costs = submission_costs([p["proposal"] for p in rush_people + warmup_people])
        cost_steps = {
            "sign": "signing (sign_version: statement, Ed25519, its row)",
            "log": "logging (the log row locked, the leaf's INSERT, the frontier and root)",
            "receipt": "both (transparency.append_receipt, as the submit calls it)",
        }
        for step, what in cost_steps.items():
            values = costs[step]
            print(
                f"cost per submission, {what}: {len(values)} calls over {costs['versions']} "
                f"versions, each in a transaction rolled back: p50 {pct(values, 50):.3f} ms, "
                f"mean {sum(values) / len(values):.3f} ms, p95 {pct(values, 95):.3f} ms"
            )
        print(
            f"  of which without SQL (key, statement, canonical JSON, Ed25519): p50 "
            f"{pct(costs['no_sql'], 50) * 1000:.0f} µs, the Ed25519 signature alone p50 "
            f"{pct(costs['ed25519'], 50) * 1000:.0f} µs, the rest the row's INSERT; signatures "
            f"or log appends made here that do not verify: {costs['bad']}"
        )
        cost_part = "".join(
            f"{step}_ms={pct(costs[step], 50):.2f} "
            f"{step}_mean_ms={sum(costs[step]) / len(costs[step]):.2f} "
            for step in cost_steps
        )
        log = (tmp / "gunicorn.log").read_text(errors="replace")
        tracebacks = log.count("Traceback")
        if tracebacks:
            print(f"gunicorn log: {tracebacks} tracebacks (see {tmp / 'gunicorn.log'})")
        ratio = rush_rate / base_rate
        missed = list(missed_storage)
        if errors or base_errors or floor_errors:
            missed.append("errors")
        if lost:
            missed.append("lost submissions")
        if ratio < 0.5:
            missed.append("ratio < 0.5")
        if upload_growth > 30:
            missed.append("20 MB upload grew a worker by > 30 MB")
        if hostile_stats["5xx"]:
            missed.append("hostile uploads answered 5xx")
        kept = rush_rate / args.honest_only_rate if args.honest_only_rate else None
        if kept is not None and kept < 0.9:
            missed.append(f"honest rate {kept:.2f} of the honest-only rate < 0.9")
        if costs["bad"]:
            missed.append("signatures or appends made by the cost measurement do not verify")
        if hostile_stats["other"] or any(hostile_stored.values()):
            missed.append("hostile uploads not refused")
        guard_after = benchlib.blob_id("proposals/pdfguard.py")
        if guard_after != guard:
            print(f"proposals/pdfguard.py changed during the run: {guard} -> {guard_after}")
            missed.append("pdfguard.py changed during the run")
        hostile_part = (
            f"hostile={args.hostile} hostile_uploads={hostile_stats['uploads']} "
            f"hostile_refused={hostile_stats['refused']} "
            f"hostile_paused={hostile_stats['paused']} hostile_5xx={hostile_stats['5xx']} "
            f"hostile_other={hostile_stats['other']} "
            f"hostile_max={hostile_stats['max_ms']:.0f}ms honest_rate={rush_rate:.1f}/s "
            + (f"honest_kept={kept:.2f} " if kept is not None else "")
            if args.hostile
            else ""
        )
        print(
            f"deadline_rush: N={args.n} concurrency={args.concurrency} workers={args.workers} "
            f"ok={len(rush_times)} errors={errors} lost={lost} rate={rush_rate:.1f}/s "
            f"p50={pct(totals, 50):.0f}ms p95={pct(totals, 95):.0f}ms p99={pct(totals, 99):.0f}ms "
            f"baseline={base_rate:.1f}/s ratio={ratio:.2f} floor={floor_rate:.1f}/s "
            f"peak_worker_rss={peak_worker_mb:.0f}MB "
            f"upload20MB_growth={upload_growth:.1f}MB cpu_per_submit={rush_cpu_ms:.0f}ms "
            f"cpu_per_baseline={base_cpu_ms:.0f}ms flow={args.flow} "
            f"js={'no' if args.no_js else 'yes'} storage={args.storage} "
            f"background_trail={trail:.0f}s worker_cpu_per_submit={worker_ms:.0f}ms "
            f"{cost_part}{hostile_part}pdfguard={guard} "
            f"{'FAIL(' + '; '.join(missed) + ')' if missed else 'PASS'}"
        )
        return 1 if missed else 0
    finally:
        procs.stop_all()
        sink.close()
        if not args.keep:
            benchlib.cleanup("rush", tmp)


if __name__ == "__main__":
    sys.exit(main())
