"""Calibration and rank intervals on the staff dashboard and in the scores CSV (issue 17, points
1 and 2): the calibrated Overall beside the raw one and each reviewer's leniency where reviewers
differ, the reason in words where the reviews are too sparse; the expected rank with its 80 %
interval, the band at a funding line staff can move, and the picture; a ranking by the
calibrated Overall on request. Reviewers and proposers never see any of it."""

import csv
import html
import io
import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from evaluation import calibration, dashboard, decisions, exports
from evaluation.models import Export
from proposals.models import Feature
from tests.evaluation.test_dashboard_and_decisions import ranking_rows
from tests.evaluation.test_overall_explained import scored_rfp
from tests.helpers.reviews import (
    assessments,
    biased_panel,
    save_review,
)

pytestmark = pytest.mark.django_db

# Each reviewer (index in the pool) reads three of the four proposals; the first is a point
# more generous than the second, the third a point harsher.
# Words only calibration uses: none may reach a reviewer's or a proposer's page.
CALIBRATION_WORDS = ("Calibrated", "calibrated", "leniency", "Leniency", "the panel on average")


@pytest.fixture
def biased(evaluation_setup, staff):
    """Four proposals, three reviewers with different leniencies, each reading three: the
    setup with `proposals` (in PANELS' order) and the RFP opened."""
    s = evaluation_setup
    proposals, assigned = biased_panel(s, staff)
    alpha, beta = proposals[:2]
    return {**s, "proposals": proposals, "assigned": assigned, "alpha": alpha, "beta": beta}


def dashboard_page(client, rfp, query=""):
    response = client.get(reverse("staff_dashboard", args=[rfp.slug]) + query)
    assert response.status_code == 200
    return response.content.decode()


def cells(row_html: str) -> list[str]:
    """The text of each cell of a ranking row."""
    parts = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", part).split()) for part in parts]


def header(page: str) -> list[str]:
    head = page.split('id="ranking-caption"')[1].split("</thead>")[0]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", h).split())
        for h in re.findall(r"<th[^>]*>(.*?)</th>", head)
    ]


def test_the_calibrated_overall_and_each_reviewers_leniency_are_shown_beside_the_raw(
    staff_client, biased
):
    rfp = biased["rfp"]
    result = calibration.calibrate_rfp(rfp)
    assert result.usable
    page = dashboard_page(staff_client, rfp)
    names = header(page)
    assert names.index("Calibrated") == names.index("Overall") + 1
    # The column's header links to what calibration does, in one sentence near the table.
    assert '<a href="#calibration-definition">Calibrated</a>' in page
    note = page.split('id="calibration-definition"')[1].split("</div>")[0]
    assert "leniency" in note and "is taken out of the means" in note
    assert "nothing is taken out" not in note
    for title, row in ranking_rows(page):
        proposal = next(p for p in biased["proposals"] if p.title == title)
        shown = cells(row)[names.index("Calibrated")]
        assert shown == str(result.proposals[proposal.pk].overall_points()), (title, row)
        assert cells(row)[names.index("Overall")] == str(result.proposals[proposal.pk].raw_points())
    # Raw and calibrated differ: the generous reviewer's proposals come down.
    assert any(p.overall_points() != p.raw_points() for p in result.proposals.values() if p.overall)

    leniency = page.split('id="leniency-heading"')[1].split("</section>")[0]
    generous, fair, harsh = biased["reviewers"]
    # The most generous first, each with their points and the sentence.
    assert leniency.index(generous.email) < leniency.index(fair.email) < leniency.index(harsh.email)
    for reviewer in (generous, harsh):
        lenient = result.reviewers[reviewer.pk]
        assert lenient.sentence in leniency
    assert "points above the panel on average" in leniency
    assert "points below the panel on average" in leniency
    assert re.search(r'<td class="num">\+\d\.\d</td>', leniency)


def test_ranking_by_the_calibrated_overall_is_a_choice_that_works_without_javascript(
    staff_client, biased
):
    rfp = biased["rfp"]
    result = calibration.calibrate_rfp(rfp)
    page = dashboard_page(staff_client, rfp)
    # Raw by default, with a plain GET button to rank by the calibrated Overall.
    assert "Ranked by the raw Overall." in page
    assert 'name="sort" value="calibrated"' in page
    assert '<option value="calibrated">calibrated Overall</option>' in page
    calibrated = dashboard_page(staff_client, rfp, "?sort=calibrated")
    assert "Ranked by the calibrated Overall." in calibrated
    assert header(calibrated)[0] == "Rank (calibrated)"
    order = [title for title, _row in ranking_rows(calibrated)]
    by_title = {p.title: result.proposals[p.pk].overall for p in biased["proposals"]}
    assert order == sorted(by_title, key=lambda title: -by_title[title])
    ranks = [cells(row)[0] for _title, row in ranking_rows(calibrated)]
    assert ranks[0] == "1"
    # The same order from the domain.
    board = dashboard.build(rfp, sort="calibrated")
    assert [row.proposal.title for row in board.rows] == order


def test_sparse_reviews_show_why_scores_are_raw_only(staff_client, evaluation_setup, staff):
    # Gamma's only reviewer scored one proposal: too few to tell their leniency.
    rfp = scored_rfp(evaluation_setup, staff)
    result = calibration.calibrate_rfp(rfp)
    assert not result.usable and result.message
    page = dashboard_page(staff_client, rfp)
    assert "Calibrated" not in header(page)
    assert result.message in page
    leniency = page.split('id="leniency-heading"')[1].split("</section>")[0]
    assert result.message in leniency and "<table" not in leniency
    # Asking for the calibrated ranking gives the raw one.
    assert "Rank (calibrated)" not in dashboard_page(staff_client, rfp, "?sort=calibrated")
    assert [r.proposal.title for r in dashboard.build(rfp, sort="calibrated").rows] == [
        r.proposal.title for r in dashboard.build(rfp).rows
    ]


def test_expected_ranks_intervals_the_band_and_the_picture(staff_client, biased):
    rfp = biased["rfp"]
    board = dashboard.build(rfp)
    # No decision yet: one place per feature, but fewer than the four ranked proposals.
    assert board.line.places == board.line.default == 3 and not board.line.chosen
    page = dashboard_page(staff_client, rfp)
    names = header(page)
    for title, row in ranking_rows(page):
        interval = next(r.interval for r in board.rows if r.proposal.title == title)
        likely = cells(row)[names.index("Likely rank")]
        assert likely.startswith(f"{interval.low:g}\u2013{interval.high:g}"), likely
        assert ("in the band" in likely) == interval.in_band
    section = html.unescape(page.split('id="intervals-heading"')[1].split("</section>")[0])
    assert board.uncertainty.method_sentence() in section
    assert board.uncertainty.band_sentence() in section
    assert "after place 3" in section
    # The picture: an image with a title and a description, the funding line drawn and named.
    assert 'role="img"' in section and 'aria-labelledby="ranks-title ranks-desc"' in section
    assert "Expected rank with its 80 % interval, and the funding line" in section
    assert "Funding line: 3 funded" in section
    # The same numbers as a table.
    table = section.split('id="intervals-caption"')[1].split("</table>")[0]
    for row in board.rows:
        assert row.proposal.title in table
        assert f"rank {row.rank_low_text} to {row.rank_high_text}" in table
    # The same page twice: the same intervals (the draws are seeded by the RFP).
    again = dashboard_page(staff_client, rfp).split('id="intervals-heading"')[1]
    assert html.unescape(again.split("</section>")[0]) == section


def test_staff_move_the_funding_line_with_a_plain_form(staff_client, biased):
    rfp = biased["rfp"]
    page = dashboard_page(staff_client, rfp, "?sort=title&line=1")
    form = page.split('class="filter-form funding-line-form"')[1].split("</form>")[0]
    # The form keeps the page's other choices.
    assert '<input type="hidden" name="sort" value="title">' in form
    assert 'name="line"' in form and 'value="1"' in form
    section = page.split('id="intervals-heading"')[1].split("</section>")[0]
    assert "after place 1" in section and "Funding line: 1 funded" in section
    board = dashboard.build(rfp, line="1")
    assert board.line.places == 1 and board.line.chosen
    band = [i for i in board.uncertainty.intervals if i.in_band]
    assert all(i.low < 2 and i.high > 1 for i in band)
    # Nonsense or out of range: the default line, or the nearest one, and the page says so.
    nonsense = dashboard_page(staff_client, rfp, "?line=many")
    assert "\u201cmany\u201d is not a number of places from 1 to 4; the line is after place 3." in (
        nonsense
    )
    assert dashboard.build(rfp, line="40").line.places == 4
    assert dashboard.build(rfp, line="0").line.places == 1


def test_the_default_line_is_the_number_of_proposals_selected(biased, staff):
    rfp = biased["rfp"]
    feature = Feature.objects.filter(milestone__rfp=rfp).first()
    decisions.record_decision(
        proposal=biased["alpha"],
        staff_user=staff,
        outcome="selected",
        rationale="Best.",
        awards={feature.pk: feature.budget},
        confirm_over_cap=False,
        now=timezone.now(),
    )
    assert dashboard.build(rfp).line.places == 1
    assert dashboard.funding_line("", ranked=5, selected=0, features=5).places == 4
    assert dashboard.funding_line("", ranked=1, selected=0, features=5).places == 1


def test_the_scores_csv_has_the_calibrated_overall_and_the_rank_interval(biased, staff):
    rfp = biased["rfp"]
    export = exports.run(Export.objects.create(rfp=rfp, kind="scores", requested_by=staff).pk)
    rows = list(csv.DictReader(io.StringIO(default_storage.open(export.file.name).read().decode())))
    result = calibration.calibrate_rfp(rfp)
    board = {row.proposal.pk: row for row in dashboard.build(rfp).rows}
    assert rows
    for row in rows:
        pk = int(row["proposal_id"])
        assert row["overall"] == str(board[pk].overall_points)
        assert row["calibrated_overall"] == str(result.proposals[pk].overall_points())
        interval = board[pk].interval
        assert Decimal(row["expected_rank"]) == round(Decimal(interval.expected_rank), 2)
        assert row["rank_low_80"] == f"{interval.low:g}"
        assert row["rank_high_80"] == f"{interval.high:g}"
        assert row["in_band"] in ("True", "False")


def test_the_scores_csv_leaves_the_calibrated_overall_empty_when_not_usable(
    evaluation_setup, staff
):
    rfp = scored_rfp(evaluation_setup, staff)
    export = exports.run(Export.objects.create(rfp=rfp, kind="scores", requested_by=staff).pk)
    rows = list(csv.DictReader(io.StringIO(default_storage.open(export.file.name).read().decode())))
    assert rows and {row["calibrated_overall"] for row in rows} == {""}
    assert all(row["expected_rank"] for row in rows)


def test_reviewers_and_proposers_never_see_calibration(client, biased, staff):
    rfp = biased["rfp"]
    reviewer = biased["reviewers"][0]  # the generous one
    result = calibration.calibrate_rfp(rfp)
    # Beta's reviewers are the generous and the fair one: its calibrated Overall is lower.
    beta = result.proposals[biased["beta"].pk]
    assert beta.overall_points() < beta.raw_points()
    client.force_login(reviewer)
    body = client.get(reverse("review", args=[biased["beta"].pk])).content.decode()
    assert "Beta proposal" in body
    for word in CALIBRATION_WORDS:
        assert word not in body, word
    assert str(beta.overall_points()) not in body
    assert result.reviewers[reviewer.pk].sentence not in body

    for proposal in biased["proposals"]:
        decisions.record_decision(
            proposal=proposal,
            staff_user=staff,
            outcome="not_selected",
            rationale="Thanks.",
            awards={},
            confirm_over_cap=False,
            now=timezone.now(),
        )
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())
    client.force_login(biased["beta"].owner)
    body = client.get(reverse("proposal_decision", args=[biased["beta"].pk])).content.decode()
    assert "Thanks." in body and str(beta.raw_points()) in body
    for word in CALIBRATION_WORDS:
        assert word not in body, word
    assert str(beta.overall_points()) not in body
    assert "in the band" not in body and "Likely rank" not in body


def test_calibration_and_intervals_are_remembered_until_a_score_changes(biased, monkeypatch):
    rfp = biased["rfp"]
    first = dashboard.build(rfp)

    def fail(*args, **kwargs):
        raise AssertionError("computed again")

    # The same reviews: both come from the cache.
    monkeypatch.setattr(dashboard.calibration, "calibrate", fail)
    monkeypatch.setattr(dashboard.uncertainty, "rank_intervals", fail)
    again = dashboard.build(rfp)
    assert again.calibration == first.calibration and again.uncertainty == first.uncertainty
    # A changed score is another fingerprint: computed again.
    generous = biased["reviewers"][0]
    save_review(
        biased["assigned"][0, 0], generous, assessments(rfp, scores={"cost": 0}), submit=True
    )
    with pytest.raises(AssertionError, match="computed again"):
        dashboard.build(rfp)
