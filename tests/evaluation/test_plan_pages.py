"""Staff's funding plan pages (issue 17, points 3 and 4): the plan computed for an opened RFP,
locks and exclusions, an impossible lock in words, adopting the plan as draft decisions within
caps (and refused once published), and a recorded lottery among the band at the funding line,
its commitment in the audit trail before its draw."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from evaluation import decisions
from evaluation.models import Decision, Lottery
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent
from tests.helpers.lifecycle import decide, features, pass_deadline, publish
from tests.helpers.reviews import submit_reviews

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(evaluation_setup, staff):
    """The RFP opened; two reviewers each scored Alpha 5 and 2 (Overall 3.5) and Beta 4 and 2
    (Overall 3): Alpha ranks first, but the reviews disagree enough for both to be in the band
    at a funding line of one."""
    s = evaluation_setup
    pass_deadline(s["rfp"])
    submit_reviews(s, staff, {s["alpha"]: (5, 2), s["beta"]: (4, 2)})
    return s


def plan_url(s, name="staff_plan"):
    return reverse(name, args=[s["rfp"].slug])


def funded(body: str, proposal) -> bool:
    row = re.search(rf'data-plan-row="{proposal.pk}">(.*?)</tr>', body, re.S).group(1)
    return "<strong>funded</strong>" in row


def test_the_plan_page_shows_the_best_plan_against_budgets_and_caps(staff_client, reviewed):
    s = reviewed
    response = staff_client.get(plan_url(s))
    body = response.content.decode()
    assert response.status_code == 200
    assert funded(body, s["alpha"]) and not funded(body, s["beta"])
    # Each feature: Alpha's amount, the budget and cap as money, and Beta the runner-up.
    first = features(s["rfp"])[0]
    line = re.search(rf'data-plan-feature="{first.pk}">(.*?)</tr>', body, re.S).group(1)
    assert "Alpha proposal: USD 1,000" in line
    assert "USD 25,000" in line and "USD 30,000" in line
    assert "Beta proposal: USD 1,000" in line
    assert "This feature can go to 1 proposal only, and it is taken." in line
    assert "within the RFP&#x27;s total cap of USD 65,000" in body
    assert "The plan is worth 3.50" in body
    # Which score, and why (two reviewers on two proposals are too few to calibrate).
    assert re.search(r"data-plan-score>Raw scores only: ", body)
    assert "Budgets, caps and the total 10 % lower" in body
    assert "Decimal(" not in body and "T00:" not in body


def test_locking_and_excluding_change_the_plan(staff_client, reviewed):
    s = reviewed
    alpha, beta = s["alpha"], s["beta"]
    locked = staff_client.get(plan_url(s), {"lock": beta.pk}).content.decode()
    assert funded(locked, beta) and not funded(locked, alpha)
    assert f'id="lock-{beta.pk}" checked' in locked
    excluded = staff_client.get(plan_url(s), {"exclude": alpha.pk}).content.decode()
    assert funded(excluded, beta) and not funded(excluded, alpha)
    # Two contractors per feature: both are funded (2,000 per feature, within every cap).
    both = staff_client.get(plan_url(s), {"contractors": 2}).content.decode()
    assert funded(both, alpha) and funded(both, beta)


def test_an_impossible_lock_is_said_in_words(staff_client, reviewed):
    s = reviewed
    response = staff_client.get(plan_url(s), {"lock": [s["alpha"].pk, s["beta"].pk]})
    body = response.content.decode()
    assert "No plan: the locked proposals cannot all be funded." in body
    assert "Alpha proposal, Beta proposal are locked and all request" in body
    assert "Adopt this plan" not in body
    both = staff_client.get(plan_url(s), {"lock": s["alpha"].pk, "exclude": s["alpha"].pk})
    assert both.status_code == 400
    assert "A proposal cannot be both locked and excluded." in both.content.decode()


def test_before_opening_the_plan_is_refused(staff_client, evaluation_setup):
    s = evaluation_setup
    for name in ("staff_plan", "staff_plan_adopt", "staff_plan_lottery"):
        response = staff_client.get(plan_url(s, name), follow=True)
        body = response.content.decode()
        assert "the funding plan opens then" in body
        assert "Alpha proposal" not in body


def test_adopting_writes_draft_decisions_within_caps(staff_client, reviewed, staff):
    s = reviewed
    alpha, beta = s["alpha"], s["beta"]
    page = staff_client.get(plan_url(s, "staff_plan_adopt"), {"objective": "score"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Selected in the funding plan" in body and "ranked 1 of 2" in body
    assert "Overwrite" not in body  # no decision recorded yet
    assert not Decision.objects.exists()

    unconfirmed = staff_client.post(plan_url(s, "staff_plan_adopt"), {"objective": "score"})
    assert unconfirmed.status_code == 400
    assert not Decision.objects.exists()

    response = staff_client.post(
        plan_url(s, "staff_plan_adopt"), {"objective": "score", "confirm": "1"}, follow=True
    )
    assert "Plan adopted as draft decisions: 1 selected, 1 not selected." in (
        response.content.decode()
    )
    chosen = Decision.objects.get(proposal=alpha)
    assert chosen.outcome == "selected"
    assert {k: Decimal(v) for k, v in chosen.awards.items()} == {
        str(f.pk): Decimal(1000) for f in features(s["rfp"])
    }
    assert "Its raw Overall is 3.50, ranked 1 of 2." in chosen.rationale
    other = Decision.objects.get(proposal=beta)
    assert other.outcome == "not_selected" and other.awards == {}
    assert "ranked 2 of 2" in other.rationale
    totals = decisions.rfp_awards(s["rfp"])
    assert not totals.any_over_cap and totals.within_total_cap
    event = AuditEvent.objects.get(action=AuditAction.PLAN_ADOPTED)
    assert event.details["selected"] == 1 and event.details["not_selected"] == 1
    assert event.details["objective"] == "score" and event.details["locked"] == []
    assert not decisions.is_published(s["rfp"])  # adopting publishes nothing


def test_existing_decisions_are_kept_unless_staff_overwrite_them(staff_client, reviewed, staff):
    s = reviewed
    decide(s["beta"], staff, awards={features(s["rfp"])[0]: "900"})
    page = staff_client.get(plan_url(s, "staff_plan_adopt")).content.decode()
    assert "Overwrite the 1 decision recorded already" in page
    staff_client.post(plan_url(s, "staff_plan_adopt"), {"confirm": "1"})
    assert Decision.objects.get(proposal=s["beta"]).rationale == "The panel's reasons."
    assert Decision.objects.get(proposal=s["alpha"]).outcome == "selected"
    staff_client.post(
        plan_url(s, "staff_plan_adopt"), {"confirm": "1", "overwrite": "1", "lock": s["beta"].pk}
    )
    beta = Decision.objects.get(proposal=s["beta"])
    assert beta.outcome == "selected" and "Selected in the funding plan" in beta.rationale
    assert Decision.objects.get(proposal=s["alpha"]).outcome == "not_selected"
    locked = AuditEvent.objects.filter(action=AuditAction.PLAN_ADOPTED).first()
    assert locked.details["locked"] == [s["beta"].pk] and locked.details["overwritten"] == 2


def test_adopting_is_refused_once_published(staff_client, reviewed, staff):
    s = reviewed
    decide(s["alpha"], staff, awards={features(s["rfp"])[0]: "1000"})
    decide(s["beta"], staff)
    publish(s["rfp"], staff)
    before = list(Decision.objects.values_list("proposal_id", "outcome", "awards"))
    page = staff_client.get(plan_url(s, "staff_plan_adopt")).content.decode()
    assert "Decisions for this RFP are published and can no longer change." in page
    assert "Fill in these draft decisions" not in page
    response = staff_client.post(
        plan_url(s, "staff_plan_adopt"), {"confirm": "1", "overwrite": "1"}, follow=True
    )
    assert "Decisions for this RFP are published and can no longer change." in (
        response.content.decode()
    )
    assert list(Decision.objects.values_list("proposal_id", "outcome", "awards")) == before
    assert not AuditEvent.objects.filter(action=AuditAction.PLAN_ADOPTED).exists()
    assert "Adopt this plan" not in staff_client.get(plan_url(s)).content.decode()


def test_a_lottery_among_the_band_is_committed_then_drawn(staff_client, reviewed):
    s = reviewed
    plan = staff_client.get(plan_url(s)).content.decode()
    band = re.search(r"<ul data-plan-band>(.*?)</ul>", plan, re.S).group(1)
    assert "Alpha proposal" in band and "Beta proposal" in band
    assert "Draw a lottery among the band" in plan

    offer = staff_client.get(plan_url(s, "staff_plan_lottery")).content.decode()
    assert "1 place is left for them" in offer
    response = staff_client.post(plan_url(s, "staff_plan_lottery"), {"confirm": "1"})
    made = Lottery.objects.get()
    assert response.url == reverse("staff_lottery", args=[s["rfp"].slug, made.pk])
    assert made.candidates == sorted([s["alpha"].pk, s["beta"].pk]) and made.places == 1
    committed = staff_client.get(response.url).content.decode()
    assert made.commitment in committed
    assert made.seed not in committed  # never before the draw
    assert made.seed not in staff_client.get(plan_url(s)).content.decode()

    drawn = staff_client.post(response.url, follow=True).content.decode()
    made.refresh_from_db()
    assert made.is_drawn and made.seed in drawn
    assert "The lottery is drawn; the seed is revealed." in drawn
    winner = made.result[0]
    assert f"lock={winner}" in drawn  # lock the chosen and solve again
    again = staff_client.get(plan_url(s), {"lock": winner}).content.decode()
    assert made.seed in again and made.commitment in again
    assert funded(again, s["alpha"] if winner == s["alpha"].pk else s["beta"])
    # The commitment precedes the draw in the audit trail; the commitment names no seed.
    events = list(
        AuditEvent.objects.filter(
            action__in=[AuditAction.LOTTERY_COMMITTED, AuditAction.LOTTERY_DRAWN]
        ).order_by("at", "id")
    )
    assert [e.action for e in events] == [AuditAction.LOTTERY_COMMITTED, AuditAction.LOTTERY_DRAWN]
    assert "seed" not in events[0].details and events[1].details["seed"] == made.seed
    # Drawn once.
    staff_client.post(response.url)
    assert AuditEvent.objects.filter(action=AuditAction.LOTTERY_DRAWN).count() == 1


def test_no_lottery_without_a_band(staff_client, reviewed):
    s = reviewed
    # A funding line of two funds both: nobody is across the line.
    plan = staff_client.get(plan_url(s), {"line": 2}).content.decode()
    assert "Draw a lottery among the band" not in plan
    response = staff_client.post(
        plan_url(s, "staff_plan_lottery"), {"confirm": "1", "line": 2}, follow=True
    )
    assert "no lottery needed" in response.content.decode()
    assert not Lottery.objects.exists()
