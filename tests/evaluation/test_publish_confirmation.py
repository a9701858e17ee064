"""Publishing decisions and the preliminary status are deliberate acts (issue 16, point 3): a
confirmation page (GET) says how many teams and people are mailed, counted as the mail itself
counts them, and what is missing; only a confirmed POST sends; once published, nothing is
offered."""

import re

import pytest
from django.urls import reverse

from evaluation import decisions
from proposals.models import ProposalMember
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.lifecycle import decide, pass_deadline
from tests.helpers.proposals import open_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(evaluation_setup):
    s = evaluation_setup
    # Alpha has a co-author: three people in two teams.
    ProposalMember.objects.create(
        proposal=s["alpha"], user=UserFactory(email="co@alpha-team.example.io"), role="coauthor"
    )
    pass_deadline(s["rfp"])
    open_now(s["rfp"])
    return s


def url(s, name="staff_publish_decisions"):
    return reverse(name, args=[s["rfp"].slug])


def mails(template):
    return OutboxMessage.objects.filter(template=template)


def test_the_page_counts_what_publishing_mails(staff_client, opened, staff):
    s = opened
    decide(s["alpha"], staff)
    decide(s["beta"], staff)
    page = staff_client.get(url(s))
    text = page.content.decode()
    assert page.status_code == 200
    count = re.search(r"data-publish-count>([^<]*)<", text).group(1)
    assert count == "2 teams will be told their decisions. 3 people are e-mailed."
    assert "Publishing cannot be undone." in text
    assert "I understand this cannot be undone" in text
    assert "Publish and e-mail 3 people" in text
    assert not decisions.is_published(s["rfp"])

    response = staff_client.post(url(s), {"confirm": "1"}, follow=True)
    assert "Decisions published; 3 e-mails queued." in response.content.decode()
    assert mails("evaluation/email/decision").count() == 3
    assert decisions.is_published(s["rfp"])


def test_a_post_without_confirmation_publishes_nothing(staff_client, opened, staff):
    s = opened
    decide(s["alpha"], staff)
    decide(s["beta"], staff)
    response = staff_client.post(url(s))
    assert response.status_code == 400
    assert "Tick “I understand this cannot be undone” to publish the decisions." in (
        response.content.decode()
    )
    assert not decisions.is_published(s["rfp"])
    assert not mails("evaluation/email/decision").exists()


def test_undecided_proposals_are_named_and_nothing_is_offered(staff_client, opened, staff):
    s = opened
    decide(s["alpha"], staff)
    text = staff_client.get(url(s)).content.decode()
    assert "1 proposal has no decision yet." in text
    assert reverse("staff_decision", args=[s["rfp"].slug, s["beta"].pk]) in text
    assert "I understand this cannot be undone" not in text
    assert 'method="post"' not in text.split("<main")[1].split("</main>")[0]


def test_once_published_the_page_says_when_and_offers_nothing(staff_client, opened, staff):
    s = opened
    decide(s["alpha"], staff)
    decide(s["beta"], staff)
    staff_client.post(url(s), {"confirm": "1"})
    text = staff_client.get(url(s)).content.decode()
    assert "Decisions were published" in text
    main = text.split("<main")[1].split("</main>")[0]
    assert 'method="post"' not in main
    # The dashboard no longer links to it.
    dashboard = staff_client.get(url(s, "staff_dashboard")).content.decode()
    assert url(s) not in dashboard


def test_the_dashboard_leads_to_the_confirmation_page(staff_client, opened):
    s = opened
    dashboard = staff_client.get(url(s, "staff_dashboard")).content.decode()
    assert f'href="{url(s)}"' in dashboard
    assert f'action="{url(s)}"' not in dashboard


def test_sealed_the_page_refuses_and_names_no_proposal(staff_client, evaluation_setup):
    s = evaluation_setup
    response = staff_client.get(url(s), follow=True)
    assert "Proposals are still sealed." in response.content.decode()
    assert "Alpha proposal" not in response.content.decode()


def test_preliminary_status_is_confirmed_with_the_count(staff_client, opened):
    s = opened
    # The dashboard's form (no confirm): the confirmation page, nothing sent.
    response = staff_client.post(url(s, "staff_preliminary"), {"message": "It takes longer."})
    text = response.content.decode()
    assert response.status_code == 200
    count = re.search(r"data-preliminary-count>([^<]*)<", text).group(1)
    assert count == (
        "The message goes to 2 teams, once; it cannot be recalled. 3 people are e-mailed."
    )
    assert "It takes longer." in text
    assert not mails("evaluation/email/preliminary").exists()

    response = staff_client.post(
        url(s, "staff_preliminary"), {"message": "It takes longer.", "confirm": "1"}, follow=True
    )
    assert "Preliminary status sent; 3 e-mails queued." in response.content.decode()
    assert mails("evaluation/email/preliminary").count() == 3
    text = staff_client.get(url(s, "staff_preliminary")).content.decode()
    assert "Preliminary status sent" in text
    assert 'method="post"' not in text.split("<main")[1].split("</main>")[0]
