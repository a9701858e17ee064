"""Each factory builds a valid row (full_clean) and saves it, consistent with its neighbours."""

import hashlib

import pytest
from django.core.files.storage import default_storage

from evaluation.models import Assessment, Assignment, Decision, PoolMember, Review
from proposals import pdf_check
from proposals.models import Criterion, Proposal, ProposalMember, SubmissionVersion
from proposals.submission import canonical_fields, canonical_json
from rfp_portal import permissions
from tests.factories import (
    AssessmentFactory,
    AssignmentFactory,
    CriterionFactory,
    DecisionFactory,
    ProposalFactory,
    ReviewFactory,
    SubmissionVersionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def valid_and_saved(obj):
    obj.full_clean()
    assert type(obj).objects.filter(pk=obj.pk).exists()
    return obj


def test_proposal_factory_makes_a_draft_with_its_owner_on_the_team():
    coauthor = UserFactory()
    proposal = valid_and_saved(ProposalFactory(team=[coauthor]))
    assert proposal.state == Proposal.State.DRAFT and not proposal.versions.exists()
    assert permissions.has_role(proposal.owner, permissions.Role.PROPOSER)
    roles = dict(ProposalMember.objects.filter(proposal=proposal).values_list("user", "role"))
    assert roles == {proposal.owner.pk: "owner", coauthor.pk: "coauthor"}


def test_submission_version_factory_stores_a_valid_pdf_and_submits_the_proposal():
    version = valid_and_saved(SubmissionVersionFactory(pages=3))
    proposal = version.proposal
    proposal.refresh_from_db()
    valid_and_saved(proposal)
    assert proposal.state == Proposal.State.SUBMITTED and version.number == 1
    assert version.submitted_by == proposal.owner
    # The stored file is the PDF the row describes, and the portal's own check accepts it.
    with default_storage.open(version.document.name, "rb") as handle:
        info = pdf_check.inspect_pdf(handle, max_bytes=10_000_000)
    assert (info.size, info.pages, info.sha256) == (
        version.document_size,
        version.document_pages,
        version.document_sha256,
    )
    assert version.document_pages == 3 and info.active_content == ()
    # The digest covers what a submit would have frozen.
    assert version.fields == canonical_fields(proposal)
    assert version.fields_sha256 == hashlib.sha256(canonical_json(version.fields)).hexdigest()
    assert proposal.document.name == version.document.name
    # A second version of the same proposal takes the next number and edit.
    second = valid_and_saved(SubmissionVersionFactory(proposal=proposal))
    assert (second.number, second.from_edit) == (2, version.from_edit + 1)
    assert second.receipt_code != version.receipt_code


def test_submitted_proposal_factory_comes_with_one_version():
    proposal = valid_and_saved(ProposalFactory(submitted=True))
    assert proposal.state == Proposal.State.SUBMITTED
    assert SubmissionVersion.objects.filter(proposal=proposal).count() == 1


def test_assignment_factory_assigns_a_reviewer_from_the_pool():
    assignment = valid_and_saved(AssignmentFactory())
    assert assignment.conflict == Assignment.Conflict.NONE and assignment.active
    assert assignment.proposal.state == Proposal.State.SUBMITTED
    assert permissions.has_role(assignment.reviewer, permissions.Role.REVIEWER)
    assert PoolMember.objects.filter(rfp=assignment.proposal.rfp, user=assignment.reviewer).exists()
    declared = valid_and_saved(AssignmentFactory(declared=True))
    assert declared.conflict == Assignment.Conflict.DECLARED and not declared.active
    assert valid_and_saved(AssignmentFactory(undeclared=True)).declared_at is None


def test_review_factory_with_scores_assesses_every_criterion():
    assignment = AssignmentFactory()
    rfp = assignment.proposal.rfp
    CriterionFactory(rfp=rfp, key="experience")
    CriterionFactory(rfp=rfp, key="eligible", kind=Criterion.Kind.GATE, weight=None)
    review = valid_and_saved(ReviewFactory(assignment=assignment, submitted=True, scores=4))
    assert review.state == Review.State.SUBMITTED and review.submitted_at is not None
    assessed = {a.criterion.key: (a.score, a.verdict) for a in review.assessments.all()}
    assert assessed == {"experience": (4, ""), "eligible": (None, "pass")}
    for assessment in review.assessments.all():
        valid_and_saved(assessment)
    assert valid_and_saved(ReviewFactory()).state == Review.State.DRAFT


def test_assessment_factory_scores_a_criterion_of_the_reviews_rfp():
    assessment = valid_and_saved(AssessmentFactory())
    assert assessment.criterion.rfp == assessment.review.assignment.proposal.rfp
    assert assessment.score == 3 and Assessment.objects.count() == 1


def test_decision_factory_decides_on_a_submitted_proposal():
    decision = valid_and_saved(DecisionFactory())
    assert decision.outcome == Decision.Outcome.NOT_SELECTED
    assert decision.proposal.state == Proposal.State.SUBMITTED
    assert permissions.has_role(decision.decided_by, permissions.Role.STAFF)
    assert valid_and_saved(DecisionFactory(selected=True)).outcome == Decision.Outcome.SELECTED
