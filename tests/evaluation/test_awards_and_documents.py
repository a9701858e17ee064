"""Issue 15, points 5 and 8: awards by feature with their totals (decision page, debrief, mail,
report), Overall's definition on the debrief, mail and report, and documents a board signs
(tagged PDFs, the receipt's verification address, labelled charts, room for approval)."""

import html
import io
import subprocess
import tempfile
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from evaluation import charts, decisions, exports, services
from proposals import receipts
from proposals.models import Feature, SubmissionVersion
from rfp_portal.models import OutboxMessage
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments, declare_no_conflict, save_review

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    """A page's HTML as one line with entities decoded (the RFP's → the RFP's)."""
    return " ".join(html.unescape(response.content.decode()).split())


def pdf_text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(
            ["pdftotext", handle.name, "-"], capture_output=True, check=True, text=True
        ).stdout
    return " ".join(out.split())  # one line: wrapped cells and columns read as words


def pdf_info(data: bytes) -> dict[str, str]:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        out = subprocess.run(
            ["pdfinfo", handle.name], capture_output=True, check=True, text=True
        ).stdout
    return {
        key.strip(): value.strip()
        for key, _sep, value in (line.partition(":") for line in out.splitlines())
    }


# --- The award totals, a plain function --------------------------------------------------------


def feature(pk, name, budget, cap):
    return SimpleNamespace(id=pk, name=name, budget=Decimal(budget), cap=Decimal(cap))


def test_award_totals_sum_each_feature_against_its_budget_and_cap_and_all_against_the_total_cap():
    features = [
        feature(1, "Signing", 25000, 30000),
        feature(2, "Detection", 20000, 24500),
        feature(3, "Docs", 3000, 5500),
    ]
    awards = [{"1": "8000.00", "3": "5000.00"}, {"1": "18000"}, {"2": "0"}]
    totals = decisions.award_totals(features, awards, total_cap=Decimal(30000), currency="USD")
    signing, detection, docs = totals.lines
    assert (signing.amount, signing.proposals, signing.standing) == (
        Decimal(26000),
        2,
        "over_budget_within_cap",
    )
    assert not detection.awarded and detection.explanation == "Not awarded"
    assert docs.explanation == "Over budget by USD 2,000, within the cap"
    assert totals.total == Decimal(31000) and not totals.within_total_cap
    assert [line.name for line in totals.awarded] == ["Signing", "Docs"]
    assert totals.explanation == (
        "Total awarded USD 31,000, over the RFP's total cap of USD 30,000 by USD 1,000."
    )
    # Without a total cap of the RFP's own, the sum of the feature budgets is the limit (the
    # RFP page's rule: over one feature's budget is made up elsewhere), and says so.
    loose = decisions.award_totals(features, awards, total_cap=None, currency="USD")
    assert loose.within_total_cap and "the sum of the feature budgets of USD 48,000" in (
        loose.explanation
    )
    over = decisions.award_totals(
        features, [*awards, {"2": "18000"}], total_cap=None, currency="USD"
    )
    assert not over.within_total_cap
    assert over.explanation == (
        "Total awarded USD 49,000, over the sum of the feature budgets of USD 48,000 by USD 1,000."
    )


# --- An RFP decided: two selected proposals, criteria scored 1 to 5 ------------------------------


@pytest.fixture
def decided(evaluation_setup, staff):
    """Alpha selected for two features, Beta for one; Beta failed at a gate by one reviewer and
    asks more than a cap; criteria scored 1 to 5."""
    s = evaluation_setup
    rfp = s["rfp"]
    rfp.criteria.filter(kind="scored").update(scale_min=1)
    open_now(rfp)
    signing, detection, docs = Feature.objects.filter(milestone__rfp=rfp).order_by(
        "milestone__position", "position"
    )
    beta_version = s["beta"].versions.get()
    beta_version.fields["fields"]["budget"][str(detection.pk)] = "40000"
    SubmissionVersion.objects.filter(pk=beta_version.pk).update(fields=beta_version.fields)
    for proposal, score, verdict in ((s["alpha"], 4, "pass"), (s["beta"], 3, "fail")):
        for index, reviewer in enumerate(s["reviewers"][:2]):
            assignment = services.assign(
                proposal=proposal, reviewer=reviewer, staff_user=staff, now=timezone.now()
            )
            declare_no_conflict(assignment, reviewer)
            review = assessments(
                rfp,
                score,
                scores={"cost": score + index},
                verdict=verdict if index == 0 else "pass",
                comment="fine",
            )
            save_review(assignment, reviewer, review, submit=True)
    for proposal, awards in (
        (s["alpha"], {signing.pk: Decimal(8000), docs.pk: Decimal(5000)}),
        (s["beta"], {detection.pk: Decimal(7500)}),
    ):
        decisions.record_decision(
            proposal=proposal,
            staff_user=staff,
            outcome="selected",
            rationale=f"Why {proposal.title}.",
            awards=awards,
            confirm_over_cap=False,
            now=timezone.now(),
        )
    return {**s, "signing": signing, "detection": detection, "docs": docs}


def test_the_decision_page_names_each_feature_with_its_budget_cap_and_the_totals_awarded(
    client, decided, staff
):
    s = decided
    client.force_login(staff)
    url = reverse("staff_decision", args=[s["rfp"].slug, s["alpha"].pk])
    page = page_text(client.get(url))
    assert f"Award for {s['signing'].name}" in page
    assert "Budget USD 25,000, cap USD 30,000." in page
    assert "10000.00" not in page and "30000.00" not in page and "cap 30000" not in page
    assert "Awards to all selected proposals" in page
    # Every selected proposal's awards, per feature and in all, against the RFP's total cap.
    assert "USD 7,500" in page and "USD 8,000" in page and "USD 5,000" in page
    assert "Over budget by USD 2,000, within the cap" in page
    assert (
        "Total awarded USD 20,500, within the RFP's total cap of USD 65,000 (USD 44,500 left)."
        in page
    )


def test_the_debrief_and_the_mail_name_each_award_with_its_totals_and_define_overall(
    client, decided, staff
):
    s = decided
    decisions.publish_decisions(rfp=s["rfp"], staff_user=staff, now=timezone.now())
    client.force_login(s["alpha_owner"])
    page = page_text(client.get(reverse("proposal_decision", args=[s["alpha"].pk])))
    mail = OutboxMessage.objects.get(
        template="evaluation/email/decision", to=s["alpha_owner"].email
    )
    brief = decisions.debrief(s["alpha"])
    overall = f"{brief.overall:.2f}"
    for text in (page, " ".join(mail.body_text.split())):
        assert s["signing"].name in text and "USD 8,000" in text
        assert s["docs"].name in text and "USD 5,000" in text
        assert "Over budget by USD 2,000, within the cap" in text
        assert "Total awarded USD 13,000, within the RFP's total cap of USD 65,000" in text
        assert s["detection"].name not in text  # Beta's award is not Alpha's business
        assert "USD 7,500" not in text and "Beta" not in text
        # Overall's definition, with the means and weights it uses, on the criteria's scale.
        assert "Overall is the weighted mean of the criterion means" in text
        assert "1 to 5" in text and "0 to 5" not in text
        assert f"= {overall}" in text
    assert "Experience and competency: 4.00 (weight 1, 2 reviews)" in mail.body_text
    assert "selected" in mail.subject and "Alpha proposal" in mail.subject


def test_the_decision_report_has_awards_by_feature_separate_flags_labelled_charts_and_approval(
    decided,
):
    s = decided
    text = pdf_text(exports.render_report(rfp=s["rfp"])[0])
    # Awards by feature, per decision and in all, against budgets, caps and the total cap.
    assert f"{s['signing'].name} USD 8,000" in text
    assert f"{s['detection'].name} USD 7,500" in text
    assert "Selected: USD" not in text
    assert "Total awarded USD 20,500, within the RFP's total cap of USD 65,000" in text
    # Flags, each in its own words.
    assert "A reviewer failed it at a gate" in text
    assert "A requested amount is over its feature's cap" in text
    assert "failed a gate over a cap" not in text
    # Overall's definition, once, in words; each proposal's weighted mean worked out.
    assert "Overall is the weighted mean of the criterion means" in text
    assert "on a scale of 1 to 5" in text
    # Charts with labelled axes and a colour scale.
    assert "Number of reviews" in text and "Score" in text
    assert "Colour scale (mean score):" in text
    # The last section: room for the board's approval.
    approval = text[text.rindex("Approval") :]
    for word in ("Name", "Role", "Date", "Signature"):
        assert word in approval


def test_the_receipt_pdf_names_the_verification_address_and_the_code_to_enter(decided):
    version = decided["alpha"].versions.get()
    text = pdf_text(receipts.render_receipt_pdf(version))
    assert settings.SITE_URL + reverse("verify_receipt") in text
    assert f"Enter the receipt code {version.receipt_code}" in text
    assert "AoE" in text and "UTC" in text


def test_every_generated_pdf_is_tagged_with_a_title_and_a_language(client, decided):
    s = decided
    client.force_login(s["reviewers"][0])
    scorecard = client.get(reverse("review_scorecard", args=[s["alpha"].pk])).content
    documents = {
        "receipt": receipts.render_receipt_pdf(s["alpha"].versions.get()),
        "scorecard": scorecard,
        "summary": exports.summary_only_pdf(s["alpha"]),
        "report": exports.render_report(rfp=s["rfp"])[0],
    }
    for kind, data in documents.items():
        info = pdf_info(data)
        assert info.get("Tagged") == "yes", kind
        assert info.get("Title"), kind
        assert PdfReader(io.BytesIO(data)).trailer["/Root"]["/Lang"] == "en", kind


def test_the_distribution_chart_labels_both_axes_and_the_heat_map_has_its_scale():
    bars = charts.distribution("Cost", [0, 1, 4, 2, 1], scale_min=1)
    assert ">Number of reviews<" in bars and ">Score<" in bars
    assert all(f">{point}<" in bars for point in range(1, 6))
    heat = charts.heat_map([("A", [Decimal("4.5")])], ["Cost"], scale_min=1, scale_max=5)
    assert "Colour scale (mean score):" in heat and ">1<" in heat and ">5<" in heat
