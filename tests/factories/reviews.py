"""The evaluation: assignments, reviews with their assessments, decisions."""

import factory
from django.utils import timezone

from evaluation.models import Assessment, Assignment, Decision, PoolMember, Review
from rfp_portal import permissions
from tests.factories.accounts import UserFactory
from tests.factories.rfps import CriterionFactory
from tests.factories.submissions import ProposalFactory


class AssignmentFactory(factory.django.DjangoModelFactory):
    """A reviewer (in the RFP's pool) assigned to a submitted proposal, no conflict declared.

    Traits: undeclared=True (nothing declared yet), declared=True (a conflict: removed).
    in_pool=False leaves the reviewer out of the RFP's pool.
    """

    class Meta:
        model = Assignment
        skip_postgeneration_save = True

    class Params:
        undeclared = factory.Trait(conflict=Assignment.Conflict.UNDECLARED, declared_at=None)
        declared = factory.Trait(
            conflict=Assignment.Conflict.DECLARED,
            conflict_reason="I worked with this team last year.",
            removed_at=factory.LazyFunction(timezone.now),
        )

    proposal = factory.SubFactory(ProposalFactory, submitted=True)
    reviewer = factory.SubFactory(UserFactory, roles=[permissions.Role.REVIEWER])
    assigned_by = factory.SubFactory(UserFactory, roles=[permissions.Role.STAFF], is_staff=True)
    conflict = Assignment.Conflict.NONE
    declared_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def in_pool(self, create, extracted, **kwargs):
        if create and extracted is not False:
            PoolMember.objects.get_or_create(rfp=self.proposal.rfp, user=self.reviewer)


class ReviewFactory(factory.django.DjangoModelFactory):
    """A draft review (submitted=True: submitted).

    scores=N assesses every criterion of the RFP: N for the scored ones, "pass" at the gates.
    """

    class Meta:
        model = Review
        skip_postgeneration_save = True

    class Params:
        submitted = factory.Trait(
            state=Review.State.SUBMITTED, submitted_at=factory.LazyFunction(timezone.now)
        )

    assignment = factory.SubFactory(AssignmentFactory)
    state = Review.State.DRAFT

    @factory.post_generation
    def scores(self, create, extracted, **kwargs):
        if not create or extracted is None:
            return
        for criterion in self.assignment.proposal.rfp.criteria.all():
            Assessment.objects.create(
                review=self,
                criterion=criterion,
                score=None if criterion.is_gate else extracted,
                verdict=Assessment.Verdict.PASS if criterion.is_gate else "",
            )


class AssessmentFactory(factory.django.DjangoModelFactory):
    """One criterion of a review: a score, or a verdict if the criterion is a gate."""

    class Meta:
        model = Assessment

    review = factory.SubFactory(ReviewFactory)
    criterion = factory.SubFactory(
        CriterionFactory, rfp=factory.SelfAttribute("..review.assignment.proposal.rfp")
    )
    score = factory.LazyAttribute(lambda o: None if o.criterion.is_gate else 3)
    verdict = factory.LazyAttribute(
        lambda o: Assessment.Verdict.PASS if o.criterion.is_gate else ""
    )


class DecisionFactory(factory.django.DjangoModelFactory):
    """Staff's decision (not selected; selected=True: selected) on a submitted proposal."""

    class Meta:
        model = Decision

    class Params:
        selected = factory.Trait(
            outcome=Decision.Outcome.SELECTED, rationale="A strong team and a clear plan."
        )

    proposal = factory.SubFactory(ProposalFactory, submitted=True)
    outcome = Decision.Outcome.NOT_SELECTED
    rationale = "The panel preferred other proposals."
    awards = factory.LazyFunction(dict)
    decided_by = factory.SubFactory(UserFactory, roles=[permissions.Role.STAFF], is_staff=True)
    decided_at = factory.LazyFunction(timezone.now)
