"""The transparency log's cost per append, at a large log: `.venv/bin/python
bench/transparency_log.py [--leaves 20000] [--keep]`.

Creates its own PostgreSQL database (rfp_portal_bench_log, dropped at the start and the end)
and a temporary VAR_DIR, loads the demo RFP, and appends --leaves leaves to its log the way a
submit does (proposals.transparency: lock the RFP's log row, build and hash the entry, insert
the leaf, update the frontier and root on the row), one transaction per append, entries of a
receipt's size. Prints the time per append (mean and 99th percentile) over the first and the
last 1,000 appends, which should be about equal (O(log n) per append, not O(n)), and the time
to compute an inclusion and a consistency proof at the full size (what /transparency/<slug>/
proof/ and a receipt download cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import benchlib

DB = "rfp_portal_bench_log"


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "rfp_portal.settings",
            "DATABASE_URL": f"postgres://{benchlib.PG_USER}@{benchlib.PG_HOST}:"
            f"{benchlib.PG_PORT}/{DB}",
            "VAR_DIR": str(tmp / "var"),
            "RECEIPT_KEYS_DIR": str(tmp / "var" / "receipt-keys"),
            "MEDIA_ROOT": str(tmp / "var" / "media"),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"mean {statistics.fmean(samples) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-log-"))
    benchlib.recreate_database(DB)
    try:
        benchlib.django_setup(_env(tmp))
        from django.core.management import call_command
        from django.db import transaction
        from django.utils import timezone

        from proposals import merkle, receipt_signing, transparency
        from proposals.models import TransparencyLog

        call_command("migrate", verbosity=0)
        sys.path.insert(0, str(benchlib.PROJECT_DIR))
        import tomllib

        from proposals import demo, services

        data = tomllib.loads((demo.DEMO_DATA_DIR / "pypi-2019-q4.toml").read_text())
        now = timezone.now()
        rfp = services.load_rfp(
            data, shift=services.demo_shift(data, today=now.date()), now=now
        ).rfp
        filler = "0" * 64
        times: list[float] = []  # the whole transaction, commit included
        held: list[float] = []  # from taking the log row's lock to just before the commit
        pure: list[float] = []  # hashing the entry, the frontier update and the new root
        for _ in range(args.leaves):
            started = time.perf_counter()
            with transaction.atomic():
                log = transparency._locked_log(rfp)
                locked = time.perf_counter()
                entry = receipt_signing.canonical(
                    {
                        "format": "rfp-portal-receipt/2",
                        "portal": "https://portal.example",
                        "rfp_slug": rfp.slug,
                        "rfp_title": rfp.title,
                        "deadline": "2026-01-31T12:00:00Z",
                        "deadline_zone": "AoE",
                        "proposal": filler[:32],
                        "version": 1,
                        "received_at": receipt_signing.utc_iso(timezone.now()),
                        "fields_sha256": filler,
                        "document_sha256": filler,
                        "receipt_code": "R-ABCD-EFGH-JKMN",
                        "key_id": filler[:16],
                        "log_index": log.size,
                    }
                )
                before = time.perf_counter()
                frontier = merkle.Frontier.from_hex(log.size, log.frontier)
                frontier.append(merkle.leaf_hash(entry))
                frontier.root()
                pure.append(time.perf_counter() - before)
                transparency._append_locked(
                    log, kind="receipt", entry=entry, claimed_at=timezone.now(), now=timezone.now()
                )
                held.append(time.perf_counter() - locked)
            times.append(time.perf_counter() - started)
        log = TransparencyLog.objects.get(rfp=rfp)
        assert log.size == args.leaves
        started = time.perf_counter()
        hashes = transparency.leaf_hashes(log, log.size)
        assert merkle.root(hashes).hex() == log.root_hash
        full_root = time.perf_counter() - started
        started = time.perf_counter()
        transparency.inclusion_for(log, log.size // 3, log.size)
        inclusion = time.perf_counter() - started
        started = time.perf_counter()
        transparency.consistency_for(log, log.size // 2 + 1, log.size)
        consistency = time.perf_counter() - started
        print(
            f"transparency log, {args.leaves} appends, one transaction each (commit included): "
            f"first 1,000 {_summary(times[:1000])}; last 1,000 {_summary(times[-1000:])}; "
            f"lock held before the commit, last 1,000: {_summary(held[-1000:])}; hash + "
            f"frontier + root, last 1,000: mean {statistics.fmean(pure[-1000:]) * 1e6:.0f} µs; "
            f"at {log.size} leaves: root from all "
            f"leaves {full_root * 1000:.0f} ms, inclusion proof {inclusion * 1000:.0f} ms, "
            f"consistency proof {consistency * 1000:.0f} ms"
        )
        return 0
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            benchlib.drop_database(DB)
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
