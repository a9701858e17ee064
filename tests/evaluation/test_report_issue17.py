"""The decision report PDF (issue 17, point 5): the method in one paragraph, calibrated against
raw scores with each reviewer's leniency, the picture of rank intervals at the funding line, the
funding plan against budgets and caps next to what was decided, the band and the lottery record
(its commitment, and its seed once drawn); raw scores only, with the reason, when the reviews
cannot be calibrated."""

import io
import os
import random
import re

import pytest
from django.utils import timezone
from pypdf import PdfReader

from evaluation import calibration, dashboard, exports, funding_plan, lottery, plan_adoption
from evaluation.models import PoolMember
from proposals import submission
from proposals.models import Proposal
from rfp_portal.formatting import money
from tests.evaluation.test_dashboard_calibration import biased  # noqa: F401 (a fixture)
from tests.factories import UserFactory
from tests.helpers.lifecycle import decide, features
from tests.helpers.proposals import complete_answers, open_now, pdf_upload
from tests.helpers.reviews import assessments, declare_no_conflict, make_reviewer, save_review

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    """The PDF's text, its whitespace made single spaces (table cells wrap over lines)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def report(rfp, name="report") -> str:
    data, problems = exports.render_report(rfp=rfp)
    assert problems == []
    if folder := os.environ.get("REPORT_PDF_DIR"):  # to look at it: REPORT_PDF_DIR=/tmp/x
        with open(os.path.join(folder, f"{name}.pdf"), "wb") as handle:
            handle.write(data)
    return pdf_text(data)


def test_the_report_shows_method_calibration_intervals_plan_band_and_lottery(biased, staff):  # noqa: F811
    s = biased
    rfp = s["rfp"]
    alpha = s["alpha"]
    first = features(rfp)[0]
    decide(alpha, staff, awards={first: 1000})
    board = dashboard.build(rfp)
    band_ids = [i.proposal_id for i in board.uncertainty.intervals if i.in_band]
    drawn = lottery.commit(
        rfp=rfp, candidates=band_ids, places=1, actor=staff, now=timezone.now(), note=""
    )
    drawn = lottery.draw(lottery=drawn, actor=staff, now=timezone.now())
    pending = lottery.commit(
        rfp=rfp, candidates=band_ids, places=1, actor=staff, now=timezone.now(), note=""
    )
    assert board.calibrated
    text = report(rfp)
    # The method in one paragraph.
    assert "Method" in text
    for words in (
        "fits them by least squares with a small ridge penalty",
        "takes each reviewer's leniency out of the means",
        "redrawing each proposal's reviews at random 1,000 times",
        "found exactly as an integer program",
        "broken by a lottery",
    ):
        assert words in text, words
    # Calibrated next to raw, as the dashboard computes them.
    row = next(r for r in board.rows if r.proposal.pk == alpha.pk)
    assert row.calibrated_points != row.overall_points
    table = text.split("Calibrated and raw")[2]
    line = re.search(r"Alpha proposal (\S+) (\S+) (\S+) (\S+) ", table)
    assert line, table[:600]
    assert line.groups()[:4] == (
        f"{row.overall_points:.2f}",
        f"{row.calibrated_points:.2f}",
        f"{row.rank}{'=' if row.tied else ''}",
        str(row.calibrated_rank),
    )
    # Each reviewer's leniency, signed, with its sentence.
    generous = s["reviewers"][0]
    who, lenient, points = next(t for t in board.leniencies if t[0].email == generous.email)
    assert points.startswith("+")
    assert f"{who.name or who.email} {points} " in text
    assert lenient.sentence in text
    # The intervals picture and its funding line.
    assert "How sure the ranking is" in text
    assert f"Funding line: {board.line.places} funded" in text
    assert f"The funding line is after place {board.line.places}." in text
    # The band, by title.
    band = [r.proposal.title for r, i in board.intervals if i.in_band]
    assert band
    band_text = text.split("The band at the funding line")[-1]
    for title in band:
        assert title in band_text
    # The plan with its default options: each feature's award against its budget and cap,
    # next to what was decided, the total against the limit, and the sensitivity.
    view = plan_adoption.build(rfp, funding_plan.Options())
    assert view.plan.feasible
    plan_text = text.split("Funding plan")[-1].split("The band at the funding line")[0]
    cur = rfp.currency
    for line in view.plan.lines:
        award = line.awards[0]
        assert (
            f"{view.labels[award.proposal_id]}: {money(award.amount, cur)} "
            f"{money(line.feature.budget, cur)} {money(line.feature.cap, cur)} Within budget"
        ) in plan_text, line.feature.name
    assert f"Alpha proposal: {money(1000, cur)}" in plan_text.split(first.name)[1]  # decided
    assert "nothing awarded" in plan_text  # the other features were not decided
    assert f"In all {money(view.plan.total, cur)}, within the RFP's total cap of " in plan_text
    assert "Budgets, caps and the total 10 % lower" in plan_text
    assert "Budgets, caps and the total 10 % higher" in plan_text
    # The lotteries: the drawn one with its commitment, seed and order; the other not drawn.
    lottery_text = text.split("Lotteries")[-1]
    assert f"Lottery {drawn.pk} · drawn" in lottery_text
    assert drawn.commitment in lottery_text.replace(" ", "")
    assert drawn.seed in lottery_text.replace(" ", "")
    chosen = lottery.chosen(drawn.result, 1)[0]
    title = next(r.proposal.title for r in board.rows if r.proposal.pk == chosen)
    assert f"{title} (chosen)" in lottery_text
    assert f"Lottery {pending.pk} · committed, not drawn yet" in lottery_text
    assert pending.seed not in lottery_text.replace(" ", "")
    assert "T00:" not in text and "Decimal(" not in text and "+00:00" not in text


@pytest.fixture
def one_reviewer(evaluation_setup, staff):
    """Alpha and Beta scored by one reviewer only: calibration cannot compare reviewers."""
    s = evaluation_setup
    rfp = s["rfp"]
    open_now(rfp)
    reviewer = s["reviewers"][0]
    for proposal, score in ((s["alpha"], 4), (s["beta"], 2)):
        assignment = s["assign"](proposal, reviewer, staff)
        declare_no_conflict(assignment, reviewer)
        save_review(assignment, reviewer, assessments(rfp, score), submit=True)
    return s


def test_without_usable_calibration_the_report_says_why_and_shows_raw_scores_only(one_reviewer):
    rfp = one_reviewer["rfp"]
    fit = calibration.calibrate_rfp(rfp)
    assert not fit.usable and fit.reason == calibration.ONE_REVIEWER
    text = report(rfp, "raw-only")
    section = text.split("Calibrated and raw scores")[2].split("The funding line is after")[0]
    assert fit.message in section
    assert "Raw scores only" in section
    assert "Calibrated Overall" not in section and "Calibrated rank" not in section
    assert "Reviewer leniency" not in text
    assert "Alpha proposal 4.00 1 " in section  # raw Overall and raw rank
    assert "No lottery was drawn or committed for this RFP." in text


TITLES = (
    "TUF for PyPI by the Notary team",
    "Signed uploads with Sigstore",
    "Malware scanning pipeline",
    "PyPI supply-chain hardening",
    "Warehouse security sprint",
    "Package integrity checks",
    "Trusted publishing, end to end",
    "Upload heuristics and triage",
    "Security documentation overhaul",
    "Key management for PyPI",
)


def bid(rfp, owner, title, amounts):
    """A submitted proposal asking `amounts` (one per feature, in the features' order)."""
    proposal = submission.start_proposal(rfp=rfp, user=owner, title=title, now=timezone.now())
    fields = complete_answers(rfp)
    fields["budget"] = {str(f.pk): str(a) for f, a in zip(features(rfp), amounts, strict=True)}
    proposal = submission.save_draft(
        proposal=proposal,
        user=owner,
        title=title,
        fields=fields,
        document=pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    submission.submit_proposal(
        proposal=proposal, user=owner, expected_edit=proposal.edit_count, now=timezone.now()
    )
    return proposal


@pytest.fixture
def panel(evaluation_setup, staff):
    """A realistic RFP: ten proposals with their own amounts, five reviewers of different
    leniency, three reviews each, two decisions and a lottery drawn among the band."""
    s = evaluation_setup
    rfp = s["rfp"]
    rng = random.Random(2019)
    reviewers = list(s["reviewers"]) + [
        make_reviewer(f"extra{i}@lab{i}.example.org", f"Lab {i}") for i in range(2)
    ]
    for reviewer in reviewers[3:]:
        PoolMember.objects.create(rfp=rfp, user=reviewer)
    proposals = [
        bid(
            rfp,
            UserFactory(email=f"team{i}@team{i}.example.io"),
            title,
            [rng.choice((22000, 25000, 28000)), rng.choice((18000, 20000, 24000)), 3000],
        )
        for i, title in enumerate(TITLES)
    ]
    quality = [rng.uniform(1.5, 4.5) for _ in proposals]
    leniency = (0.8, 0.0, -0.7, 0.4, -0.5)
    assigned = []
    for p, proposal in enumerate(proposals):
        for r in ((p + k) % len(reviewers) for k in range(3)):
            assigned.append((p, reviewers[r], r, s["assign"](proposal, reviewers[r], staff)))
    open_now(rfp)
    for p, reviewer, r, assignment in assigned:
        declare_no_conflict(assignment, reviewer)
        scores = {
            c.key: max(0, min(5, round(quality[p] + leniency[r] + rng.gauss(0, 0.6))))
            for c in rfp.criteria.all()
            if not c.is_gate
        }
        save_review(assignment, reviewer, assessments(rfp, scores=scores), submit=True)
    proposals = [Proposal.objects.get(pk=p.pk) for p in proposals]
    return {**s, "proposals": proposals}


def test_a_realistic_rfp_report_shows_everything(panel, staff):
    rfp = panel["rfp"]
    board = dashboard.build(rfp)
    assert board.calibrated
    best = next(r for r in board.rows if r.rank == 1)
    first, second, docs = features(rfp)
    decide(best.proposal, staff, awards={first: 22000, second: 20000, docs: 3000})
    board = dashboard.build(rfp)
    band = [i.proposal_id for i in board.uncertainty.intervals if i.in_band]
    assert len(band) >= 2
    made = lottery.commit(
        rfp=rfp,
        candidates=band,
        places=1,
        actor=staff,
        now=timezone.now(),
        note="Tie-break for the second place.",
    )
    lottery.draw(lottery=made, actor=staff, now=timezone.now())
    text = report(rfp, "report")
    for row, interval in board.intervals:
        if interval.in_band:
            assert row.proposal.title in text.split("The band at the funding line")[-1]
    assert f"{best.proposal.title} {best.overall_points:.2f} {best.calibrated_points:.2f} 1" in text
    made.refresh_from_db()
    assert made.seed in text.replace(" ", "")


def test_the_demo_decided_rfp_report_shows_the_plan_and_its_lotteries():
    from evaluation import demo as whole_demo
    from proposals.models import RFP

    whole_demo.load_demo(now=timezone.now())
    rfp = RFP.objects.get(slug="pypi-2019-q1")
    board = dashboard.build(rfp)
    text = report(rfp, "demo")
    assert "Calibrated and raw scores" in text and "Funding plan" in text
    if board.calibrated:
        assert "Reviewer leniency" in text
    else:
        assert board.calibration.message in text
    for record in lottery.public_records(rfp):
        assert record.commitment in text.replace(" ", "")
        if record.is_drawn:
            assert record.seed in text.replace(" ", "")
