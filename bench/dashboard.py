"""Staff dashboard and reviewer queue with 2,000 proposals, 30 reviewers, 3 reviews each.

    .venv/bin/python bench/dashboard.py [--proposals 2000] [--reviewers 30] [--requests 30]

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


def reuse_breakdown(board, rfp, runs: int) -> dict:
    """Milliseconds (median of `runs`) of calibration and of the rank intervals on the
    dashboard's reviews, scoring every proposal again (results=None, as before) and reusing the
    dashboard's results, run in turns so that the machine's load weighs on both alike."""
    from evaluation import calibration, dashboard, uncertainty

    observations = [
        calibration.Observation(pid, review.reviewer_id, key, score)
        for pid, given in board.reviews.items()
        for review in given
        for key, score in review.scores.items()
        if score is not None
    ]
    places = board.line.places
    times: dict = {}
    for _ in range(runs):
        for reuse in (False, True):
            results = board.results if reuse else None
            started = time.perf_counter()
            calibration.calibrate(observations, board.specs, results=results)
            times.setdefault(("calibrate", reuse), []).append(time.perf_counter() - started)
            started = time.perf_counter()
            uncertainty.rank_intervals(
                board.reviews,
                board.specs,
                places=places,
                rng=dashboard.seed_of(rfp),
                results=results,
            )
            times.setdefault(("intervals", reuse), []).append(time.perf_counter() - started)
    return {key: benchlib.percentile(values, 50) * 1000 for key, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proposals", type=int, default=2000)
    parser.add_argument("--reviewers", type=int, default=30)
    parser.add_argument("--per-proposal", type=int, default=3)
    parser.add_argument("--small", type=int, default=20, help="proposals in the comparison RFP")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument(
        "--cold", type=int, default=3, help="builds timed with the cache cleared before each"
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
        from django.test import Client

        from evaluation import dashboard

        big = evalseed.seed_evaluated_rfp(
            tag="big",
            proposals=args.proposals,
            reviewers=args.reviewers,
            per_proposal=args.per_proposal,
        )
        small = evalseed.seed_evaluated_rfp(
            tag="small",
            proposals=args.small,
            reviewers=args.reviewers,
            per_proposal=args.per_proposal,
        )
        print(f"setup: {time.perf_counter() - t0:.1f} s")

        results = {}
        for name, seeded in (("big", big), ("small", small)):
            staff = Client(HTTP_HOST="127.0.0.1")
            staff.force_login(seeded.staff)
            board_path = f"/staff/rfps/{seeded.rfp.slug}/evaluation/dashboard/"
            results[name, "dashboard"] = measure(staff, board_path, args.requests)
            started = time.perf_counter()
            board = dashboard.build(seeded.rfp)
            build_ms = (time.perf_counter() - started) * 1000
            results[name, "dashboard"]["build_ms"] = build_ms
            results[name, "dashboard"]["rows"] = len(board.rows)
            # Cold: the first view after a review changes computes calibration and the rank
            # intervals again (the dashboard remembers them in the cache by fingerprint).
            cold_build, cold_page = [], []
            for _ in range(args.cold):
                cache.clear()
                started = time.perf_counter()
                dashboard.build(seeded.rfp)
                cold_build.append((time.perf_counter() - started) * 1000)
                cache.clear()
                started = time.perf_counter()
                assert staff.get(board_path, secure=True).status_code == 200
                cold_page.append((time.perf_counter() - started) * 1000)
            results[name, "dashboard"]["cold_build_ms"] = benchlib.percentile(cold_build, 50)
            results[name, "dashboard"]["cold_page_ms"] = benchlib.percentile(cold_page, 50)
            if name == "big":
                reuse = reuse_breakdown(board, seeded.rfp, args.cold)

            reviewer = Client(HTTP_HOST="127.0.0.1")

            def sign_in(index, client=reviewer, people=seeded.reviewers):
                client.force_login(people[index % len(people)])

            sign_in(0)
            results[name, "queue"] = measure(reviewer, "/review/", args.requests, rotate=sign_in)

        for (name, page), r in results.items():
            extra = (
                f", dashboard.build() alone {r['build_ms']:.0f} ms for {r['rows']} rows; "
                f"cold (cache cleared, median of {args.cold}): "
                f"build() {r['cold_build_ms']:.0f} ms, page {r['cold_page_ms']:.0f} ms"
                if "build_ms" in r
                else ""
            )
            print(
                f"{page} ({name}): p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                f"queries {r['query_counts']}, page {r['kb']:.0f} KB{extra}"
            )
        print(
            "calibrate + rank_intervals of the big RFP (median of "
            f"{args.cold}, interleaved): scoring every proposal again "
            f"{reuse['calibrate', False]:.0f} + {reuse['intervals', False]:.0f} ms, "
            f"with the dashboard's results {reuse['calibrate', True]:.0f} + "
            f"{reuse['intervals', True]:.0f} ms"
        )
        board_q, board_q20 = results["big", "dashboard"]["queries"], results["small", "dashboard"]
        queue_q, queue_q20 = results["big", "queue"]["queries"], results["small", "queue"]
        board_q20, queue_q20 = board_q20["queries"], queue_q20["queries"]
        missed = []
        if board_q != board_q20:
            missed.append("dashboard queries grow with proposals")
        if queue_q != queue_q20:
            missed.append("queue queries grow with proposals")
        print(
            f"dashboard: proposals={args.proposals} reviewers={args.reviewers} "
            f"reviews={args.proposals * args.per_proposal} "
            f"dashboard_p50={results['big', 'dashboard']['p50']:.0f}ms "
            f"dashboard_p95={results['big', 'dashboard']['p95']:.0f}ms "
            f"dashboard_queries={board_q} (with {args.small}: {board_q20}) "
            f"dashboard_cold_build={results['big', 'dashboard']['cold_build_ms']:.0f}ms "
            f"dashboard_cold_page={results['big', 'dashboard']['cold_page_ms']:.0f}ms "
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
