"""One notion of a proposal's stage (proposals.lifecycle), shown by every page of the proposer's
area: which controls each stage offers and which words it shows; "revisions left" defined once
(proposals.submission.Revisions) for pages and mails; *My proposals* leads with decisions."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from proposals import lifecycle, submission
from proposals.lifecycle import Stage
from rfp_portal.models import OutboxMessage
from tests.factories import ProposalFactory, UserFactory
from tests.helpers.lifecycle import decide, decisions_published, features, pass_deadline, publish
from tests.helpers.proposals import open_now, ready_draft, submitted_proposal

pytestmark = pytest.mark.django_db

ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
EDIT_CONTROLS = (
    "Save draft",
    "Save and submit now",
    "Save and review before submitting",
    'type="file"',
    "/autosave/",
    'id="proposal-form"',
)


def resubmit(proposal, owner):
    proposal.refresh_from_db()
    return submission.submit_proposal(
        proposal=proposal, user=owner, expected_edit=proposal.edit_count, now=timezone.now()
    ).version


def page(client, name, proposal):
    response = client.get(reverse(name, args=[proposal.pk]))
    assert response.status_code == 200
    return response.content.decode()


def assert_no_edit_controls(body):
    present = [control for control in EDIT_CONTROLS if control in body]
    assert not present, f"edit controls offered on a closed proposal: {present}"


# --- Revisions left: one definition --------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "submitted", "text", "may_submit"),
    [
        (
            3,
            0,
            "Not submitted yet: after your first submission you may revise it up to 3 times.",
            True,
        ),
        (3, 1, "3 revisions left.", True),  # the first submission is not a revision
        (3, 3, "1 revision left.", True),
        (3, 4, "No revisions left: you have used all 3 revisions this RFP allows.", False),
        (
            0,
            0,
            "Not submitted yet: this RFP allows no revisions after your first submission.",
            True,
        ),
        (0, 1, "No revisions left: this RFP allows one submission and no revisions.", False),
    ],
)
def test_revisions_left_counts_resubmissions_as_the_rfp_page_does(
    allowed, submitted, text, may_submit
):
    revisions = submission.Revisions(allowed=allowed, submitted=submitted)
    assert revisions.text == text
    assert revisions.may_submit is may_submit
    assert "up to 0" not in revisions.next_submit_text


def test_the_next_submit_says_what_it_is_and_what_it_leaves():
    first = submission.Revisions(allowed=3, submitted=0).next_submit_text
    assert first.startswith("This is your first submission. After it you may revise it up to 3")
    assert "revise 2 more times" in submission.Revisions(allowed=3, submitted=1).next_submit_text
    assert "last revision" in submission.Revisions(allowed=3, submitted=3).next_submit_text


# --- The stage --------------------------------------------------------------------------------


def test_each_stage_from_draft_to_decided(open_rfp, proposer, staff):
    draft = ready_draft(open_rfp, proposer)
    assert lifecycle.lifecycle_of(draft, timezone.now()).stage == Stage.DRAFT
    resubmit(draft, proposer)
    draft.refresh_from_db()
    life = lifecycle.lifecycle_of(draft, timezone.now())
    assert (life.stage, life.label, life.editable) == (
        Stage.SUBMITTED,
        "Submitted (1 version)",
        True,
    )
    submission.withdraw_proposal(proposal=draft, user=proposer, now=timezone.now())
    draft.refresh_from_db()
    assert lifecycle.lifecycle_of(draft, timezone.now()).stage == Stage.WITHDRAWN
    resubmit(draft, proposer)
    draft.refresh_from_db()
    never = ready_draft(open_rfp, UserFactory(), "Never sent")

    pass_deadline(open_rfp)
    draft.refresh_from_db()
    never.refresh_from_db()
    life = lifecycle.lifecycle_of(draft, timezone.now())
    assert (life.stage, life.editable, life.may_submit) == (Stage.CLOSED, False, False)
    assert lifecycle.lifecycle_of(never, timezone.now()).stage == Stage.NOT_SUBMITTED

    open_now(open_rfp)
    draft.refresh_from_db()
    assert lifecycle.lifecycle_of(draft, timezone.now()).stage == Stage.UNDER_REVIEW
    first = features(open_rfp)[0]
    decide(draft, staff, awards={first: "8000"})
    # Recorded but not published: the team does not see it yet.
    assert lifecycle.lifecycle_of(draft, timezone.now()).stage == Stage.UNDER_REVIEW
    publish(open_rfp, staff)
    life = lifecycle.lifecycle_of(draft, timezone.now())
    assert life.stage == Stage.DECIDED and life.label == "Selected"
    assert [(a.feature, str(a.amount)) for a in life.decision.awards] == [(first.name, "8000")]


# --- The proposal page at each stage --------------------------------------------------------


def test_draft_page_is_the_form_sealed_and_says_what_the_first_submission_allows(
    client, open_rfp, proposer
):
    proposal = ready_draft(open_rfp, proposer)
    client.force_login(proposer)
    body = page(client, "proposal_edit", proposal)
    for control in ("Save draft", "Save and submit now", 'type="file"', "/autosave/"):
        assert control in body
    assert "Only your team can read it until the deadline." in body
    assert "Not submitted yet: after your first submission you may revise it up to 3 times." in body
    assert "submissions left" not in body


def test_submitted_page_says_which_version_counts_and_revisions_left(client, open_rfp, proposer):
    proposal = submitted_proposal(open_rfp, proposer, "Ours")
    client.force_login(proposer)
    body = page(client, "proposal_edit", proposal)
    assert "Submitted (1 version)" in body
    assert "Version 1 was received" in body and "3 revisions left." in body
    assert "Save draft" in body and "Withdraw…" in body
    assert not ISO_INSTANT.search(_visible(body))


def _visible(body: str) -> str:
    """The page's text without its tags' attributes (where <time datetime> keeps ISO)."""
    return re.sub(r"<[^>]*>", " ", body)


def test_withdrawn_page_says_it_will_not_be_evaluated_unless_submitted_again(
    client, open_rfp, proposer
):
    proposal = submitted_proposal(open_rfp, proposer, "Ours")
    submission.withdraw_proposal(proposal=proposal, user=proposer, now=timezone.now())
    client.force_login(proposer)
    body = page(client, "proposal_edit", proposal)
    assert "Withdrawn" in body
    assert "It will not be evaluated unless you submit it again before the deadline" in body
    assert "Withdraw…" not in body


def test_after_the_deadline_the_page_is_read_only_and_says_what_happens_next(
    client, open_rfp, proposer
):
    proposal = submitted_proposal(open_rfp, proposer, "Ours")
    pass_deadline(open_rfp)
    client.force_login(proposer)
    body = page(client, "proposal_edit", proposal)
    assert_no_edit_controls(body)
    assert "Only your team can read it until the deadline" not in body
    assert "revisions left" not in body and "Withdraw…" not in body
    assert "The deadline passed on" in body and "What happens next" in body
    assert "Version 1" in body and "is the one that will be evaluated" in body
    # What was submitted is shown as text, with the version's receipt.
    assert "What was submitted: version 1" in body
    assert "Two maintainers with ten years of Python packaging work." in body
    assert reverse("proposal_version", args=[proposal.pk, 1]) in body

    open_now(open_rfp)
    body = page(client, "proposal_edit", proposal)
    assert_no_edit_controls(body)
    assert "Under review" in body and "is being reviewed" in body


def test_a_draft_never_submitted_is_shown_read_only_after_the_deadline(client, open_rfp, proposer):
    proposal = ready_draft(open_rfp, proposer)
    pass_deadline(open_rfp)
    client.force_login(proposer)
    body = page(client, "proposal_edit", proposal)
    assert_no_edit_controls(body)
    assert "Not submitted" in body and "was never submitted, so it will not be evaluated" in body
    assert "Your draft (never submitted)" in body
    assert "Two maintainers with ten years of Python packaging work." in body
    submit_page = page(client, "proposal_submit", proposal)
    assert "Submit proposal" not in submit_page


@pytest.fixture
def decided(evaluation_setup, staff):
    """Alpha selected for two features, Beta not selected; decisions published."""
    return {**evaluation_setup, "features": decisions_published(evaluation_setup, staff)}


def test_a_selected_team_sees_the_decision_first_and_no_edit_controls(client, decided):
    alpha = decided["alpha"]
    first, second = decided["features"]
    client.force_login(decided["alpha_owner"])
    body = page(client, "proposal_edit", alpha)
    assert_no_edit_controls(body)
    assert "Decision: Selected" in body
    assert f"{first.name}: <strong>USD 8,000</strong>" in body
    assert f"{second.name}: <strong>USD 5,000</strong>" in body
    assert "Total awarded: USD 13,000." in body
    decision_link = reverse("proposal_decision", args=[alpha.pk])
    assert decision_link in body
    # The decision leads: before the answers and before the status panel.
    assert body.index("Decision: Selected") < body.index("What was submitted")
    assert body.index("Decision: Selected") < body.index('id="status-heading"')
    assert "Only your team can read it until the deadline" not in body
    assert "Submitted" not in _visible(body).split("Status", 1)[1].split("Deadline", 1)[0]


def test_a_team_not_selected_sees_so_first(client, decided):
    client.force_login(decided["beta"].owner)
    body = page(client, "proposal_edit", decided["beta"])
    assert_no_edit_controls(body)
    assert "Decision: Not selected" in body
    assert "Your proposal was not selected this time." in body
    assert reverse("proposal_decision", args=[decided["beta"].pk]) in body


def test_my_proposals_leads_with_the_decision(client, decided):
    alpha = decided["alpha"]
    first, second = decided["features"]
    client.force_login(decided["alpha_owner"])
    body = client.get(reverse("my_proposals")).content.decode()
    lead = body.index('id="decisions-heading"')
    assert lead < body.index("<table")
    decisions = body[lead : body.index("<table")]
    assert "Selected" in decisions and alpha.title in decisions
    assert f"{first.name} (USD 8,000)" in decisions and f"{second.name} (USD 5,000)" in decisions
    assert reverse("proposal_decision", args=[alpha.pk]) in decisions
    row = body[body.index("<tbody>") :]
    assert ">Selected<" in row and "Submitted" not in row
    assert not ISO_INSTANT.search(_visible(body))


def test_my_proposals_reads_all_decisions_in_bounded_queries(
    client, decided, staff, django_assert_max_num_queries
):
    owner = decided["alpha_owner"]
    client.force_login(owner)
    url = reverse("my_proposals")
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    # Four more proposals of the same team, to other RFPs, each decided and published.
    for _ in range(4):
        proposal = ProposalFactory(owner=owner, submitted=True, rfp__opened_at=timezone.now())
        decide(proposal, staff)
        publish(proposal.rfp, staff)
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = client.get(url).content.decode()
    assert body.count("Read the decision and debrief") == 5


# --- The submit page and the receipt mail ----------------------------------------------------


def test_submit_page_mid_way_and_at_the_limit(client, open_rfp, proposer):
    open_rfp.max_revisions = 1
    open_rfp.save()
    proposal = ready_draft(open_rfp, proposer)
    client.force_login(proposer)
    body = page(client, "proposal_submit", proposal)
    assert "This is your first submission. After it you may revise it once" in body
    assert "Submit proposal" in body
    resubmit(proposal, proposer)
    body = page(client, "proposal_submit", proposal)
    assert "This submission is your last revision" in body and "Submit proposal" in body
    resubmit(proposal, proposer)
    body = page(client, "proposal_submit", proposal)
    assert "Submit proposal" not in body
    assert "up to 0" not in body
    assert "No revisions left: you have used the one revision this RFP allows." in body
    assert "Version 2, your latest submission, is the one evaluated." in body
    # The draft page offers no submit either; the server still refuses one.
    edit = page(client, "proposal_edit", proposal)
    assert "Save and submit now" not in edit and "Save draft" in edit
    proposal.refresh_from_db()
    response = client.post(
        reverse("proposal_submit", args=[proposal.pk]), {"edit": proposal.edit_count}
    )
    assert response.status_code == 400
    assert "No revisions left" in response.content.decode()
    assert proposal.versions.count() == 2


def test_receipt_mail_says_revisions_left_and_times_for_people(open_rfp, proposer):
    submitted_proposal(open_rfp, proposer, "Ours")
    body = OutboxMessage.objects.get(template="proposals/email/receipt").body_text
    assert "3 revisions left." in body
    assert "UTC" in body and "AoE" in body
    assert not ISO_INSTANT.search(body)
