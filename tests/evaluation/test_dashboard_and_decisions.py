"""The dashboard (constant query count, flags, ranking) and decisions with the debrief."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation import decisions, services
from evaluation.models import Assessment, Assignment, Decision, Review
from proposals.models import Feature, Proposal, ProposalMember, SubmissionVersion
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.proposals import open_now
from tests.helpers.reviews import assessments, declare_no_conflict, make_reviewer, submit_reviews

pytestmark = pytest.mark.django_db


def bulk_reviewed_proposals(rfp, n, reviewers, start=0):
    """n submitted proposals, each reviewed by every reviewer (rows made directly, fast)."""
    criteria = list(rfp.criteria.all())
    for i in range(start, start + n):
        owner = UserFactory(email=f"owner{i}-{rfp.pk}@team{i}.example.io")
        proposal = Proposal.objects.create(
            rfp=rfp,
            owner=owner,
            title=f"Bulk {i}",
            state="submitted",
            fields={},
            document_name="p.pdf",
        )
        ProposalMember.objects.create(proposal=proposal, user=owner, role="owner")
        SubmissionVersion.objects.create(
            proposal=proposal,
            number=1,
            fields={"fields": {}},
            fields_sha256="0" * 64,
            document="x.pdf",
            document_name="p.pdf",
            document_size=1,
            document_pages=1,
            document_sha256="0" * 64,
            received_at=timezone.now(),
            submitted_by=owner,
            receipt_code=f"R-BULK-{rfp.pk}-{i}",
            from_edit=0,
        )
        for j, reviewer in enumerate(reviewers):
            assignment = Assignment.objects.create(
                proposal=proposal, reviewer=reviewer, conflict="none"
            )
            review = Review.objects.create(assignment=assignment, state="submitted")
            Assessment.objects.bulk_create(
                Assessment(
                    review=review,
                    criterion=c,
                    score=None if c.is_gate else (i + j) % 6,
                    verdict="pass" if c.is_gate else "",
                )
                for c in criteria
            )


def ranking_rows(page: str) -> list[tuple[str, str]]:
    """(proposal title, the row's HTML) for each row of the dashboard's ranking, in order."""
    table = page.split('id="ranking-caption"')[1].split("</table>")[0]
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in body.split("<tr>")[1:]:
        row = row.split("</tr>")[0].strip()
        title = row.split('<th scope="row">')[1].split("</a>")[0].rsplit(">", 1)[1]
        rows.append((title, row))
    return rows


def test_dashboard_query_count_is_the_same_for_10_and_200_proposals(
    staff_client,
    open_rfp,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    from evaluation import dashboard

    monkeypatch.setattr(dashboard, "PAGE_SIZE", 100)  # pages of a hundred, as this test reads
    reviewers = [make_reviewer(f"q{i}@uni.example.edu") for i in range(3)]
    open_now(open_rfp)
    bulk_reviewed_proposals(open_rfp, 10, reviewers)
    url = reverse("staff_dashboard", args=[open_rfp.slug])
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff_client.get(url)  # the first view creates the RFP's (empty) decision record
    with CaptureQueriesContext(connection) as small:
        assert staff_client.get(url).status_code == 200
    # The reviews' commit queues the read model's rebuild (run at once: eager tasks).
    with django_capture_on_commit_callbacks(execute=True):
        bulk_reviewed_proposals(open_rfp, 190, reviewers, start=10)
    with CaptureQueriesContext(connection) as large:
        response = staff_client.get(url)
    assert response.status_code == 200
    assert len(large) == len(small), (len(small), len(large))
    # A hundred rows a page; every proposal is ranked and reachable.
    page = response.content.decode()
    assert "proposals 1\u2013100 of 200" in page
    ranking = page.split('id="ranking-caption"')[1].split("</table>")[0]
    assert ranking.count('<th scope="row">') == 100
    second = staff_client.get(url + "?sort=title&page=2").content.decode()
    assert "proposals 101\u2013200 of 200" in second and "Bulk 199" in second
    assert 'href="?sort=title&amp;page=1"' in second  # the pager keeps the sort


def test_dashboard_ranks_flags_and_draws_charts(staff_client, evaluation_setup, staff):
    s = evaluation_setup
    rfp = s["rfp"]
    # Alpha: mean 3, the reviewers 4 points apart (disagreement); Beta: mean 4, agreed.
    submit_reviews(s, staff, {s["alpha"]: (5, 1), s["beta"]: (4, 4)})
    body = staff_client.get(reverse("staff_dashboard", args=[rfp.slug])).content.decode()
    rows = ranking_rows(body)
    # Highest overall first: Beta (4) ranks above Alpha (3), although Alpha was created first.
    assert [title for title, _ in rows] == ["Beta proposal", "Alpha proposal"]
    beta_row, alpha_row = (row for _, row in rows)
    assert beta_row.startswith("<td>1</td>") and alpha_row.startswith("<td>2</td>")
    assert "(tie)" not in body
    # The flag is on Alpha's row (5 vs 1), and Beta's row has none.
    assert '<li class="flag">disagreement</li>' in alpha_row
    assert "disagree" not in beta_row
    assert '<li class="flag' not in beta_row and '<span class="flag' not in beta_row
    assert "<svg" in body and 'role="img"' in body
    filtered = staff_client.get(reverse("staff_dashboard", args=[rfp.slug]) + "?flag=disagreement")
    text = filtered.content.decode()
    assert "Alpha proposal" in text and "Beta proposal" not in text


def test_decision_over_cap_needs_confirmation_and_publishing_mails_once(
    staff_client, evaluation_setup, staff, django_capture_on_commit_callbacks
):
    s = evaluation_setup
    rfp = s["rfp"]
    open_now(rfp)
    feature = Feature.objects.filter(milestone__rfp=rfp).first()
    with pytest.raises(decisions.OverCap):
        decisions.record_decision(
            proposal=s["alpha"],
            staff_user=staff,
            outcome="selected",
            rationale="Strong team.",
            awards={feature.pk: feature.cap + 1},
            confirm_over_cap=False,
            now=timezone.now(),
        )
    assert not Decision.objects.exists()
    decisions.record_decision(
        proposal=s["alpha"],
        staff_user=staff,
        outcome="selected",
        rationale="Strong team.",
        awards={feature.pk: feature.cap + 1},
        confirm_over_cap=True,
        now=timezone.now(),
    )
    with pytest.raises(decisions.DecisionError, match="Beta proposal"):
        decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())
    decisions.record_decision(
        proposal=s["beta"],
        staff_user=staff,
        outcome="not_selected",
        rationale="Less detail.",
        awards={},
        confirm_over_cap=False,
        now=timezone.now(),
    )
    first = decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())
    second = decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())
    assert first.published and first.mails == 2 and not second.published
    assert OutboxMessage.objects.filter(template="evaluation/email/decision").count() == 2
    with pytest.raises(decisions.DecisionError, match="published"):
        decisions.record_decision(
            proposal=s["beta"],
            staff_user=staff,
            outcome="selected",
            rationale="x",
            awards={feature.pk: Decimal(1)},
            confirm_over_cap=False,
            now=timezone.now(),
        )


def test_proposer_sees_own_decision_and_scores_only_after_publication(
    client, evaluation_setup, staff
):
    s = evaluation_setup
    rfp = s["rfp"]
    open_now(rfp)
    reviewer = s["reviewers"][0]
    assignment = services.assign(
        proposal=s["alpha"], reviewer=reviewer, staff_user=staff, now=timezone.now()
    )
    declare_no_conflict(assignment, reviewer)
    services.save_review(
        assignment=assignment,
        user=reviewer,
        assessments=assessments(rfp),
        overall_comment="Reviewer's private words",
        submit=True,
        now=timezone.now(),
    )
    for proposal, outcome in ((s["alpha"], "not_selected"), (s["beta"], "not_selected")):
        decisions.record_decision(
            proposal=proposal,
            staff_user=staff,
            outcome=outcome,
            rationale=f"Rationale {proposal.title}",
            awards={},
            confirm_over_cap=False,
            now=timezone.now(),
        )
    client.force_login(s["alpha_owner"])
    url = reverse("proposal_decision", args=[s["alpha"].pk])
    assert "not been published" in client.get(url).content.decode()
    decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())
    body = client.get(url).content.decode()
    assert "Rationale Alpha proposal" in body and "4.00" in body
    assert "Rationale Beta proposal" not in body and "Beta proposal" not in body
    assert reviewer.email not in body and "private words" not in body
    assert client.get(reverse("proposal_decision", args=[s["beta"].pk])).status_code == 404
