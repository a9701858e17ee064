"""Staff dashboard and reviewer queue with 2,000 (or 20,000) proposals, 3 reviews each.

    .venv/bin/python bench/dashboard.py [--proposals 2000|20000] [--reviewers 30] [--requests 30]

Reviewers scale with the proposals so that none reviews more than --per-reviewer (300): 30 for
2,000 proposals, 200 for 20,000. Above --through-services proposals (2,000), the rest are
bulk-created copies (bench/evalseed.py `_copies`).

Seeds two opened, evaluated RFPs in a fresh PostgreSQL database (bench/evalseed.py): the big
one and one with 20 proposals (its own 30 reviewers, so each reviewer's queue holds only that
RFP). Then serves the real views in-process through django.test.Client (production settings,
HTTPS, a signed-in staff user and reviewers, each with TOTP, so the MFA checks pass as in real
use) and reports the server time per request (p50/p95 over --requests requests) and the number
of SQL queries per request, which must not depend on the number of proposals.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import benchlib


def measure(client, path: str, requests: int, *, rotate=None) -> dict:
    """Server time and queries of `requests` GETs (after two warm-up requests)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        response = client.get(path, secure=True)
        assert response.status_code == 200, (path, response.status_code)
    times, queries, size = [], set(), 0
    for index in range(requests):
        if rotate is not None:
            rotate(index)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, secure=True)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        queries.add(len(captured))
        size = len(response.content)
    return {
        "p50": benchlib.percentile(times, 50),
        "p95": benchlib.percentile(times, 95),
        "queries": max(queries),
        "query_counts": sorted(queries),
        "kb": size / 1024,
    }


def rebuild_times(rfp, runs: int) -> dict:
    """Milliseconds of the read model's rebuild (the Celery task's work,
    evaluation.ranking_snapshot.rebuild) after a change, `runs` times: with the cache cleared
    (a review changed: calibration and the intervals computed again) and with it warm (a
    decision or an assignment changed: the reviews' fingerprint is the same)."""
    from django.core.cache import cache
    from django.db.models import F

    from evaluation import ranking_snapshot
    from evaluation.models import RankingSnapshot

    times: dict = {"cold": [], "warm": []}
    for _ in range(runs):
        for kind in ("cold", "warm"):
            if kind == "cold":
                cache.clear()
            RankingSnapshot.objects.filter(rfp=rfp).update(version=F("version") + 1)
            started = time.perf_counter()
            ranking_snapshot.rebuild(rfp.pk)
            times[kind].append((time.perf_counter() - started) * 1000)
    return {kind: benchlib.percentile(values, 50) for kind, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--reviewers", type=int, default=30, help="at least; see --per-reviewer")
    parser.add_argument(
        "--per-reviewer", type=int, default=300, help="most reviews per reviewer (adds reviewers)"
    )
    parser.add_argument(
        "--through-services",
        type=int,
        default=2000,
        help="proposals made through the services; the rest are bulk-created copies",
    )
    parser.add_argument("--per-proposal", type=int, default=3)
    parser.add_argument("--small", type=int, default=20, help="proposals in the comparison RFP")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument(
        "--cold", type=int, default=3, help="rebuilds timed (cold and warm cache) per RFP"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and database")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="rfp-bench-dashboard-"))
    # No mail is delivered here (no worker); the SMTP address only satisfies production checks.
    env = benchlib.bench_env("dashboard", tmp, smtp_port=benchlib.free_port())
    print(f"machine: {benchlib.machine()}")
    try:
        t0 = time.perf_counter()
        benchlib.prepare("dashboard", tmp, env)
        benchlib.django_setup(env)
        import evalseed
        from django.core.cache import cache
        from django.db.models import F
        from django.test import Client
        from django.utils import timezone

        from evaluation import dashboard, ranking_snapshot
        from evaluation.models import RankingSnapshot

        reviewers = max(args.reviewers, -(-args.proposals * args.per_proposal // args.per_reviewer))
        seeding = time.perf_counter()
        big = evalseed.seed_evaluated_rfp(
            tag="big",
            proposals=args.proposals,
            reviewers=reviewers,
            per_proposal=args.per_proposal,
            through_services=args.through_services,
        )
        seed_big = time.perf_counter() - seeding
        small = evalseed.seed_evaluated_rfp(
            tag="small",
            proposals=args.small,
            reviewers=args.reviewers,
            per_proposal=args.per_proposal,
        )
        print(
            f"setup: {time.perf_counter() - t0:.1f} s (seeding {args.proposals} proposals, "
            f"{reviewers} reviewers: {seed_big:.1f} s)"
        )

        results = {}
        for name, seeded in (("big", big), ("small", small)):
            staff = Client(HTTP_HOST="127.0.0.1")
            staff.force_login(seeded.staff)
            board_path = f"/staff/rfps/{seeded.rfp.slug}/evaluation/dashboard/"
            # The first view: no snapshot yet, so the view builds it (the task's work, once).
            # Above ranking_snapshot.BUILD_IN_REQUEST proposals the view queues the build and
            # redirects (302); no worker runs here, so the bench runs the task's work itself.
            cache.clear()
            started = time.perf_counter()
            first = staff.get(board_path, secure=True)
            assert first.status_code in (200, 302), first.status_code
            if first.status_code == 302:
                ranking_snapshot.rebuild(seeded.rfp.pk)
            first_ms = (time.perf_counter() - started) * 1000
            first_queued = first.status_code == 302
            results[name, "dashboard"] = measure(staff, board_path, args.requests)
            results[name, "dashboard"]["first_ms"] = first_ms
            results[name, "dashboard"]["first_queued"] = first_queued
            # A later page in another order, and a filter: the keys sorted, one page loaded.
            results[name, "deep page"] = measure(
                staff, board_path + "?sort=title&columns=criteria&page=7", args.requests
            )
            results[name, "filtered"] = measure(staff, board_path + "?flag=band", args.requests)
            # Stale: a change bumped the version and its rebuild has not run yet (no worker
            # here): the page shows the last ranking and says so.
            RankingSnapshot.objects.filter(rfp=seeded.rfp).update(
                version=F("version") + 1, rebuilding_since=timezone.now()
            )
            stale = measure(staff, board_path, args.requests)
            assert "being updated" in staff.get(board_path, secure=True).content.decode()
            results[name, "stale"] = stale
            started = time.perf_counter()
            board = dashboard.build(seeded.rfp)
            results[name, "dashboard"]["build_ms"] = (time.perf_counter() - started) * 1000
            results[name, "dashboard"]["rows"] = len(board.rows)
            rebuilt = rebuild_times(seeded.rfp, args.cold)
            results[name, "dashboard"]["rebuild_cold_ms"] = rebuilt["cold"]
            results[name, "dashboard"]["rebuild_warm_ms"] = rebuilt["warm"]
            snapshot = RankingSnapshot.objects.get(rfp=seeded.rfp)
            results[name, "dashboard"]["snapshot_kb"] = len(snapshot.data) / 1024
            del board

            reviewer = Client(HTTP_HOST="127.0.0.1")

            def sign_in(index, client=reviewer, people=seeded.reviewers):
                client.force_login(people[index % len(people)])

            sign_in(0)
            results[name, "queue"] = measure(reviewer, "/review/", args.requests, rotate=sign_in)

        for (name, page), r in results.items():
            extra = (
                f"; first view ({'queued; the task builds' if r['first_queued'] else 'builds'} "
                f"the snapshot) {r['first_ms']:.0f} ms; "
                f"dashboard.build() alone {r['build_ms']:.0f} ms for {r['rows']} rows; "
                f"rebuild (the task, median of {args.cold}) {r['rebuild_cold_ms']:.0f} ms after a "
                f"review (cache cold), {r['rebuild_warm_ms']:.0f} ms after a decision (warm); "
                f"header {r['snapshot_kb']:.0f} KB"
                if "build_ms" in r
                else ""
            )
            print(
                f"{page} ({name}): p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                f"queries {r['query_counts']}, page {r['kb']:.0f} KB{extra}"
            )
        board_q, board_q20 = results["big", "dashboard"]["queries"], results["small", "dashboard"]
        queue_q, queue_q20 = results["big", "queue"]["queries"], results["small", "queue"]
        board_q20, queue_q20 = board_q20["queries"], queue_q20["queries"]
        missed = []
        if board_q != board_q20:
            missed.append("dashboard queries grow with proposals")
        if queue_q != queue_q20:
            missed.append("queue queries grow with proposals")
        for page in ("deep page", "filtered", "stale"):
            if results["big", page]["queries"] != results["small", page]["queries"]:
                missed.append(f"{page} queries grow with proposals")
        target = 150 if args.proposals <= 2000 else 1000
        if results["big", "dashboard"]["p50"] > target:
            missed.append(f"dashboard p50 over {target} ms")
        print(
            f"dashboard: proposals={args.proposals} reviewers={reviewers} "
            f"reviews={args.proposals * args.per_proposal} "
            f"dashboard_p50={results['big', 'dashboard']['p50']:.0f}ms "
            f"dashboard_p95={results['big', 'dashboard']['p95']:.0f}ms "
            f"dashboard_queries={board_q} (with {args.small}: {board_q20}) "
            f"rebuild_cold={results['big', 'dashboard']['rebuild_cold_ms']:.0f}ms "
            f"rebuild_warm={results['big', 'dashboard']['rebuild_warm_ms']:.0f}ms "
            f"queue_p50={results['big', 'queue']['p50']:.0f}ms "
            f"queue_p95={results['big', 'queue']['p95']:.0f}ms "
            f"queue_queries={queue_q} (with {args.small}: {queue_q20}) "
            f"{'FAIL(' + '; '.join(missed) + ')' if missed else 'PASS'}"
        )
        return 1 if missed else 0
    finally:
        if not args.keep:
            benchlib.cleanup("dashboard", tmp)


if __name__ == "__main__":
    sys.exit(main())
