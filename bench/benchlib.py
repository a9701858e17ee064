"""What every benchmark shares: a throw-away environment, processes it starts and stops by PID,
per-process memory from /proc, a tiny SMTP sink, PDF generation and percentiles.

Nothing here touches the developer's var/ directory, their database or Redis DB 15 (the test
suite's): each bench gets its own PostgreSQL database (rfp_portal_bench_<name>, dropped and
recreated), its own temporary VAR_DIR/MEDIA_ROOT/STATIC_ROOT and its own Redis DB (flushed):
9 for the rush, 10 for the dashboard, 11 for the report, so they can run side by side.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests.helpers
from tests.helpers import smtp_sink

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
BIN_DIR = Path(sys.executable).parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
# Never 15: the test suite flushes that one.
REDIS_DBS = {"rush": 9, "dashboard": 10, "report": 11}
MB = 1024 * 1024


def run_child(command: list[str], env: dict[str, str]) -> dict:
    """Run a measurement in a fresh child process (as a Celery task runs, with nothing the
    bench loaded) and return the JSON object its last line of output prints."""
    out = subprocess.run(
        command, env=env, cwd=PROJECT_DIR, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- Environment -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(name: str, tmp: Path, *, smtp_port: int, web_port: int = 8000) -> dict[str, str]:
    """Production settings (DJANGO_ENV=production) on loopback, all state under tmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))}
    for name_ in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "DEBUG"):
        env.pop(name_, None)
    env.update(
        {
            "DJANGO_ENV": "production",
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(PROJECT_DIR)]),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"https://127.0.0.1:{web_port}",
            "DATABASE_URL": f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/rfp_portal_bench_{name}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[name]}",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "VAR_DIR": str(tmp / "var"),
            "RECEIPT_KEYS_DIR": str(tmp / "var" / "receipt-keys"),
            "MEDIA_ROOT": str(tmp / "var" / "media"),
            "STATIC_ROOT": str(tmp / "static"),
            "TMPDIR": str(tmp / "uploads"),  # where Django streams large uploads
            "LOG_LEVEL": "WARNING",
        }
    )
    (tmp / "uploads").mkdir(parents=True, exist_ok=True)
    return env


def recreate_database(dbname: str) -> None:
    import psycopg2

    if not dbname.startswith("rfp_portal_bench_"):
        raise SystemExit(f"refusing to drop {dbname!r}: not a bench database")
    drop_database(dbname)
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{dbname}"')
    conn.close()


def drop_database(dbname: str) -> None:
    import psycopg2

    if not dbname.startswith("rfp_portal_bench_"):
        return
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [dbname]
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
    conn.close()


def flush_redis(name: str) -> None:
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DBS[name]).flushdb()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, str(PROJECT_DIR / "manage.py"), *args],
        env=env,
        cwd=PROJECT_DIR,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare(name: str, tmp: Path, env: dict[str, str]) -> None:
    """Fresh database, empty Redis DB, migrations and collected static files."""
    recreate_database(f"rfp_portal_bench_{name}")
    flush_redis(name)
    manage(env, "receipt_key", "create", "--if-missing")  # production signs receipts with it
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")


def cleanup(name: str, tmp: Path) -> None:
    """Drop the bench database, flush its Redis DB and remove its temporary directory."""
    if "django.db" in sys.modules:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
    drop_database(f"rfp_portal_bench_{name}")
    flush_redis(name)
    shutil.rmtree(tmp, ignore_errors=True)


def django_setup(env: dict[str, str]) -> None:
    """Configure Django in this process with the bench environment."""
    os.environ.update(env)
    for path in (str(PROJECT_DIR), str(BENCH_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    import django

    django.setup()


# --- Processes ---------------------------------------------------------------------------------


class Processes:
    """Starts processes and stops exactly those (and the children they had), by PID."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []
        self.children_seen: set[int] = set()

    def start(self, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        handle = log.open("ab")
        proc = subprocess.Popen(
            cmd, env=env, cwd=PROJECT_DIR, stdout=handle, stderr=subprocess.STDOUT
        )
        self.started.append(proc)
        return proc

    def note_children(self) -> None:
        for proc in self.started:
            self.children_seen.update(children_of(proc.pid))

    def stop_all(self) -> None:
        self.note_children()
        for proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in self.children_seen:  # a worker orphaned by a crashed master
            if _alive_child(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _alive_child(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"gunicorn" in cmdline or b"celery" in cmdline


def children_of(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def pids_named(*names: str) -> list[int]:
    """Processes whose command name starts with one of names (e.g. the PostgreSQL backends)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith(names):
            found.append(int(entry.name))
    return found


class CpuAccount:
    """CPU seconds used by each group of processes between start() and stop(): who pays for
    a request (web workers, Celery, PostgreSQL, Redis, this client). Processes that start in
    between count in full; on a machine shared with other PostgreSQL users, theirs count too."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}
        self.used: dict[str, float] = {}

    def _snapshot(self) -> dict[str, dict[int, float]]:
        shot = {}
        for name, spec in self.groups.items():
            # A group is a function giving its PIDs, or (that function, a measure of one PID).
            pids, measure = spec if isinstance(spec, tuple) else (spec, lambda p: cpu_seconds([p]))
            shot[name] = {pid: measure(pid) for pid in pids()}
        shot["client (this bench)"] = {0: sum(os.times()[:2])}
        return shot

    def start(self) -> None:
        self.before = self._snapshot()

    def stop(self) -> dict[str, float]:
        after = self._snapshot()
        self.used = {
            name: sum(t - self.before[name].get(pid, 0.0) for pid, t in pids.items())
            for name, pids in after.items()
        }
        return self.used

    def per(self, count: int) -> str:
        return ", ".join(f"{name} {1000 * t / max(1, count):.0f}" for name, t in self.used.items())


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all CPUs; /proc/stat: all but idle and
    iowait): with a CpuAccount, what processes outside the bench used meanwhile."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KB."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def descendants_of(pid: int) -> list[int]:
    """Children, grandchildren, ... of a process (as listed by its main thread)."""
    found, todo = [], children_of(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children_of(child)
    return found


def subtree_cpu_seconds(pid: int) -> float:
    """CPU time of everything a process started: its finished (waited-for) children's
    (cutime + cstime) plus, for each live descendant, its own and its finished children's.
    Keyed by the parent in a CpuAccount, a child that ends between two snapshots is counted
    once: live in the first, in the parent's cutime in the second."""
    total = 0
    for number, target in [(pid, False)] + [(d, True) for d in descendants_of(pid)]:
        try:
            fields = Path(f"/proc/{number}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if target:
            total += int(fields[11]) + int(fields[12])  # its own utime, stime
        total += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16 and 17)
    return total / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux: 5 > /proc/PID/clear_refs; our own process)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- S3 on loopback (moto's server, its own process) -------------------------------------------

S3_BUCKET = "rfp-portal-bench"


def start_s3(procs: Processes, tmp: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    """moto's S3 server on a free port, started by `procs` (so stopped with the rest), with an
    empty bucket; returns it and the settings that put the portal's uploads in that bucket."""
    import boto3

    port = free_port()
    server = procs.start(
        [str(BIN_DIR / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        {**os.environ},
        tmp / "s3.log",
    )
    wait_for_port(port)
    settings = {
        "AWS_STORAGE_BUCKET_NAME": S3_BUCKET,
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
    }
    boto3.client(
        "s3",
        endpoint_url=settings["AWS_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=S3_BUCKET)
    return server, settings


def files_under(path: Path) -> int:
    """How many files a directory holds (0 if it does not exist)."""
    return sum(1 for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# --- A minimal SMTP server that accepts and counts every message -------------------------------


# The SMTP sink is the tests' own (tests/helpers/smtp_sink.py), shared with the multi-node test.
SmtpSink = smtp_sink.SmtpSink


# --- PDFs and numbers ---------------------------------------------------------------------------


def make_pdf(size: int, *, pages: int = 1) -> bytes:
    """A valid PDF of about `size` bytes: a few blank pages plus an incompressible attachment."""
    from pypdf import PdfWriter

    def build(padding: int) -> bytes:
        writer = PdfWriter()
        for _ in range(pages):
            writer.add_blank_page(612, 792)
        if padding > 0:
            writer.add_attachment("padding.bin", os.urandom(padding))
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    overhead = len(build(1)) - 1
    return build(max(0, size - overhead))


def blob_id(relative: str) -> str:
    """Git's blob id of a project file as it is on disk now (what `git hash-object` prints;
    compare with `git rev-parse HEAD:<path>`), shortened: which version of the code ran."""
    import hashlib

    try:
        data = (PROJECT_DIR / relative).read_bytes()
    except OSError:
        return "missing"
    digest = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False)
    return digest.hexdigest()[:10]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def machine() -> str:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, {mem_kb / MB:.1f} GB RAM, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, "
        f"load {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}"
    )
