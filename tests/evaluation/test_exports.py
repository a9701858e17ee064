"""Exports: the decision report PDF, CSVs, the ZIP bundle; sealing and faults."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from evaluation import decisions, export_requests, exports, services, tasks
from evaluation.models import Export
from rfp_portal.models import AuditEvent
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments, declare_no_conflict, save_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(evaluation_setup, staff):
    s = evaluation_setup
    open_now(s["rfp"])
    for proposal, score in ((s["alpha"], 4), (s["beta"], 2)):
        for reviewer in s["reviewers"][:2]:
            assignment = services.assign(
                proposal=proposal, reviewer=reviewer, staff_user=staff, now=timezone.now()
            )
            declare_no_conflict(assignment, reviewer)
            review = assessments(s["rfp"], score, comment="fine")
            save_review(assignment, reviewer, review, submit=True)
    decisions.record_decision(
        proposal=s["alpha"],
        staff_user=staff,
        outcome="not_selected",
        rationale="Alpha's rationale.",
        awards={},
        confirm_over_cap=False,
        now=timezone.now(),
    )
    return s


def make(kind, s, staff):
    export = Export.objects.create(rfp=s["rfp"], kind=kind, requested_by=staff)
    return exports.run(export.pk)


def test_decision_report_pdf_has_contents_page_numbers_scores_and_links(reviewed, staff):
    export = make("report", reviewed, staff)
    assert export.state == "done" and export.progress == 100
    reader = PdfReader(default_storage.open(export.file.name, "rb"))
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (
        reviewed["rfp"].title,
        "Contents",
        "Ranking and scores",
        "Alpha proposal",
        "Beta proposal",
        "Alpha's rationale.",
        "Reviewer progress",
        "1 / ",
    ):
        assert expected in text, expected
    links = [
        annotation.get_object()
        for annotation in reader.pages[0].get("/Annots", [])
        if annotation.get_object().get("/Subtype") == "/Link"
    ]
    assert len(links) >= 5  # the table of contents links to its sections
    fonts = {
        str(font.get_object().get("/BaseFont"))
        for page in reader.pages
        for font in (page["/Resources"].get("/Font") or {}).values()
    }
    assert any("DejaVu" in name for name in fonts)


def test_scores_csv_has_a_row_per_proposal_reviewer_and_criterion(reviewed, staff):
    export = make("scores", reviewed, staff)
    rows = list(csv.DictReader(io.StringIO(default_storage.open(export.file.name).read().decode())))
    criteria = reviewed["rfp"].criteria.count()
    assert len(rows) == 2 * 2 * criteria
    assert {r["proposal"] for r in rows} == {"Alpha proposal", "Beta proposal"}
    summary = make("summary", reviewed, staff)
    lines = list(csv.reader(io.StringIO(default_storage.open(summary.file.name).read().decode())))
    assert lines[1][2] == "Alpha proposal" and lines[1][0] == "1"


def test_bundle_appends_each_proposers_pdf_and_reports_a_corrupt_one(reviewed, staff):
    beta_version = reviewed["beta"].versions.get()
    with default_storage.open(beta_version.document.name, "wb") as handle:
        handle.write(b"%PDF-1.4 this file was damaged after it was received")
    export = make("bundle", reviewed, staff)
    assert export.state == "done"
    assert [p["title"] for p in export.problems] == ["Beta proposal"]
    archive = zipfile.ZipFile(default_storage.open(export.file.name, "rb"))
    names = archive.namelist()
    alpha = f"{reviewed['alpha'].pk:04d}-summary-and-proposal.pdf"
    assert alpha in names and "PROBLEMS.txt" in names
    assert f"{reviewed['beta'].pk:04d}-as-received.pdf" in names
    reader = PdfReader(io.BytesIO(archive.read(alpha)))
    alpha_pages = reviewed["alpha"].versions.get().document_pages
    assert len(reader.pages) > alpha_pages  # the summary, then the proposer's pages
    assert "Budget check" in reader.pages[0].extract_text() + reader.pages[1].extract_text()


def test_nothing_can_be_exported_before_opening(evaluation_setup, staff):
    with pytest.raises(export_requests.ExportRefused, match="sealed"):
        export_requests.request_export(
            rfp=evaluation_setup["rfp"], kind="report", user=staff, now=timezone.now()
        )


def test_an_export_queued_for_a_sealed_rfp_renders_nothing(evaluation_setup, staff):
    # request_export refuses; this is the worker's own guard (e.g. a row made in the admin).
    export = Export.objects.create(rfp=evaluation_setup["rfp"], kind="bundle", requested_by=staff)
    export = exports.run(export.pk)
    assert export.state == "failed" and not export.file
    assert "sealed" in export.message


def test_running_an_export_twice_keeps_one_file(reviewed, staff):
    export = make("summary", reviewed, staff)
    files = set(default_storage.listdir("exports")[1])
    again = exports.run(export.pk)
    assert again.file.name == export.file.name
    assert set(default_storage.listdir("exports")[1]) == files


def test_staff_page_starts_export_and_download_is_audited_and_refused_to_others(
    client, reviewed, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("staff_exports", args=[reviewed["rfp"].slug])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"kind": "summary"})
    export = Export.objects.get()
    assert export.state == "done"  # in-process here; a worker in production
    assert "Download" in client.get(url).content.decode()
    download = reverse("staff_export_download", args=[reviewed["rfp"].slug, export.pk])
    response = client.get(download)
    assert response["Content-Disposition"].startswith("attachment")
    assert AuditEvent.objects.filter(action="export.downloaded", actor=staff).exists()
    client.force_login(reviewed["alpha_owner"])
    assert client.get(download).status_code == 403


def test_an_export_requested_while_the_broker_is_down_waits_queued_and_the_sweeper_renders_it(
    reviewed, staff, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("[Errno 111] Connection refused")

    monkeypatch.setattr(tasks.run_export, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        export = export_requests.request_export(
            rfp=reviewed["rfp"], kind="scores", user=staff, now=timezone.now()
        )  # the request succeeds: the broker being down is not the staff member's problem
    export.refresh_from_db()
    assert export.state == "queued" and export.attempts == 0 and not export.file
    monkeypatch.undo()  # the broker is back
    # Until it is stranded, its task may merely be waiting behind others: the sweeper waits too.
    assert tasks.sweep_exports() == 0
    export.refresh_from_db()
    assert export.state == "queued"
    Export.objects.filter(pk=export.pk).update(
        created_at=timezone.now() - exports.STRANDED_AFTER - timedelta(seconds=1)
    )
    assert tasks.sweep_exports() == 1  # in-process here; beat's sweeper on a worker in production
    export.refresh_from_db()
    assert export.state == "done" and export.file and export.attempts == 1
    assert tasks.sweep_exports() == 0  # done: nothing is swept again
    assert AuditEvent.objects.filter(action="export.finished").count() == 1


def test_export_decision_report_command_writes_a_pdf(reviewed, tmp_path):
    target = tmp_path / "report.pdf"
    call_command("export_decision_report", reviewed["rfp"].slug, "--output", str(target))
    assert PdfReader(target).pages
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No RFP"):
        call_command("export_decision_report", "nope", "--output", str(target))


def test_status_row_polls_while_running_and_stops_when_done(client, reviewed, staff):
    export = Export.objects.create(
        rfp=reviewed["rfp"], kind="summary", state="running", progress=40
    )
    client.force_login(staff)
    url = reverse("staff_export_status", args=[reviewed["rfp"].slug, export.pk])
    running = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in running and 'value="40"' in running
    exports.run(export.pk)
    done = client.get(url).content.decode()
    assert "hx-trigger" not in done and "Download" in done


def test_a_render_that_dies_midway_can_run_again_and_leaves_one_file(reviewed, staff, monkeypatch):
    export = Export.objects.create(rfp=reviewed["rfp"], kind="summary", requested_by=staff)
    files = (
        set(default_storage.listdir("exports")[1]) if default_storage.exists("exports") else set()
    )

    def crash(_export):
        raise OSError("worker lost mid-render")

    monkeypatch.setitem(exports.RENDERERS, "summary", crash)
    with pytest.raises(OSError):
        exports.run(export.pk)
    export.refresh_from_db()
    assert export.state == "failed" and not export.file
    monkeypatch.undo()
    done = exports.run(export.pk)
    assert done.state == "done"
    assert len(set(default_storage.listdir("exports")[1]) - files) == 1


def test_reviewer_downloads_own_scorecard_pdf_and_others_cannot(client, reviewed):
    reviewer, outsider = reviewed["reviewers"][0], reviewed["reviewers"][2]
    url = reverse("review_scorecard", args=[reviewed["alpha"].pk])
    client.force_login(reviewer)
    response = client.get(url)
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Scorecard: Alpha proposal" in text and "4 (scale 0 to 5)" in text and "fine" in text
    client.force_login(outsider)
    assert client.get(url).status_code == 404
