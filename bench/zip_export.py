"""The ZIP of all proposals (issue 19, point 4): wall time, ZIP size and the worker's peak memory.

    .venv/bin/python bench/zip_export.py [--proposals 300] [--mb 20] [--storage local|s3]
                                          [--old] [--shared-fonts] [--keep]

Seeds an opened RFP with --proposals submitted proposals (bench/evalseed.py: through the real
services, with a small PDF each; one reviewer per proposal), then replaces each stored PDF with a
valid one of --mb MB whose one page shows an image of incompressible bytes, written straight to
the storage (and its size, digest and page count on the version row): going through the upload
check for 6 GB would only measure the check. Then runs the export as the Celery task does
(evaluation.exports.run on an Export row) in a fresh child process, and reports the wall time,
the ZIP's size and members, the child's peak RSS (VmHWM) and how much of it the export added
(after a warm-up: Django, WeasyPrint, one summary rendered, one merge, the storage's client).
The merges run in pdfguard's zygote (its own process, each merge in a forked child under
RLIMIT_AS): reported apart.

--old runs the bundle as it was before issue 19 (built in memory with zipfile into a BytesIO,
every member deflated, copied below) for the before/after figures. --shared-fonts gives every
WeasyPrint render one FontConfiguration (the fix proposed for rfp_portal/pdf_rendering.py: a new
one per render, WeasyPrint's default, leaves some 0.2 MB behind each time). --storage s3 starts
moto's S3 server on a free port (stopped by PID) and points the storage at it.

Target: the child's peak RSS under 300 MB (exit code 1 when missed). Disk: the PDFs, the ZIP's
temporary file and the stored ZIP, all under a temporary directory removed at the end (unless
--keep), with the bench database (rfp_portal_bench_zip, Redis DB 13; with --storage s3:
_zips3, DB 14, and moto's S3 server, which keeps every object in its memory; with
--shared-fonts on local storage: _zipf, DB 14).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import benchlib

TARGET_MB = 300
# Databases rfp_portal_bench_zip, _zips3 and _zipf: runs side by side (12 is test_multi_node's).
benchlib.REDIS_DBS.setdefault("zip", 13)  # the others: 9 rush, 10 dashboard, 11 report
benchlib.REDIS_DBS.setdefault("zips3", 14)
benchlib.REDIS_DBS.setdefault("zipf", 14)  # --shared-fonts: never with --storage s3 at once


def image_pdf(path: Path, size: int) -> int:
    """A one-page PDF of about `size` bytes, written to `path` 1 MB at a time: the page shows
    an image whose stream is random bytes (marked as JPEG: nothing decodes it to copy it), so
    the merge copies it whole into the merged file, as it would a scanned proposal. Returns the
    size written."""
    body = max(1024, size - 1024)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
    ]
    content = b"q 612 0 0 792 0 0 cm /Im0 Do Q"
    offsets = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        for number, obj in enumerate(objects, 1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n%s\nendobj\n" % (number, obj))
        offsets.append(out.tell())
        out.write(
            b"4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (len(content), content)
        )
        offsets.append(out.tell())
        out.write(
            b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width 1000 /Height 1000 "
            b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\n"
            b"stream\n" % body
        )
        left = body
        while left:
            chunk = min(left, benchlib.MB)
            out.write(os.urandom(chunk))
            left -= chunk
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 6\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)
        return out.tell()


def replace_documents(rfp, size: int, scratch: Path) -> None:
    """Each proposal's stored PDF replaced by one of `size` bytes (see image_pdf): on local
    disk in place; on S3 written to `scratch`, uploaded over the same key, removed."""
    from django.core.files.storage import default_storage

    from proposals.models import SubmissionVersion

    versions = SubmissionVersion.objects.filter(proposal__rfp=rfp).order_by("pk")
    on_s3 = hasattr(default_storage, "bucket_name")
    for version in versions:
        name = version.document.name
        path = scratch / "document.pdf" if on_s3 else Path(default_storage.path(name))
        written = image_pdf(path, size)
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(benchlib.MB):
                digest.update(chunk)
        if on_s3:
            default_storage.bucket.upload_file(str(path), default_storage._normalize_name(name))
            path.unlink()
        SubmissionVersion.objects.filter(pk=version.pk).update(
            document_size=written, document_sha256=digest.hexdigest(), document_pages=1
        )


def start_s3(env: dict[str, str], tmp: Path, processes: benchlib.Processes) -> None:
    """moto's S3 server on a free port (stopped by PID at the end), a bucket, and the storage
    settings pointing at it (rfp_portal.config.storage_config)."""
    import boto3

    port = benchlib.free_port()
    processes.start(
        [str(benchlib.BIN_DIR / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env,
        tmp / "moto.log",
    )
    benchlib.wait_for_port(port)
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}  # moto's: any
    env.update(
        keys,
        AWS_STORAGE_BUCKET_NAME="rfp-portal-bench-zip",
        AWS_S3_ENDPOINT_URL=endpoint,
        AWS_S3_REGION_NAME="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
    )
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket="rfp-portal-bench-zip")


def old_render_bundle(export):
    """evaluation.exports.render_bundle before issue 19, verbatim but for the module prefix."""
    import io
    import zipfile

    from django.core.files.storage import default_storage
    from django.utils.translation import gettext as _

    from evaluation import exports
    from proposals.models import Proposal

    proposals = list(
        Proposal.objects.filter(rfp=export.rfp, state=Proposal.State.SUBMITTED)
        .select_related("rfp")
        .order_by("pk")
    )
    problems = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index, proposal in enumerate(proposals, 1):
            slug = f"{proposal.pk:04d}"
            summary = None
            try:
                summary = exports.summary_only_pdf(proposal)
                merged = exports.proposal_summary_pdf(proposal, summary=summary)
                archive.writestr(f"{slug}-summary-and-proposal.pdf", merged)
            except Exception as exc:
                problems.append(exports._problem(proposal, exc))
                if summary is not None:
                    archive.writestr(f"{slug}-summary.pdf", summary)
                version = proposal.versions.order_by("-number").first()
                if version is not None and default_storage.exists(version.document.name):
                    with default_storage.open(version.document.name, "rb") as handle:
                        archive.writestr(f"{slug}-as-received.pdf", handle.read())
            exports._progress(
                export,
                min(95, int(index * 95 / max(1, len(proposals)))),
                _("%(done)s of %(total)s proposals") % {"done": index, "total": len(proposals)},
            )
        if problems:
            archive.writestr(
                "PROBLEMS.txt",
                "\n".join(f"{p['proposal']} {p['title']}: {p['error']}" for p in problems) + "\n",
            )
    return buffer.getvalue(), problems


def export_once(export_id: int, *, old: bool, shared_fonts: bool) -> None:
    """Child mode: run the export as the Celery task does; print one JSON line."""
    import django

    django.setup()
    import weasyprint  # noqa: F401

    from evaluation import exports
    from evaluation.models import Export
    from proposals import pdfguard
    from proposals.models import Proposal

    export = Export.objects.select_related("rfp").get(pk=export_id)
    if shared_fonts:  # the fix proposed for rfp_portal/pdf_rendering.py, measured here
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration

        fonts, write_pdf = FontConfiguration(), HTML.write_pdf

        def with_shared_fonts(self, *args, **kwargs):
            kwargs.setdefault("font_config", fonts)
            return write_pdf(self, *args, **kwargs)

        HTML.write_pdf = with_shared_fonts
    # Warm up as a worker would be after its first task: one summary rendered, one merge.
    first = Proposal.objects.filter(rfp=export.rfp).order_by("pk").first()
    summary = exports.summary_only_pdf(first)
    pdfguard.merge([summary, summary], label="warm-up")
    from django.core.files.storage import default_storage

    default_storage.exists(first.versions.get().document.name)  # the storage's client (S3)
    del summary
    if old:
        exports.RENDERERS[Export.Kind.BUNDLE] = old_render_bundle
    pid = os.getpid()
    before = benchlib.memory_kb(pid)["VmRSS"]
    benchlib.reset_peak(pid)
    started = time.perf_counter()
    done = exports.run(export_id)
    seconds = time.perf_counter() - started
    peak = benchlib.memory_kb(pid)["VmHWM"]
    zygote_peaks = [benchlib.memory_kb(z["pid"]).get("VmHWM", 0) for z in pdfguard.zygotes()]
    import zipfile

    from django.core.files.storage import default_storage

    with default_storage.open(done.file.name, "rb") as handle:  # on S3: spooled to disk
        size = handle.size
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
    print(
        json.dumps(
            {
                "state": done.state,
                "message": done.message,
                "problems": len(done.problems),
                "seconds": seconds,
                "peak_kb": peak,
                "before_kb": before,
                "zip_bytes": size,
                "members": len(infos),
                "stored": sum(i.compress_type == zipfile.ZIP_STORED for i in infos),
                "zygote_peak_kb": max(zygote_peaks, default=0),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proposals", type=int, default=300)
    parser.add_argument("--mb", type=float, default=20, help="size of each proposal's PDF")
    parser.add_argument("--old", action="store_true", help="the in-memory bundle before issue 19")
    parser.add_argument(
        "--shared-fonts",
        action="store_true",
        help="one WeasyPrint FontConfiguration for every render (the fix proposed for "
        "rfp_portal/pdf_rendering.py: a new one per render leaks some 0.2 MB)",
    )
    parser.add_argument(
        "--storage", choices=("local", "s3"), default="local", help="s3: moto's server"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and database")
    parser.add_argument("--export", type=int, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.proposals < 1 or args.mb <= 0:
        parser.error("--proposals must be at least 1 and --mb above 0")
    if args.export:
        export_once(args.export, old=args.old, shared_fonts=args.shared_fonts)
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="rfp-bench-zip-", dir=os.environ.get("BENCH_TMP")))
    name = "zips3" if args.storage == "s3" else "zipf" if args.shared_fonts else "zip"
    env = benchlib.bench_env(name, tmp, smtp_port=benchlib.free_port())
    # The ZIP's temporary file goes where uploads do (FILE_UPLOAD_TEMP_DIR unset: TMPDIR).
    print(f"machine: {benchlib.machine()}")
    print(f"code: evaluation/exports.py {benchlib.blob_id('evaluation/exports.py')}")
    processes = benchlib.Processes()
    try:
        t0 = time.perf_counter()
        if args.storage == "s3":
            start_s3(env, tmp, processes)
        benchlib.prepare(name, tmp, env)
        benchlib.django_setup(env)
        import evalseed

        seeded = evalseed.seed_evaluated_rfp(
            tag="zip", proposals=args.proposals, reviewers=3, per_proposal=1, decide_every=10**9
        )
        print(f"seeded {args.proposals} proposals: {time.perf_counter() - t0:.1f} s")
        t1 = time.perf_counter()
        replace_documents(seeded.rfp, int(args.mb * benchlib.MB), tmp)
        print(f"wrote {args.proposals} PDFs of {args.mb:g} MB: {time.perf_counter() - t1:.1f} s")
        from django.db import connections

        from evaluation.models import Export

        export = Export.objects.create(rfp=seeded.rfp, kind="bundle", requested_by=seeded.staff)
        connections.close_all()
        command = [sys.executable, __file__, "--export", str(export.pk)]
        command += ["--old"] if args.old else []
        command += ["--shared-fonts"] if args.shared_fonts else []
        run = benchlib.run_child(command, env)
        peak = run["peak_kb"] / 1024
        added = (run["peak_kb"] - run["before_kb"]) / 1024
        print(
            f"export: {run['state']} ({run['message']}) in {run['seconds']:.1f} s, "
            f"ZIP {run['zip_bytes'] / benchlib.MB:,.0f} MB, {run['members']} members "
            f"({run['stored']} stored), peak RSS {peak:.0f} MB "
            f"(+{added:.0f} MB during the export), pdfguard zygote peak "
            f"{run['zygote_peak_kb'] / 1024:.0f} MB"
        )
        missed = peak >= TARGET_MB or run["state"] != "done"
        print(
            f"zip: version={'old' if args.old else 'streaming'} storage={args.storage} "
            f"shared_fonts={args.shared_fonts} "
            f"proposals={args.proposals} "
            f"mb={args.mb:g} time={run['seconds']:.1f}s zip={run['zip_bytes'] / benchlib.MB:.0f}MB "
            f"peak_rss={peak:.0f}MB export_added={added:.0f}MB target=<{TARGET_MB}MB "
            f"{'MISSED' if missed else 'met'}"
        )
        return 1 if missed else 0
    finally:
        processes.stop_all()
        if args.keep:
            print(f"kept: {tmp} and database rfp_portal_bench_{name}")
        else:
            benchlib.cleanup(name, tmp)


if __name__ == "__main__":
    sys.exit(main())
