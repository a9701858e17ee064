"""Staff exports: the decision report (PDF), scores (CSV), a score summary (CSV), and a ZIP of
every proposal's summary with its PDF appended. Requested through evaluation.export_requests,
rendered here by a task (evaluation.tasks.run_export), stored through the default storage,
downloaded through a permission-checked view. Each export is an audit event.

Exports read proposal content, so they obey sealing: nothing is exported before opening.

The decision report also gives what issue 17 adds for a board (point 5): the method in one
paragraph, calibrated against raw scores with each reviewer's leniency, the picture of rank
intervals at the dashboard's funding line, the funding plan with the plan page's default options
against budgets and caps next to the awards decided, the band and every lottery's record. It
computes nothing of its own: it calls evaluation.dashboard, plan_adoption and lottery.

Over 400 lines: every export reads the same dashboard rows and words (flags, awards, the
report's sections); split by kind, each file would rebuild the same context.
"""

from __future__ import annotations

import csv
import gc
import io
import secrets
import tempfile
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from evaluation import (
    dashboard,
    decisions,
    funding_plan,
    lottery,
    plan_adoption,
    scoring,
    selectors,
)
from evaluation.models import Assessment, Assignment, Decision, Export
from proposals import pdfguard
from proposals import rules as proposal_rules
from proposals import selectors as proposal_selectors
from proposals.models import RFP, Proposal
from proposals.submission import budget_check_for
from rfp_portal import audit, deadlines
from rfp_portal.audit import AuditAction
from rfp_portal.formatting import number
from rfp_portal.pdf_rendering import render_pdf

EXTENSIONS = {
    Export.Kind.REPORT: "pdf",
    Export.Kind.SCORES: "csv",
    Export.Kind.SUMMARY: "csv",
    Export.Kind.BUNDLE: "zip",
}
# An export still queued and never started this long after its request is taken to be stranded.
STRANDED_AFTER = timedelta(minutes=5)


def _progress(export: Export, value: int, message: str = "") -> None:
    Export.objects.filter(pk=export.pk).update(progress=value, message=message)


def run(export_id: int) -> Export:
    """Render one export. Idempotent: a finished export is left alone; a rerun after a crash
    starts over and replaces nothing already stored (one file results)."""
    export = Export.objects.select_related("rfp").get(pk=export_id)
    if export.state == Export.State.DONE:
        return export
    if proposal_rules.is_sealed(export.rfp):  # however it was queued, a sealed RFP exports nothing
        Export.objects.filter(pk=export.pk).update(
            state=Export.State.FAILED,
            message=_("Proposals are sealed until the deadline; nothing can be exported."),
            finished_at=timezone.now(),
        )
        export.refresh_from_db()
        return export
    Export.objects.filter(pk=export.pk).update(
        state=Export.State.RUNNING, progress=1, attempts=F("attempts") + 1
    )
    try:
        data, problems = RENDERERS[export.kind](export)
    except Exception as exc:
        Export.objects.filter(pk=export.pk).update(
            state=Export.State.FAILED,
            message=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        raise
    suffix = EXTENSIONS[export.kind]
    name = f"exports/{export.rfp.slug}-{export.kind}-{secrets.token_urlsafe(12)}.{suffix}"
    # Bytes, or (the bundle) a temporary file, closed (and so deleted) once stored or not.
    content = data if isinstance(data, File) else ContentFile(data)
    with content, transaction.atomic():
        export = Export.objects.select_for_update().get(pk=export.pk)
        if export.state == Export.State.DONE:  # another worker finished first
            return export
        export.file.save(name, content, save=False)
        export.state = Export.State.DONE
        export.progress = 100
        export.problems = problems
        export.message = (
            _("Done, with problems in %(n)s proposal(s).") % {"n": len(problems)}
            if problems
            else _("Done.")
        )
        export.finished_at = timezone.now()
        export.save()
        audit.record(
            action=AuditAction.EXPORT_FINISHED,
            actor=export.requested_by,
            obj=export.rfp,
            details={"export": export.pk, "kind": export.kind, "problems": problems},
        )
    return export


def stranded_ids(*, now: datetime, limit: int = 20) -> list[int]:
    """Exports still waiting, never started, long after they were requested: their task could
    not be queued (the broker was down when the request committed), so the sweeper queues it.

    Waiting a while first leaves an export whose task is merely behind others in the queue to
    that task; were both to run, one file would still result (see run)."""
    return list(
        Export.objects.filter(
            state=Export.State.QUEUED, attempts=0, created_at__lt=now - STRANDED_AFTER
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


# --- Renderers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportEntry:
    """One proposal in the report: its dashboard row, its flags in words, its awards."""

    row: dashboard.Row
    flags: list[str]
    awards: decisions.AwardTotals

    @property
    def formula(self) -> str:
        return scoring.overall_formula(self.row.result)


def flag_words(row: dashboard.Row) -> list[str]:
    """The dashboard's flags of one proposal, each in words of its own."""
    words = []
    if row.result.gate_failed:
        words.append(_("A reviewer failed it at a gate"))
    elif row.result.gate_flagged:
        words.append(_("A reviewer was unsure at a gate"))
    if row.result.disagreement:
        words.append(_("Reviewers disagree widely"))
    if row.result.incomplete:
        words.append(
            _("%(done)s of %(due)s reviews submitted")
            % {"done": row.result.reviews, "due": row.result.assigned}
        )
    if row.budget.any_over_cap:
        words.append(_("A requested amount is over its feature's cap"))
    if not row.budget.total_within_cap:
        words.append(_("The total requested is over the total cap"))
    return words


# The most proposals the picture of rank intervals shows on a landscape page, where its words
# are larger; a picture of more keeps the portrait page, the only one tall enough for it.
WIDE_CHART_ROWS = 14


def method_paragraph(board: dashboard.Dashboard) -> str:
    """How the report's figures are made, in one plain paragraph (after Overall's definition):
    calibration, the rank intervals, the band, the plan and the lottery."""
    resamples = board.uncertainty.resamples if board.uncertainty else 1000
    return _(
        "Calibration reads every score as the proposal's quality on that criterion plus the "
        "reviewer's leniency plus noise, fits them by least squares with a small ridge penalty "
        "on the leniencies, and takes each reviewer's leniency out of the means: the calibrated "
        "Overall is what a reviewer of the panel's average leniency would have given. The 80 %% "
        "rank intervals come from redrawing each proposal's reviews at random %(n)s times (a "
        "bootstrap with a fixed seed, so the report gives the same figures every time) and "
        "ranking again: 8 redraws in 10 fall inside a proposal's interval. The band at the "
        "funding line holds the proposals whose interval crosses the line: their reviews cannot "
        "set them apart from the proposals across it. The funding plan is the set of awards "
        "worth most within each feature's budget and cap and the RFP's total, found exactly as "
        "an integer program. Ties inside the band may be broken by a lottery whose seed is "
        "committed (its SHA-256 recorded) before the draw and revealed after, so anyone can "
        "redo the draw."
    ) % {"n": number(resamples, 0)}


@dataclass(frozen=True)
class DecidedAward:
    """One award actually decided for a feature: to whom, and how much."""

    title: str
    amount: Decimal


def decided_by_feature(board: dashboard.Dashboard) -> dict[int, list[DecidedAward]]:
    """{feature id: the awards the recorded decisions give it}, selected proposals only."""
    out: dict[int, list[DecidedAward]] = {}
    for row in sorted(board.rows, key=lambda r: r.proposal.pk):
        decision = row.decision
        if decision is None or decision.outcome != Decision.Outcome.SELECTED:
            continue
        for feature_id, amount in (decision.awards or {}).items():
            value = Decimal(str(amount))
            if value:
                out.setdefault(int(feature_id), []).append(DecidedAward(row.proposal.title, value))
    return out


def report_plan(rfp: RFP) -> plan_adoption.PlanView:
    """The funding plan as the plan page first shows it: its default options."""
    return plan_adoption.build(rfp, funding_plan.Options())


def report_context(rfp: RFP, *, now: datetime) -> dict:
    board = dashboard.build(rfp)
    conflicts = (
        Assignment.objects.filter(proposal__rfp=rfp, conflict=Assignment.Conflict.DECLARED)
        .select_related("reviewer", "proposal")
        .order_by("proposal_id")
    )
    features = selectors.award_features(rfp)
    ranks_chart, chart_first, chart_last = dashboard.intervals_chart(board)
    chart_count = chart_last - chart_first + 1 if ranks_chart else 0
    plan = report_plan(rfp)
    labels = {row.proposal.pk: row.proposal.title for row in board.rows}
    return {
        "rfp": rfp,
        "board": board,
        "entries": [
            ReportEntry(
                row=row,
                flags=flag_words(row),
                awards=decisions.decision_awards(row.decision, rfp, features),
            )
            for row in board.rows
        ],
        "awards": decisions.rfp_awards(rfp, features),
        "scale": decisions.scale_text(board.scored),
        "definition": decisions.overall_definition(board.criteria),
        "method": method_paragraph(board),
        "heat": dashboard.heat_map(board),
        "distributions": dashboard.distribution_charts(board, ident="d"),
        "ranks_chart": ranks_chart,
        "chart_count": chart_count,
        "chart_wide": chart_count <= WIDE_CHART_ROWS,
        "band": [row for row, interval in board.intervals if interval.in_band],
        "plan": plan,
        "decided": decided_by_feature(board),
        "lotteries": lottery.public_records(rfp),
        "labels": labels,
        "conflicts": conflicts,
        "generated": now,
        "deadline_text": deadlines.format_deadline(rfp.deadline_instant, rfp.deadline_zone),
    }


def render_report(export: Export | None = None, *, rfp: RFP | None = None) -> tuple[bytes, list]:
    rfp = rfp or export.rfp
    if export is not None:
        _progress(export, 20, _("Computing scores"))
    context = report_context(rfp, now=timezone.now())
    if export is not None:
        _progress(export, 60, _("Rendering the PDF"))
    return render_pdf("evaluation/report_pdf.html", context), []


def render_scores(export: Export) -> tuple[bytes, list]:
    rfp = export.rfp
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "proposal_id",
            "proposal",
            "reviewer",
            "review_state",
            "criterion",
            "kind",
            "weight",
            "score",
            "verdict",
            "comment",
            # The proposal's, on each of its rows (issue 17): raw and calibrated Overall, and
            # its expected rank with the 80 % interval at the dashboard's default funding line.
            "overall",
            "calibrated_overall",
            "expected_rank",
            "rank_low_80",
            "rank_high_80",
            "in_band",
        ]
    )
    board = {row.proposal.pk: row for row in dashboard.build(rfp).rows}
    rows = (
        Assessment.objects.filter(review__assignment__proposal__rfp=rfp)
        .select_related("review__assignment__proposal", "review__assignment__reviewer", "criterion")
        .order_by(
            "review__assignment__proposal_id",
            "review__assignment__reviewer__email",
            "criterion__position",
        )
    )
    for a in rows.iterator():
        proposal = a.review.assignment.proposal
        writer.writerow(
            [
                proposal.pk,
                proposal.title,
                a.review.assignment.reviewer.email,
                a.review.state,
                a.criterion.name,
                a.criterion.kind,
                a.criterion.weight or "",
                "" if a.score is None else a.score,
                a.verdict,
                a.comment,
                *_proposal_columns(board.get(proposal.pk)),
            ]
        )
    return buffer.getvalue().encode("utf-8"), []


def _proposal_columns(row: dashboard.Row | None) -> list:
    """A proposal's Overall, calibrated Overall ("" when calibration is not usable), expected
    rank (two places) and 80 % interval ("2" or "2.5" for a shared place), and whether it is
    in the band; all empty for a proposal off the dashboard (withdrawn) or without a rank."""
    if row is None:
        return [""] * 6
    interval = row.interval
    return [
        row.overall_points or "",
        "" if row.calibrated_points is None else row.calibrated_points,
        "" if interval is None else round(Decimal(interval.expected_rank), 2),
        "" if interval is None else f"{interval.low:g}",
        "" if interval is None else f"{interval.high:g}",
        "" if interval is None else interval.in_band,
    ]


def render_summary(export: Export) -> tuple[bytes, list]:
    board = dashboard.build(export.rfp)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "rank",
            "proposal_id",
            "proposal",
            "reviews",
            "assigned",
            *[f"{c.name} (mean)" for c in board.scored],
            "overall",
            "median",
            "spread",
            "gate failed",
            "disagreement",
            "requested total",
            "decision",
        ]
    )
    for row in board.rows:
        writer.writerow(
            [
                row.rank or "",
                row.proposal.pk,
                row.proposal.title,
                row.result.reviews,
                row.result.assigned,
                *[scoring.as_decimal(row.result.criteria[c.key].mean) or "" for c in board.scored],
                row.overall_points or "",
                row.median_points or "",
                row.spread_points or "",
                row.result.gate_failed,
                row.result.disagreement,
                row.budget.total_requested,
                row.decision.outcome if row.decision else "",
            ]
        )
    return buffer.getvalue().encode("utf-8"), []


def summary_only_pdf(proposal: Proposal) -> bytes:
    """The structured fields, budget check, version and digests (our own HTML, no user PDF)."""
    version = proposal.versions.order_by("-number").first()
    fields = version.fields.get("fields", {}) if version else {}
    return render_pdf(
        "evaluation/summary_pdf.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "version": version,
            "answers": proposal_selectors.readable_answers(proposal.rfp, fields),
            "budget": budget_check_for(proposal.rfp, fields),
            "generated": timezone.now(),
        },
    )


def proposal_summary_pdf(proposal: Proposal, *, summary: bytes | None = None) -> bytes:
    """The summary, then the proposer's PDF. The merge parses the proposer's file, so it runs
    in a bounded child process (proposals/pdfguard.py): pdfguard.TooComplex if the file is over
    the limits, pdfguard.Damaged or Encrypted if it cannot be read."""
    summary = summary if summary is not None else summary_only_pdf(proposal)
    version = proposal.versions.order_by("-number").first()
    if version is None:
        return summary
    with default_storage.open(version.document.name, "rb") as handle:
        document = handle.read()
    return pdfguard.merge([summary, document], label=f"proposal {proposal.pk}")


def _problem(proposal: Proposal, exc: Exception) -> dict:
    if isinstance(exc, pdfguard.TooComplex):
        error = _(
            "The proposer's PDF could not be included: it is too complex to merge within the "
            "portal's time and memory limits. The file as received is in the bundle."
        )
    elif isinstance(exc, pdfguard.PDFGuardError):
        error = _(
            "The proposer's PDF could not be included: it cannot be read (damaged or "
            "encrypted). The file as received is in the bundle."
        )
    else:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return {"proposal": proposal.pk, "title": proposal.title, "error": error}


# The ZIP of all proposals never sits in memory whole: members are written one by one into a
# temporary file (in memory up to BUNDLE_SPOOL_BYTES, then on disk under FILE_UPLOAD_TEMP_DIR),
# a proposer's file as received is copied into it BUNDLE_CHUNK_BYTES at a time, and run() hands
# the file to the storage, which copies it (local disk) or uploads it in parts (S3). PDFs are
# stored as they are (already compressed), PROBLEMS.txt is deflated. The one member held whole is
# a merged "summary and proposal" PDF: the merge parses the file in a bounded child
# (proposals/pdfguard.py), which takes and gives bytes; so the worker holds one proposal at a time
# (about three copies of its PDF while it is merged), whatever the number of proposals
# (bench/zip_export.py).
BUNDLE_SPOOL_BYTES = 8 * 1024 * 1024
BUNDLE_CHUNK_BYTES = 64 * 1024


def _bundle_member(archive: zipfile.ZipFile, name: str, *, deflate: bool = False):
    """A member of the bundle open for writing, dated now (as ZipFile.writestr dates it)."""
    info = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    return archive.open(info, "w")


def _bundle_copy(archive: zipfile.ZipFile, name: str, stored_name: str) -> None:
    """The stored file `stored_name` into the bundle, one chunk at a time."""
    with default_storage.open(stored_name, "rb") as handle, _bundle_member(archive, name) as out:
        while chunk := handle.read(BUNDLE_CHUNK_BYTES):
            out.write(chunk)


def _bundle_write(archive: zipfile.ZipFile, export: Export, proposals: list[Proposal]) -> list:
    problems = []
    for index, proposal in enumerate(proposals, 1):
        slug = f"{proposal.pk:04d}"
        summary = None
        try:
            summary = summary_only_pdf(proposal)
            merged = proposal_summary_pdf(proposal, summary=summary)
        except Exception as exc:  # one broken proposal must not sink the whole bundle
            problems.append(_problem(proposal, exc))
            if summary is not None:
                with _bundle_member(archive, f"{slug}-summary.pdf") as out:
                    out.write(summary)
            version = proposal.versions.order_by("-number").first()
            if version is not None and default_storage.exists(version.document.name):
                _bundle_copy(archive, f"{slug}-as-received.pdf", version.document.name)
        else:
            with _bundle_member(archive, f"{slug}-summary-and-proposal.pdf") as out:
                out.write(merged)
            del merged  # not held while the next proposal is merged
        _progress(
            export,
            min(95, int(index * 95 / max(1, len(proposals)))),
            _("%(done)s of %(total)s proposals") % {"done": index, "total": len(proposals)},
        )
        # A summary's render leaves cyclic garbage (WeasyPrint's boxes) that the collector's
        # rare full passes let pile up: some 1 MB per proposal in a 300-proposal bundle.
        gc.collect()
    if problems:
        with _bundle_member(archive, "PROBLEMS.txt", deflate=True) as out:
            out.write(
                (
                    "\n".join(f"{p['proposal']} {p['title']}: {p['error']}" for p in problems)
                    + "\n"
                ).encode("utf-8")
            )
    return problems


def render_bundle(export: Export) -> tuple[File, list]:
    """The ZIP in a temporary file (run() stores it, then closes it, which deletes it)."""
    proposals = list(
        Proposal.objects.filter(rfp=export.rfp, state=Proposal.State.SUBMITTED)
        .select_related("rfp")
        .order_by("pk")
    )
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by run(), or below)
        max_size=BUNDLE_SPOOL_BYTES, suffix=".zip", dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    try:
        with zipfile.ZipFile(spool, "w") as archive:
            problems = _bundle_write(archive, export, proposals)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return File(spool, name="bundle.zip"), problems


RENDERERS = {
    Export.Kind.REPORT: render_report,
    Export.Kind.SCORES: render_scores,
    Export.Kind.SUMMARY: render_summary,
    Export.Kind.BUNDLE: render_bundle,
}
