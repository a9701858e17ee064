"""Scores that explain themselves (issue 15): the dashboard's Overall can be recomputed from what
the page shows (the criterion means and the weights in the column headers), and the page says how.

The pages are read as a person reads them: the rendered table's text, not the numbers behind it.
"""

import html
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation import services
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, submitted_proposal
from tests.helpers.reviews import assessments, declare_no_conflict

pytestmark = pytest.mark.django_db

# Scores by proposal title, then by reviewer (index into the pool), then by criterion key.
SCORES = {
    # Means 4.50, 4.00, 3.50 → (2 x 4.50 + 1 x 4.00 + 1.5 x 3.50) / 4.5 = 4.06 (the old
    # rescaling, with 1 counted as 0, made it 3.82).
    "Alpha proposal": [
        {"experience": 5, "cost": 4, "process": 3},
        {"experience": 4, "cost": 4, "process": 4},
    ],
    "Beta proposal": [
        {"experience": 3, "cost": 5, "process": 2},
        {"experience": 3, "cost": 4, "process": 5},
        {"experience": 2, "cost": 5, "process": 4},
    ],
    # Straight 3s on a 1-5 scale: an Overall of 3.00, not 2.50.
    "Gamma proposal": [{"experience": 3, "cost": 3, "process": 3}],
}


def scored_rfp(setup, staff, *, process_scale=(1, 5)):
    """The evaluation setup's RFP with its scored criteria on 1-5 (process on `process_scale`),
    weighted 2, 1 and 1.5, a third proposal, and the reviews of SCORES submitted."""
    rfp = setup["rfp"]
    weights = {
        "experience": ("2", (1, 5)),
        "cost": ("1", (1, 5)),
        "process": ("1.5", process_scale),
    }
    for criterion in rfp.criteria.filter(key__in=weights):
        weight, (low, high) = weights[criterion.key]
        criterion.weight, criterion.scale_min, criterion.scale_max = Decimal(weight), low, high
        criterion.save()
    gamma_owner = UserFactory(email="gamma@gamma-team.example.io", organisation="Gamma")
    proposals = {
        "Alpha proposal": setup["alpha"],
        "Beta proposal": setup["beta"],
        "Gamma proposal": submitted_proposal(rfp, gamma_owner, "Gamma proposal"),
    }
    open_now(rfp)
    for title, reviews in SCORES.items():
        for reviewer, scores in zip(setup["reviewers"], reviews, strict=False):
            assignment = services.assign(
                proposal=proposals[title], reviewer=reviewer, staff_user=staff, now=timezone.now()
            )
            declare_no_conflict(assignment, reviewer)
            services.save_review(
                assignment=assignment,
                user=reviewer,
                assessments=assessments(rfp, scores=scores),
                overall_comment="",
                submit=True,
                now=timezone.now(),
            )
    return rfp


class _Table(HTMLParser):
    """The visible text of each cell of one table (by id of its caption), row by row."""

    def __init__(self, caption_id):
        super().__init__()
        self.caption_id = caption_id
        self.depth = 0  # > 0 inside the wanted table
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and self.depth:
            self.depth += 1
        if tag == "caption" and attrs.get("id") == self.caption_id:
            self.depth = 1
            self.rows = []
        if not self.depth:
            return
        if tag == "span" and (self.hidden or "visually-hidden" in (attrs.get("class") or "")):
            self.hidden += 1
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "span" and self.hidden:
            self.hidden -= 1
        if tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        if tag == "table":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.cell is not None and not self.hidden:
            self.cell.append(data)


def ranking(html: str) -> tuple[list[str], list[list[str]]]:
    parser = _Table("ranking-caption")
    parser.feed(html)
    header, *rows = parser.rows
    return header, rows


NUMBER = r"\d+(?:[.,]\d+)?"
# Every column of the ranking that is not a criterion's, in the dashboard's order.
OTHER_COLUMNS = (
    "Rank",
    "Proposal",
    "Reviews",
    "Overall",
    "Median",
    "Spread",
    "Likely rank",
    "Flags",
    "Budget",
    "Decision",
)


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def recompute(header: list[str], row: list[str]) -> tuple[Decimal, Decimal]:
    """(Overall recomputed from the row's shown criterion means and the headers' weights, the
    Overall shown), both as the page rounds them."""
    shown = number(row[header.index("Overall")])
    total = weights = Decimal(0)
    for name, cell in zip(header, row, strict=True):
        if name in OTHER_COLUMNS or cell == "\u2014":
            continue
        # A criterion column: its weight in the header ("Cost (x1)"; none shown counts as 1),
        # its mean first in the cell, or on another scale its value on the Overall's scale
        # beside it ("3.50 = 2.40 on 1-5").
        weight = re.search(rf"\u00d7\s*({NUMBER})", name)
        converted = re.search(rf"= ({NUMBER}) on", cell)
        mean = number(converted.group(1) if converted else re.match(NUMBER, cell).group(0))
        w = number(weight.group(1)) if weight else Decimal(1)
        total += w * mean
        weights += w
    recomputed = (total / weights).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return recomputed, shown


def test_overall_is_recomputed_from_the_shown_criterion_means_and_weights(
    staff_client, evaluation_setup, staff
):
    rfp = scored_rfp(evaluation_setup, staff)
    url = reverse("staff_dashboard", args=[rfp.slug])
    page = staff_client.get(url + "?columns=criteria").content.decode()
    header, rows = ranking(page)
    by_title = {row[1]: row for row in rows}
    assert set(by_title) == set(SCORES)
    for title, row in by_title.items():
        recomputed, shown = recompute(header, row)
        # The shown means are rounded to 2 places; recomputing from them may differ by 0.01.
        assert abs(recomputed - shown) <= Decimal("0.01"), (title, recomputed, shown, row)
    # The weights are in the column headers, as people write them.
    assert (
        "Experience and competency (\u00d72)" in header
        and "Process and timeline (\u00d71.5)" in header
    )
    # Exactly, for the hand-computed rows.
    assert by_title["Alpha proposal"][header.index("Overall")] == "4.06"
    assert by_title["Gamma proposal"][header.index("Overall")] == "3.00"
    # Means 8/3, 14/3, 11/3: (2 x 8/3 + 14/3 + 1.5 x 11/3) / 4.5 = 3.44 (from the means as
    # shown, 2.67, 4.67 and 3.67, a person gets 3.45: within the 0.01 allowed above).
    assert by_title["Beta proposal"][header.index("Overall")] == "3.44"


def test_the_definition_is_written_on_the_dashboard_with_the_weights_and_a_worked_sum(
    staff_client, evaluation_setup, staff
):
    rfp = scored_rfp(evaluation_setup, staff)
    page = staff_client.get(reverse("staff_dashboard", args=[rfp.slug])).content.decode()
    text = html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))
    assert (
        "Overall is the weighted mean of the criterion means (weights: Experience and competency "
        "\u00d72, Cost \u00d71, Process and timeline \u00d71.5), on the criteria's 1\u20135 "
        "scale." in text
    )
    # The best-ranked proposal's sum, which anyone can redo.
    example = re.search(
        r"For example, Alpha proposal: \(2 \u00d7 4\.50 \+ 1 \u00d7 4\.00 \+ 1\.5 \u00d7 3\.50\) "
        r"/ 4\.5 = 4\.06\.",
        text,
    )
    assert example, text
    # Criterion columns are hidden by default (the table fits): the page says how to see them.
    header, rows = ranking(page)
    assert header == [
        "Rank",
        "Proposal",
        "Overall",
        "Spread",
        "Likely rank",
        "Flags",
        "Budget",
        "Decision",
    ]
    assert "Tick \u201cCriterion means\u201d above to see every proposal\u2019s means." in text
    # Median and reviews on demand, remembered by the pager's query string.
    chosen = staff_client.get(
        reverse("staff_dashboard", args=[rfp.slug]) + "?columns=median&columns=reviews"
    ).content.decode()
    header, rows = ranking(chosen)
    assert header == list(OTHER_COLUMNS)  # Reviews and Median too, no criterion
    beta = next(row for row in rows if row[1] == "Beta proposal")
    assert beta[2] == "3/3"
    # Beta's reviews' own overalls: (6 + 5 + 3) / 4.5 = 3.11, (6 + 4 + 7.5) / 4.5 = 3.89,
    # (4 + 5 + 6) / 4.5 = 3.33 → median 3.33, spread 3.89 - 3.11 = 0.78.
    assert beta[header.index("Median")] == "3.33" and beta[header.index("Spread")] == "0.78"


def test_criteria_on_another_scale_show_their_mean_on_the_overalls_scale(
    staff_client, evaluation_setup, staff
):
    rfp = scored_rfp(evaluation_setup, staff, process_scale=(0, 10))
    page = staff_client.get(
        reverse("staff_dashboard", args=[rfp.slug]) + "?columns=criteria"
    ).content.decode()
    header, rows = ranking(page)
    process = header.index("Process and timeline (\u00d71.5)")
    alpha = next(row for row in rows if row[1] == "Alpha proposal")
    # 3.50 on 0-10 is 1 + 3.5 x 4 / 10 = 2.40 on 1-5.
    assert alpha[process].startswith("3.50 = 2.40 on 1\u20135")
    for row in rows:
        recomputed, shown = recompute(header, row)
        assert abs(recomputed - shown) <= Decimal("0.01"), (row, recomputed, shown)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "each mean first converted to the 1\u20135 scale" in text
    assert "a mean m on 0\u201310 counts as 1 + (m \u2212 0) \u00d7 4 / 10" in text
