"""Which scores the proposers' debriefs show (issue 17, point 1, last sentence): raw unless staff
choose calibrated when publishing, which they are offered only when calibration is usable; the
debrief and the mail say which scores they are, and the worked Overall under the table adds up
to the figures shown. Reviewers never see calibration, whatever staff chose."""

import html
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation import calibration, decisions
from evaluation.models import DecisionRelease
from proposals.models import Proposal
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.helpers.lifecycle import decide, pass_deadline
from tests.helpers.proposals import open_now
from tests.helpers.reviews import (
    PANELS,
    SCORED,
    assessments,
    biased_panel,
    declare_no_conflict,
    save_review,
)

pytestmark = pytest.mark.django_db

# The panel (tests.helpers.reviews.PANELS): each reviewer reads three of four proposals; the
# first is a point more generous than the second, the third a point harsher. Beta (index 1) is
# read by the generous and the fair one: its calibrated Overall is below its raw one.
# Words only calibration uses: none may reach a reviewer's page.
CALIBRATION_WORDS = (
    "Calibrated",
    "calibrated",
    "leniency",
    "Leniency",
    "severity",
    "the panel on average",
)
CALIBRATED_NOTE = (
    "These are calibrated scores: each reviewer's general leniency or severity, estimated "
    "across all the proposals they reviewed, was taken out before averaging, so the figures "
    "can differ from the plain mean of the reviews."
)
RAW_NOTE = "These are the scores as the reviewers gave them: the mean of the submitted reviews."


def biased_reviews(s, staff) -> list[Proposal]:
    """The setup's RFP past its deadline and opened, four proposals read by three reviewers of
    different leniency (tests.helpers.reviews.biased_panel): calibration is usable."""
    return biased_panel(s, staff, deadline_passed=True)[0]


@pytest.fixture
def biased(evaluation_setup, staff):
    s = evaluation_setup
    proposals = biased_reviews(s, staff)
    for proposal in proposals:
        decide(proposal, staff)
    return {**s, "proposals": proposals, "alpha": proposals[0], "beta": proposals[1]}


@pytest.fixture
def sparse(evaluation_setup, staff):
    """Opened, one reviewer scored Alpha and Beta, both decided: calibration is not usable."""
    s = evaluation_setup
    rfp = s["rfp"]
    pass_deadline(rfp)
    open_now(rfp)
    for proposal in (s["alpha"], s["beta"]):
        assignment = s["assign"](proposal, s["reviewers"][0], staff)
        declare_no_conflict(assignment, s["reviewers"][0])
        save_review(assignment, s["reviewers"][0], assessments(rfp, 4), submit=True)
        decide(proposal, staff)
    return s


def publish_url(rfp):
    return reverse("staff_publish_decisions", args=[rfp.slug])


def main(text: str) -> str:
    return text.split("<main")[1].split("</main>")[0]


def visible(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def debrief_table(page: str) -> tuple[list[str], dict[str, list[str]]]:
    """The debrief table's header and its rows by their first cell, as text."""
    table = page.split('id="debrief-caption"')[1].split("</table>")[0]
    head = [visible(h) for h in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", table)]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
        cells = [visible(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        if cells and cells[0] not in head:
            rows[cells[0]] = cells[1:]
    return head, rows


def worked_sum(definition: str) -> tuple[list[tuple[Decimal, Decimal]], Decimal, Decimal]:
    """((weight, mean), ...), the total weight and the result of "(2 x 4.50 + ...) / 3 = 4.33"."""
    match = re.search(r"For this proposal: \(([^)]*)\) / ([\d.]+) = ([\d.]+)\.", definition)
    assert match, definition
    terms = [
        (Decimal(w), Decimal(m)) for w, m in re.findall(r"([\d.]+) \u00d7 ([\d.]+)", match.group(1))
    ]
    return terms, Decimal(match.group(2)), Decimal(match.group(3))


def test_staff_are_offered_calibrated_scores_when_calibration_is_usable(
    staff_client, biased, staff
):
    rfp = biased["rfp"]
    assert calibration.calibrate_rfp(rfp).usable
    page = main(staff_client.get(publish_url(rfp)).content.decode())
    assert "Scores in the teams&#x27; debriefs" in page
    raw = re.search(r'<input[^>]*value="raw"[^>]*>', page).group(0)
    calibrated = re.search(r'<input[^>]*value="calibrated"[^>]*>', page).group(0)
    assert "checked" in raw and "checked" not in calibrated
    assert "Raw: each criterion&#x27;s mean of the submitted reviews" in page
    assert "is taken out before averaging" in page
    assert "Calibrated scores are not offered" not in page

    response = staff_client.post(
        publish_url(rfp), {"confirm": "1", "debrief_scores": "calibrated"}, follow=True
    )
    assert "Decisions published; 4 e-mails queued." in response.content.decode()
    assert DecisionRelease.objects.get(rfp=rfp).debrief_scores == "calibrated"
    event = AuditEvent.objects.get(action=AuditAction.DECISION_PUBLISHED)
    assert event.details["debrief_scores"] == "calibrated"


def test_the_calibrated_debrief_says_so_and_its_figures_add_up(client, biased, staff):
    rfp = biased["rfp"]
    beta = biased["beta"]
    result = calibration.calibrate_rfp(rfp)
    mine = result.proposals[beta.pk]
    assert mine.overall_points() < mine.raw_points()  # a generous reviewer's marks come down
    decisions.publish_decisions(
        rfp=rfp, staff_user=staff, now=timezone.now(), debrief_scores="calibrated"
    )

    brief = decisions.debrief(beta)
    assert brief.score_kind == "calibrated" and brief.calibrated
    assert brief.overall == mine.overall_points()

    client.force_login(beta.owner)
    page = main(client.get(reverse("proposal_decision", args=[beta.pk])).content.decode())
    head, rows = debrief_table(page)
    assert head == ["Criterion", "Calibrated mean", "Weight", "Reviews"]
    assert "Your calibrated scores (on a scale of 0 to 5)" in visible(page)
    assert "mean of the submitted reviews" not in page
    assert CALIBRATED_NOTE in html.unescape(page)
    # The calibrated Overall as the dashboard shows it, not the raw one.
    assert rows["Overall"][0] == str(mine.overall_points())
    assert str(mine.raw_points()) not in page
    # Each criterion's mean is the calibrated one, rounded as shown.
    criteria = {c.key: c for c in rfp.criteria.all()}
    for key in SCORED:
        shown = Decimal(rows[criteria[key].name][0])
        assert shown == round(Decimal(repr(mine.means[key])), 2), key
        assert shown != mine.raw.criteria[key].mean  # calibration moved it
    # The worked sum uses the shown means and weights and ends on the shown Overall.
    definition = html.unescape(page.split('id="overall-definition">')[1].split("</p>")[0])
    assert "The criterion means are the calibrated ones shown above." in definition
    terms, total, overall = worked_sum(definition)
    assert overall == Decimal(rows["Overall"][0])
    assert terms == [
        (Decimal(rows[criteria[key].name][1]), Decimal(rows[criteria[key].name][0]))
        for key in SCORED
    ]
    assert total == sum(w for w, _m in terms)
    assert abs(sum(w * m for w, m in terms) / total - overall) <= Decimal("0.01")
    # Nothing about any one reviewer.
    for reviewer in biased["reviewers"]:
        assert reviewer.email not in page
        assert result.reviewers[reviewer.pk].sentence not in page
    assert "the panel on average" not in page


def test_the_decision_mail_says_the_scores_are_calibrated(biased, staff):
    rfp = biased["rfp"]
    beta = biased["beta"]
    mine = calibration.calibrate_rfp(rfp).proposals[beta.pk]
    decisions.publish_decisions(
        rfp=rfp, staff_user=staff, now=timezone.now(), debrief_scores="calibrated"
    )
    mail = OutboxMessage.objects.get(template="evaluation/email/decision", to=beta.owner.email)
    body = mail.body_text
    assert "Your calibrated scores (on a scale of 0 to 5):" in body
    assert f"- Overall: {mine.overall_points()}" in body
    assert " ".join(CALIBRATED_NOTE.split()) in " ".join(body.split())
    assert "The criterion means are the calibrated ones shown above." in " ".join(body.split())
    assert str(mine.raw_points()) not in body
    for reviewer in biased["reviewers"]:
        assert reviewer.email not in body


def test_raw_scores_by_default_and_the_debrief_says_so(staff_client, client, biased):
    rfp = biased["rfp"]
    beta = biased["beta"]
    mine = calibration.calibrate_rfp(rfp).proposals[beta.pk]
    # The form as an older page sent it: no choice at all is raw.
    staff_client.post(publish_url(rfp), {"confirm": "1"})
    assert DecisionRelease.objects.get(rfp=rfp).debrief_scores == "raw"
    event = AuditEvent.objects.get(action=AuditAction.DECISION_PUBLISHED)
    assert event.details["debrief_scores"] == "raw"
    assert decisions.debrief(beta).score_kind == "raw"

    client.force_login(beta.owner)
    page = main(client.get(reverse("proposal_decision", args=[beta.pk])).content.decode())
    head, rows = debrief_table(page)
    assert head == ["Criterion", "Mean score", "Weight", "Reviews"]
    assert "Your scores (mean of the submitted reviews, on a scale of 0 to 5)" in visible(page)
    assert RAW_NOTE in page
    assert rows["Overall"][0] == str(mine.raw_points())
    for word in CALIBRATION_WORDS:
        assert word not in page, word
    body = OutboxMessage.objects.get(
        template="evaluation/email/decision", to=beta.owner.email
    ).body_text
    assert RAW_NOTE in " ".join(body.split())
    assert f"- Overall: {mine.raw_points()}" in body
    assert "calibrated" not in body


def test_not_usable_nothing_calibrated_is_offered_and_the_page_says_why(staff_client, sparse):
    rfp = sparse["rfp"]
    reason = calibration.calibrate_rfp(rfp).message
    assert reason == (
        "Raw scores only: calibration compares reviewers with each other, and only one "
        "reviewer has scored."
    )
    page = main(staff_client.get(publish_url(rfp)).content.decode())
    assert 'value="calibrated"' not in page
    assert re.search(r'<input[^>]*value="raw"[^>]*checked', page)
    assert f"Calibrated scores are not offered. {reason}" in html.unescape(page)


def test_a_forged_calibrated_choice_is_refused_and_loses_nothing(staff_client, sparse):
    rfp = sparse["rfp"]
    reason = calibration.calibrate_rfp(rfp).message
    response = staff_client.post(publish_url(rfp), {"confirm": "1", "debrief_scores": "calibrated"})
    assert response.status_code == 400
    page = html.unescape(main(response.content.decode()))
    refusal = f"The debriefs cannot show calibrated scores for this RFP. {reason}"
    assert refusal in page.split("data-error-summary")[1].split("</div>")[0]
    assert f'<ul class="errorlist" id="id_debrief_scores_error"><li>{refusal}' in page
    # Nothing published, nothing mailed; the confirmation stays ticked, raw chosen.
    assert not decisions.is_published(rfp)
    assert not OutboxMessage.objects.filter(template="evaluation/email/decision").exists()
    assert re.search(r'<input type="checkbox" id="confirm-publish"[^>]*checked', page)
    assert re.search(r'<input[^>]*value="raw"[^>]*checked', page)
    assert 'value="calibrated"' not in page
    # Sent again as the page now stands: published with raw scores.
    staff_client.post(publish_url(rfp), {"confirm": "1", "debrief_scores": "raw"})
    assert DecisionRelease.objects.get(rfp=rfp).debrief_scores == "raw"


def test_the_domain_refuses_calibrated_when_not_usable_and_unknown_choices(sparse, staff):
    rfp = sparse["rfp"]
    with pytest.raises(decisions.DecisionError, match="cannot show calibrated scores"):
        decisions.publish_decisions(
            rfp=rfp, staff_user=staff, now=timezone.now(), debrief_scores="calibrated"
        )
    with pytest.raises(decisions.DecisionError, match="raw or calibrated"):
        decisions.publish_decisions(
            rfp=rfp, staff_user=staff, now=timezone.now(), debrief_scores="adjusted"
        )
    assert not decisions.is_published(rfp)
    assert not DecisionRelease.objects.filter(rfp=rfp, debrief_scores="calibrated").exists()
    assert not OutboxMessage.objects.filter(template="evaluation/email/decision").exists()


def test_a_calibrated_release_shows_raw_scores_when_calibration_is_not_usable(sparse, staff):
    # Recorded as calibrated (as if the reviews had changed since): the debrief falls back to
    # raw and says so rather than showing figures it cannot explain.
    rfp = sparse["rfp"]
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())
    DecisionRelease.objects.filter(rfp=rfp).update(debrief_scores="calibrated")
    brief = decisions.debrief(sparse["alpha"])
    assert brief.score_kind == "raw"
    assert brief.scores_note == RAW_NOTE
    assert brief.overall == Decimal("4.00")


def test_reviewers_never_see_calibration_even_when_usable_and_chosen(client, biased, staff):
    rfp = biased["rfp"]
    result = calibration.calibrate_rfp(rfp)
    assert result.usable
    decisions.publish_decisions(
        rfp=rfp, staff_user=staff, now=timezone.now(), debrief_scores="calibrated"
    )
    for reviewer in biased["reviewers"]:
        client.force_login(reviewer)
        pages = [client.get(reverse("reviewer_home"))]
        for p in PANELS[biased["reviewers"].index(reviewer)]:
            pages.append(client.get(reverse("review", args=[biased["proposals"][p].pk])))
        for response in pages:
            assert response.status_code == 200
            body = response.content.decode()
            for word in CALIBRATION_WORDS:
                assert word not in body, (reviewer.email, response.request["PATH_INFO"], word)
            assert result.reviewers[reviewer.pk].sentence not in body
            for calibrated in result.proposals.values():
                if calibrated.overall_points() != calibrated.raw_points():
                    assert f">{calibrated.overall_points()}<" not in body
        # The review pages were read: the queue names the proposals.
        assert biased["proposals"][PANELS[biased["reviewers"].index(reviewer)][0]].title in (
            pages[0].content.decode()
        )
