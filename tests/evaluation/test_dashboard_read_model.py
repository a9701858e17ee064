"""The dashboard's read model (evaluation.ranking_snapshot, ranking_updates): a change to a
review, an assessment, an assignment or conflict, or a decision reaches the next view once the
rebuild task has run (eager in tests, after the commit); until then the page shows the last
ranking and says it is being updated; query counts do not grow with the proposals; pages keep
the order."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from evaluation import dashboard, decisions, ranking_snapshot, ranking_updates, services
from evaluation.models import Assessment, Assignment, RankingRow, RankingSnapshot, Review
from tests.evaluation.test_dashboard_and_decisions import bulk_reviewed_proposals, ranking_rows
from tests.helpers.reviews import assessments, make_reviewer, save_review, submit_reviews

pytestmark = pytest.mark.django_db

UPDATING = "The ranking is being updated with the latest changes"


def titles(client, rfp, query: str = "") -> list[str]:
    page = client.get(reverse("staff_dashboard", args=[rfp.slug]) + query).content.decode()
    return [title for title, _ in ranking_rows(page)]


def page_of(client, rfp, query: str = "") -> str:
    response = client.get(reverse("staff_dashboard", args=[rfp.slug]) + query)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def reviewed(evaluation_setup, staff, staff_client):
    """Alpha (5, 5) above Beta (4, 4), and the dashboard viewed once (its snapshot built)."""
    s = evaluation_setup
    submit_reviews(s, staff, {s["alpha"]: (5, 5), s["beta"]: (4, 4)})
    assert titles(staff_client, s["rfp"]) == ["Alpha proposal", "Beta proposal"]
    assert RankingSnapshot.objects.get(rfp=s["rfp"]).built_version
    return s


def test_a_review_change_shows_after_the_rebuild_and_the_stale_page_says_so(
    reviewed, staff, staff_client, django_capture_on_commit_callbacks
):
    s, rfp = reviewed, reviewed["rfp"]
    review = Review.objects.get(
        assignment__proposal=s["alpha"], assignment__reviewer=s["reviewers"][0]
    )
    # The change commits but its rebuild has not run yet (the callbacks are not executed).
    with django_capture_on_commit_callbacks(execute=False):
        services.reopen_review(review=review, staff_user=staff, now=timezone.now())
        save_review(review.assignment, s["reviewers"][0], assessments(rfp, 1), submit=True)
    snapshot = RankingSnapshot.objects.get(rfp=rfp)
    assert snapshot.version > snapshot.built_version
    stale = page_of(staff_client, rfp)
    # The last ranking, with a plain line and the time written for people (never ISO).
    assert [t for t, _ in ranking_rows(stale)] == ["Alpha proposal", "Beta proposal"]
    line = re.search(r'<p class="ranking-freshness" role="status">(.*?)</p>', stale).group(1)
    assert UPDATING in line and " UTC" in line
    assert not re.search(r"\d{4}-\d\d-\d\dT", line)
    # That view queued the lost rebuild again (eager here): the next view is the new ranking.
    fresh = page_of(staff_client, rfp)
    assert UPDATING not in fresh and "Ranking computed" in fresh
    assert [t for t, _ in ranking_rows(fresh)] == ["Beta proposal", "Alpha proposal"]


def test_an_assessment_changed_directly_is_seen(
    reviewed, staff_client, django_capture_on_commit_callbacks
):
    s = reviewed
    with django_capture_on_commit_callbacks(execute=True):
        for assessment in Assessment.objects.filter(
            review__assignment__proposal=s["beta"], score__isnull=False
        ):
            assessment.score = 5
            assessment.save()
        for assessment in Assessment.objects.filter(
            review__assignment__proposal=s["alpha"], score__isnull=False
        ):
            assessment.score = 2
            assessment.save()
    assert titles(staff_client, s["rfp"]) == ["Beta proposal", "Alpha proposal"]


def test_an_assignment_and_a_conflict_are_seen(
    reviewed, staff, staff_client, django_capture_on_commit_callbacks
):
    s, rfp = reviewed, reviewed["rfp"]
    assert "4 of 4 reviews submitted." in page_of(staff_client, rfp)
    third = s["reviewers"][2]
    with django_capture_on_commit_callbacks(execute=True):
        assignment = s["assign"](s["alpha"], third, staff)
    assert "4 of 5 reviews submitted." in page_of(staff_client, rfp)
    with django_capture_on_commit_callbacks(execute=True):
        services.declare_conflict(
            assignment=assignment, user=third, conflict=True, reason="Co-author", now=timezone.now()
        )
    body = page_of(staff_client, rfp)
    assert "4 of 4 reviews submitted." in body
    progress = body.split('id="progress-caption"')[1].split("</table>")[0]
    row = next(r for r in progress.split("<tr>") if third.email in r)
    # Assigned 0 (the conflict took it out), submitted 0, one conflict declared.
    assert '<td class="num">0</td><td class="num">0</td><td class="num">1</td></tr>' in row


def test_a_decision_is_seen(reviewed, staff, staff_client, django_capture_on_commit_callbacks):
    s, rfp = reviewed, reviewed["rfp"]
    with django_capture_on_commit_callbacks(execute=True):
        decisions.record_decision(
            proposal=s["beta"],
            staff_user=staff,
            outcome="not_selected",
            rationale="Less detail.",
            awards={},
            confirm_over_cap=False,
            now=timezone.now(),
        )
    beta_row = dict(ranking_rows(page_of(staff_client, rfp)))["Beta proposal"]
    assert "not selected" in beta_row


def test_removing_a_reviewer_from_the_pool_bumps_the_version(reviewed, staff):
    s = reviewed
    before = RankingSnapshot.objects.get(rfp=s["rfp"]).version
    services.remove_from_pool(
        rfp=s["rfp"], reviewer=s["reviewers"][0], staff_user=staff, now=timezone.now()
    )
    assert RankingSnapshot.objects.get(rfp=s["rfp"]).version > before


def test_decisions_and_exports_read_fresh_data_not_the_snapshot(
    reviewed, staff, django_capture_on_commit_callbacks
):
    s = reviewed
    review = Review.objects.get(
        assignment__proposal=s["alpha"], assignment__reviewer=s["reviewers"][0]
    )
    with django_capture_on_commit_callbacks(execute=False):  # the snapshot stays stale
        services.reopen_review(review=review, staff_user=staff, now=timezone.now())
        save_review(review.assignment, s["reviewers"][0], assessments(s["rfp"], 1), submit=True)
    # evaluation.exports and the decision pages call dashboard.build: the new ranking at once.
    assert [r.proposal.title for r in dashboard.build(s["rfp"]).rows] == [
        "Beta proposal",
        "Alpha proposal",
    ]


def test_one_rebuild_in_flight_and_it_builds_again_when_a_change_lands_meanwhile(
    reviewed, monkeypatch
):
    rfp = reviewed["rfp"]
    # A rebuild is in flight: a change queues nothing more.
    RankingSnapshot.objects.filter(rfp=rfp).update(rebuilding_since=timezone.now())
    ranking_updates.changed([rfp.pk])
    assert ranking_updates.request_rebuild([rfp.pk]) == []
    # The rebuild in flight sees a change land during its build and builds again.
    real_build = dashboard.build
    calls = []

    def build_and_change(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            ranking_updates.changed([rfp.pk])
        return real_build(*args, **kwargs)

    monkeypatch.setattr(dashboard, "build", build_and_change)
    assert ranking_snapshot.rebuild(rfp.pk) == 2
    snapshot = RankingSnapshot.objects.get(rfp=rfp)
    assert snapshot.built_version == snapshot.version and snapshot.rebuilding_since is None
    # Two generations of rows at most: the current one and the one before.
    assert RankingRow.objects.filter(rfp=rfp).values("generation").distinct().count() == 2


def test_query_count_is_the_same_for_3_and_40_proposals(
    staff_client, open_rfp, django_capture_on_commit_callbacks
):
    from tests.helpers.proposals import open_now

    reviewers = [make_reviewer(f"rm{i}@uni.example.edu") for i in range(3)]
    open_now(open_rfp)
    bulk_reviewed_proposals(open_rfp, 3, reviewers)
    url = reverse("staff_dashboard", args=[open_rfp.slug])
    staff_client.get(url)  # builds the snapshot (and the RFP's decision record)
    queries = {}
    for label, extra in (("small", 0), ("large", 37)):
        if extra:
            with django_capture_on_commit_callbacks(execute=True):
                bulk_reviewed_proposals(open_rfp, extra, reviewers, start=3)
        for query in ("", "?sort=title&page=2&columns=criteria", "?flag=disagreement"):
            with CaptureQueriesContext(connection) as captured:
                assert staff_client.get(url + query).status_code == 200
            queries[label, query] = len(captured)
    assert "of 40</caption>" not in page_of(staff_client, open_rfp, "?page=9")  # one page
    for query in ("", "?sort=title&page=2&columns=criteria", "?flag=disagreement"):
        assert queries["small", query] == queries["large", query], queries


def test_pages_keep_the_order_and_the_pager_is_accessible(
    staff_client, open_rfp, monkeypatch, django_capture_on_commit_callbacks
):
    from tests.helpers.proposals import open_now

    monkeypatch.setattr(dashboard, "PAGE_SIZE", 10)
    reviewers = [make_reviewer(f"pg{i}@uni.example.edu") for i in range(3)]
    open_now(open_rfp)
    bulk_reviewed_proposals(open_rfp, 40, reviewers)
    for sort in ("rank", "title", "spread"):
        pages = [titles(staff_client, open_rfp, f"?sort={sort}&page={n}") for n in range(1, 5)]
        shown = [title for page in pages for title in page]
        assert shown == [r.proposal.title for r in dashboard.build(open_rfp, sort=sort).rows]
    body = page_of(staff_client, open_rfp, "?sort=title&page=2")
    assert "proposals 11\u201320 of 40" in body
    pager = body.split('<nav aria-label="Pages of the ranking" class="pager">')[1].split("</nav>")[
        0
    ]
    assert '<span aria-current="page">Page 2 of 4</span>' in pager
    assert 'href="?sort=title&amp;page=1" rel="prev"' in pager  # plain links: no JavaScript
    assert 'href="?sort=title&amp;page=3" rel="next"' in pager
    assert 'href="?sort=title&amp;page=4">Last</a>' in pager
    # A filter pages across the filtered rows only.
    flagged = [r.proposal.title for r in dashboard.build(open_rfp, flag="disagreement").rows]
    assert titles(staff_client, open_rfp, "?flag=disagreement") == flagged[:10]


def test_a_chosen_funding_line_is_computed_fresh(reviewed, staff_client):
    body = page_of(staff_client, reviewed["rfp"], "?line=2")
    assert 'value="2"' in body and "Ranking computed" not in body
    assert Assignment.objects.exists()


def test_a_big_rfp_without_a_ranking_yet_is_queued_not_built_in_the_request(
    evaluation_setup, staff, staff_client, monkeypatch
):
    s = evaluation_setup
    submit_reviews(s, staff, {s["alpha"]: (5, 5), s["beta"]: (4, 4)})
    monkeypatch.setattr(ranking_snapshot, "BUILD_IN_REQUEST", 1)  # two proposals: "big"
    built = []
    monkeypatch.setattr(ranking_updates.tasks.rebuild_ranking, "delay", built.append)
    response = staff_client.get(reverse("staff_dashboard", args=[s["rfp"].slug]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("staff_evaluation", args=[s["rfp"].slug])
    assert "being computed for the first time" in response.content.decode()
    assert built == [s["rfp"].pk]  # queued once, with its claim held
    snapshot = RankingSnapshot.objects.get(rfp=s["rfp"])
    assert not snapshot.built_version and snapshot.rebuilding_since
    ranking_snapshot.rebuild(s["rfp"].pk)  # the worker's turn
    assert titles(staff_client, s["rfp"]) == ["Alpha proposal", "Beta proposal"]
