"""Evaluation journeys in headless chromium, axe on every page."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from evaluation import services
from evaluation.models import Assignment, Decision, Review
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.browser_sign_in import sign_in
from tests.helpers.mfa import totp_code
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_staff_invite_a_reviewer_who_sets_up_mfa_and_accepts(
    page, browser, live_server, open_rfp, staff, password, assert_accessible
):
    newcomer = UserFactory(email="newrev@uni.example.edu")
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{open_rfp.slug}/evaluation/")
    assert_accessible(page)
    page.get_by_label("Reviewer's e-mail address").fill(newcomer.email)
    page.get_by_role("button", name="Invite reviewer").click()
    expect(page.locator(".messages")).to_contain_text("invitation has been sent")
    body = OutboxMessage.objects.get(to=newcomer.email).body_text
    link = re.search(r"https?://\S+/reviewers/join/\S+/", body).group(0)

    context = browser.new_context(base_url=live_server.url)
    reviewer_page = context.new_page()
    reviewer_page.goto("/" + link.split("://", 1)[1].split("/", 1)[1])
    reviewer_page.get_by_label("Email").fill(newcomer.email)
    reviewer_page.get_by_label("Password").fill(password)
    reviewer_page.get_by_role("button", name="Sign In").click()
    expect(reviewer_page.get_by_role("heading", level=1)).to_have_text(
        "Invitation to review proposals"
    )
    assert_accessible(reviewer_page)
    reviewer_page.get_by_role("button", name="Join the reviewers").click()
    # Reviewer pages need MFA first: set it up.
    expect(reviewer_page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    reviewer_page.get_by_role("link", name="Activate").first.click()
    reviewer_page.get_by_label("Password").fill(password)
    reviewer_page.get_by_role("button", name="Confirm").click()
    secret = reviewer_page.locator("#authenticator_secret").input_value()
    reviewer_page.get_by_label("Authenticator code").fill(totp_code(secret))
    reviewer_page.get_by_role("button", name="Activate").click()
    reviewer_page.goto("/review/")
    expect(reviewer_page.get_by_role("heading", level=1)).to_have_text("Your review queue")
    assert_accessible(reviewer_page)
    context.close()


def test_b_staff_preview_and_apply_automatic_assignment(
    page,
    evaluation_setup,
    staff,
    password,
    assert_accessible,
):
    open_now(evaluation_setup["rfp"])
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{evaluation_setup['rfp'].slug}/evaluation/")
    page.get_by_label("Reviewers per proposal").fill("2")
    page.get_by_role("button", name="Preview automatic assignment").click()
    expect(page.get_by_role("heading", name="Proposed assignments")).to_be_visible()
    assert_accessible(page)
    assert not Assignment.objects.exists()
    page.get_by_role("button", name="Apply these assignments").click()
    expect(page.locator(".messages")).to_contain_text("4 assignments made")
    assert Assignment.objects.count() == 4


def test_c_reviewer_declares_scores_draft_then_submits_second_declares_conflict(
    page,
    browser,
    live_server,
    evaluation_setup,
    staff,
    password,
    assert_accessible,
):
    s = evaluation_setup
    first, second = s["reviewers"][:2]
    for reviewer in (first, second):
        services.assign(
            proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now()
        )
    open_now(s["rfp"])
    sign_in(page, first.email, password, code=totp_code())
    page.get_by_role("link", name="Reviews").click()
    # Before declaring, the proposal is a number: no title, no content (rule 5).
    expect(page.locator("main")).not_to_contain_text("Alpha proposal")
    page.get_by_role("link", name=f"Proposal #{s['alpha'].pk}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflict of interest")
    expect(page.locator("main")).not_to_contain_text("Alpha proposal")
    assert_accessible(page)
    page.get_by_label("No conflict").check()
    page.get_by_role("button", name="Declare").click()
    expect(page.locator(".review-proposal")).to_contain_text("ten years of Python packaging")
    expect(page.locator("main")).to_contain_text("Alpha proposal")
    assert_accessible(page)
    form = page.locator(".review-form")
    form.get_by_role("group", name="Experience and competency").get_by_label(
        re.compile(r"^\s*4:")
    ).check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft review saved.")
    for name in (
        "Contains every required element",
        "Detailed enough to assess",
        "Format and submission requirements",
    ):
        form.get_by_role("group", name=re.compile(name)).get_by_label("pass").check()
    for name in ("Cost", "Process and timeline"):
        form.get_by_role("group", name=name).get_by_label(re.compile(r"^\s*3:")).check()
    page.get_by_label("Overall comment").fill("Solid team.")
    page.get_by_role("button", name="Submit review").click()
    expect(page.locator(".messages")).to_contain_text("Your review has been submitted.")
    assert Review.objects.get(assignment__reviewer=first).state == "submitted"

    context = browser.new_context(base_url=live_server.url)
    other = context.new_page()
    sign_in(other, second.email, password, code=totp_code())
    other.goto(f"/review/{s['alpha'].pk}/conflict/")
    other.get_by_role("radio", name=re.compile("^Conflict:")).check()
    other.get_by_label("If there is a conflict, what is it?").fill("Former colleague.")
    other.get_by_role("button", name="Declare").click()
    expect(other.locator(".messages")).to_contain_text("removed from your queue")
    assert_accessible(other)
    response = other.goto(f"/review/{s['alpha'].pk}/")
    assert response.status == 404
    context.close()


def test_d_reviewer_asks_a_clarification_and_the_proposer_answers(
    page,
    browser,
    live_server,
    evaluation_setup,
    staff,
    password,
    assert_accessible,
):
    s = evaluation_setup
    reviewer = s["reviewers"][0]
    assignment = services.assign(
        proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now()
    )
    open_now(s["rfp"])
    services.declare_conflict(
        assignment=assignment, user=reviewer, conflict=False, reason="", now=timezone.now()
    )
    sign_in(page, reviewer.email, password, code=totp_code())
    page.goto(f"/review/{s['alpha'].pk}/")
    page.get_by_role("link", name="Ask the team a question").click()
    page.get_by_label("Message").fill("Which of you leads the audit trail work?")
    page.get_by_role("button", name="Ask the team").click()
    expect(page.locator(".thread")).to_contain_text("audit trail work")
    assert_accessible(page)

    context = browser.new_context(base_url=live_server.url)
    team = context.new_page()
    sign_in(team, s["alpha_owner"].email, password)
    team.goto(f"/proposals/{s['alpha'].pk}/")
    team.get_by_role("link", name="Clarifications").click()
    expect(team.locator(".thread")).to_contain_text("Which of you leads")
    team.get_by_label("Message").fill("Alpha's lead maintainer does.")
    team.get_by_role("button", name="Send answer").click()
    expect(team.locator(".thread")).to_contain_text("lead maintainer does")
    assert_accessible(team)
    context.close()
    page.goto(f"/review/{s['alpha'].pk}/")
    expect(page.locator("#clarifications")).to_contain_text("lead maintainer does")


def test_e_staff_rank_decide_publish_and_proposer_reads_debrief(
    page,
    browser,
    live_server,
    evaluation_setup,
    staff,
    password,
    assert_accessible,
):
    s = evaluation_setup
    rfp = s["rfp"]
    open_now(rfp)
    reviewer = s["reviewers"][0]
    for proposal, score in ((s["alpha"], 5), (s["beta"], 2)):
        assignment = services.assign(
            proposal=proposal, reviewer=reviewer, staff_user=staff, now=timezone.now()
        )
        services.declare_conflict(
            assignment=assignment, user=reviewer, conflict=False, reason="", now=timezone.now()
        )
        services.save_review(
            assignment=assignment,
            user=reviewer,
            overall_comment="",
            submit=True,
            now=timezone.now(),
            assessments=assessments(rfp, score),
        )
    sign_in(page, staff.email, password, code=totp_code())
    page.get_by_role("link", name="Staff").click()
    page.get_by_role("link", name=f"Dashboard {rfp.title}").click()
    rows = page.locator(".ranking-table tbody tr")
    expect(rows.nth(0)).to_contain_text("Alpha proposal")
    expect(page.locator("svg.chart").first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="decide Alpha proposal").click()
    page.get_by_label("selected", exact=True).check()
    page.get_by_label("Rationale").fill("Best scores and a credible plan.")
    page.locator("input[name^=award_]").first.fill("24000")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".messages")).to_contain_text("Decision recorded")
    page.get_by_role("link", name="decide Beta proposal").click()
    expect(page.get_by_role("table", name="Awards to all selected proposals")).to_contain_text(
        "USD 24,000"
    )
    assert_accessible(page)
    page.get_by_label("not selected").check()
    page.get_by_label("Rationale").fill("Less detail on the timeline.")
    page.get_by_role("button", name="Record decision").click()
    assert_accessible(page)
    page.get_by_role("link", name="Publish all decisions…").click()
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name=re.compile("^Publish and e-mail")).click()
    expect(page.locator(".messages")).to_contain_text("Decisions published")
    assert Decision.objects.count() == 2
    assert OutboxMessage.objects.filter(template="evaluation/email/decision").count() == 2

    context = browser.new_context(base_url=live_server.url)
    team = context.new_page()
    sign_in(team, s["alpha_owner"].email, password)
    team.goto(f"/proposals/{s['alpha'].pk}/decision/")
    expect(team.get_by_role("heading", level=2).first).to_have_text("Selected")
    expect(team.locator("main")).to_contain_text("Best scores and a credible plan.")
    expect(team.get_by_role("table", name="Your scores")).to_contain_text("5.00")
    expect(team.get_by_role("table", name="Awards by feature")).to_contain_text("USD 24,000")
    expect(team.locator("main")).not_to_contain_text("Beta proposal")
    assert_accessible(team)
    context.close()


def test_f_staff_start_an_export_follow_it_and_download_it(
    page, evaluation_setup, staff, password, assert_accessible, worker
):
    """The export runs on a real Celery worker over Redis; the test holds the export's row for a
    moment, so the page is seen mid-render (progress bar) before the download link appears."""
    import zipfile

    from django.db import transaction

    from evaluation.models import Export

    rfp = evaluation_setup["rfp"]
    open_now(rfp)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{rfp.slug}/evaluation/dashboard/")
    page.get_by_role("link", name=re.compile("Exports")).click()
    assert_accessible(page)
    page.get_by_role("button", name="All proposals (ZIP of PDFs)").click()
    expect(page.locator(".messages")).to_contain_text("started")
    export = Export.objects.get(rfp=rfp, kind="bundle")
    assert wait_until(lambda: Export.objects.get(pk=export.pk).state == "running", timeout=30)
    with transaction.atomic():
        # The worker's next progress update waits on this lock: the render is mid-way.
        Export.objects.select_for_update().get(pk=export.pk)
        page.reload()
        row = page.locator(f"#export-{export.pk}")
        expect(row.locator("progress")).to_be_visible()
        expect(row.get_by_role("link", name=re.compile("Download"))).to_have_count(0)
        assert_accessible(page)
    # Released: the worker finishes and htmx polling swaps in the link without a reload.
    link = page.locator(f"#export-{export.pk}").get_by_role("link", name=re.compile("Download"))
    expect(link).to_be_visible(timeout=30_000)
    assert_accessible(page)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"{rfp.slug}-bundle.zip"
    names = zipfile.ZipFile(download.value.path()).namelist()
    assert len(names) == 2 and all(n.endswith("-summary-and-proposal.pdf") for n in names)


def test_g_staff_download_the_decision_report(
    page, evaluation_setup, staff, password, assert_accessible
):
    rfp = evaluation_setup["rfp"]
    open_now(rfp)
    sign_in(page, staff.email, password, code=totp_code())
    page.goto(f"/staff/rfps/{rfp.slug}/evaluation/exports/")
    page.get_by_role("button", name="Decision report (PDF)").click()
    link = page.get_by_role("link", name=re.compile("Download"))
    expect(link).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"{rfp.slug}-report.pdf"
    from pypdf import PdfReader

    assert rfp.title in PdfReader(download.value.path()).pages[0].extract_text()
