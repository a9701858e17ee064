"""Decision-report PDF for 200 evaluated proposals: render time and peak memory.

    .venv/bin/python bench/report.py [--proposals 200] [--runs 3]

Seeds an opened RFP with 200 proposals, 30 reviewers, 3 reviews per proposal and decisions
(bench/evalseed.py), then renders evaluation.exports.render_report(rfp=...) --runs times, each in
a fresh child process (as a Celery worker's task would run it), and reports the wall time and
the child's peak RSS (VmHWM), and how much of that the render itself added.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import benchlib


def render_once(slug: str) -> None:
    """Child mode: Django is set up from the environment; print one JSON line."""
    import os

    import django

    django.setup()
    from evaluation.exports import render_report
    from proposals.models import RFP

    rfp = RFP.objects.get(slug=slug)
    # Import what rendering needs first, so "added" below is the render, not module loading.
    import weasyprint  # noqa: F401

    before = benchlib.memory_kb(os.getpid())["VmRSS"]
    started = time.perf_counter()
    pdf, problems = render_report(rfp=rfp)
    seconds = time.perf_counter() - started
    peak = benchlib.memory_kb(os.getpid())["VmHWM"]
    import io

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_kb": peak,
                "before_kb": before,
                "bytes": len(pdf),
                "pages": pages,
                "problems": len(problems),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proposals", type=int, default=200)
    parser.add_argument("--reviewers", type=int, default=30)
    parser.add_argument("--per-proposal", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and database")
    parser.add_argument("--render", metavar="SLUG", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.render:
        render_once(args.render)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="rfp-bench-report-"))
    env = benchlib.bench_env("report", tmp, smtp_port=benchlib.free_port())
    print(f"machine: {benchlib.machine()}")
    try:
        t0 = time.perf_counter()
        benchlib.prepare("report", tmp, env)
        benchlib.django_setup(env)
        import evalseed

        seeded = evalseed.seed_evaluated_rfp(
            tag="report",
            proposals=args.proposals,
            reviewers=args.reviewers,
            per_proposal=args.per_proposal,
            decide_every=1,
        )
        from django.db import connections

        connections.close_all()
        print(f"setup: {time.perf_counter() - t0:.1f} s")
        runs = []
        for _ in range(args.runs):
            run = benchlib.run_child([sys.executable, __file__, "--render", seeded.rfp.slug], env)
            runs.append(run)
            print(
                f"render: {run['seconds']:.2f} s, {run['pages']} pages, "
                f"{run['bytes'] / 1024:.0f} KB, peak RSS {run['peak_kb'] / 1024:.0f} MB "
                f"(+{(run['peak_kb'] - run['before_kb']) / 1024:.0f} MB during the render)"
            )
        seconds = sorted(r["seconds"] for r in runs)
        median = seconds[len(seconds) // 2]
        peak = max(r["peak_kb"] for r in runs) / 1024
        added = max(r["peak_kb"] - r["before_kb"] for r in runs) / 1024
        print(
            f"report: proposals={args.proposals} reviews={args.proposals * args.per_proposal} "
            f"runs={args.runs} time_median={median:.2f}s time_max={seconds[-1]:.2f}s "
            f"pages={runs[0]['pages']} pdf={runs[0]['bytes'] / 1024:.0f}KB "
            f"peak_rss={peak:.0f}MB render_added={added:.0f}MB"
        )
        return 0
    finally:
        if not args.keep:
            benchlib.cleanup("report", tmp)


if __name__ == "__main__":
    sys.exit(main())
