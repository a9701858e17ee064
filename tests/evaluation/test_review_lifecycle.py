"""After the review due date a review is read-only on every page, by the same rule the save
refuses by (evaluation.rules.review_closed_since): no inputs, no *Update submitted review*, no
autosave; the page says since when and that staff can reopen it; the queue lists it closed."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evaluation import rules, services
from evaluation.models import Review
from rfp_portal import deadlines
from tests.helpers.lifecycle import pass_review_due
from tests.helpers.reviews import assessments, ready_to_review, save_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewing(evaluation_setup, staff):
    reviewer, assignment = ready_to_review(evaluation_setup, staff)
    return {**evaluation_setup, "reviewer": reviewer, "assignment": assignment, "staff": staff}


def post_review(client, proposal, rfp, score):
    data = {"action": "submit", "overall_comment": "Changed my mind."}
    for c in rfp.criteria.all():
        data[f"c{c.pk}"] = "pass" if c.is_gate else str(score)
    return client.post(reverse("review", args=[proposal.pk]), data)


def test_the_page_and_the_save_close_at_the_same_instant(reviewing):
    rfp, assignment, reviewer = reviewing["rfp"], reviewing["assignment"], reviewing["reviewer"]
    review = save_review(assignment, reviewer, assessments(rfp), submit=True)
    due = deadlines.review_due_instant(rfp.review_due)
    just_before = due - timedelta(microseconds=1)
    assert rules.review_closed_since(rfp, review, just_before) is None
    assert rules.review_closed_since(rfp, review, due) == due
    save_review(assignment, reviewer, assessments(rfp, 3), submit=True, now=just_before)
    with pytest.raises(services.EvaluationError, match="due date has passed"):
        save_review(assignment, reviewer, assessments(rfp, 2), submit=True, now=due)
    review.refresh_from_db()
    services.reopen_review(review=review, staff_user=reviewing["staff"], now=due)
    review.refresh_from_db()
    assert rules.review_closed_since(rfp, review, due + timedelta(days=1)) is None


def test_after_the_due_date_the_review_page_is_read_only(client, reviewing):
    rfp, alpha, reviewer = reviewing["rfp"], reviewing["alpha"], reviewing["reviewer"]
    about = assessments(rfp, comment=lambda c: f"About {c.name}.")
    save_review(reviewing["assignment"], reviewer, about, submit=True, comment="Solid team.")
    client.force_login(reviewer)
    before = client.get(reverse("review", args=[alpha.pk])).content.decode()
    assert "Update submitted review" in before and 'type="radio"' in before

    pass_review_due(rfp)
    body = client.get(reverse("review", args=[alpha.pk])).content.decode()
    review_part = body[
        body.index('id="your-review-heading"') : body.index("clarifications-heading")
    ]
    for control in (
        'type="radio"',
        'name="overall_comment"',
        "Update submitted review",
        "Submit review",
        "Save draft",
        "/autosave/",
        'id="review-form"',
    ):
        assert control not in review_part, control
    assert "Reviews closed at their due date" in review_part
    assert "Only the foundation's staff can reopen a review" in review_part
    assert "Your submitted review is shown below" in review_part
    assert "Solid team." in review_part and "4 out of 5" in review_part
    assert "About Cost." in review_part
    # The date is written for people; the machine value is valid HTML.
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', review_part)

    # A form posted anyway (an old tab) is refused by the same rule, and nothing changes.
    response = post_review(client, alpha, rfp, 1)
    assert response.status_code == 400
    refused = response.content.decode()
    assert "due date has passed" in refused and "Update submitted review" not in refused
    assert not Review.objects.filter(assessments__score=1).exists()


def test_the_queue_lists_a_closed_review_and_staff_reopening_opens_the_form(client, reviewing):
    rfp, alpha, reviewer = reviewing["rfp"], reviewing["alpha"], reviewing["reviewer"]
    review = save_review(reviewing["assignment"], reviewer, assessments(rfp), submit=True)
    pass_review_due(rfp)
    client.force_login(reviewer)
    queue = client.get(reverse("reviewer_home")).content.decode()
    assert "closed: submitted" in queue and "closed: staff can reopen it" in queue

    services.reopen_review(review=review, staff_user=reviewing["staff"], now=timezone.now())
    queue = client.get(reverse("reviewer_home")).content.decode()
    assert "closed:" not in queue and "reopened by staff" in queue
    body = client.get(reverse("review", args=[alpha.pk])).content.decode()
    assert 'type="radio"' in body and "Submit review" in body and "Reviews closed" not in body
    assert post_review(client, alpha, rfp, 2).status_code == 302


def test_a_review_never_written_is_closed_too(client, reviewing):
    pass_review_due(reviewing["rfp"])
    client.force_login(reviewing["reviewer"])
    body = client.get(reverse("review", args=[reviewing["alpha"].pk])).content.decode()
    assert "You did not write a review of this proposal before the due date." in body
    assert 'type="radio"' not in body and "Submit review" not in body
    queue = client.get(reverse("reviewer_home")).content.decode()
    assert "closed: not submitted" in queue
