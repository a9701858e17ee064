"""factory_boy factories for the portal's models: import them from here.

accounts: people; rfps: an RFP and its parts; submissions: proposals and submitted versions;
reviews: assignments, reviews, assessments and decisions.
"""

from tests.factories.accounts import PASSWORD, UserFactory
from tests.factories.reviews import (
    AssessmentFactory,
    AssignmentFactory,
    DecisionFactory,
    ReviewFactory,
)
from tests.factories.rfps import (
    CriterionFactory,
    ElementFactory,
    FeatureFactory,
    MilestoneFactory,
    RFPFactory,
    TimelineEntryFactory,
)
from tests.factories.submissions import ProposalFactory, SubmissionVersionFactory

__all__ = [
    "PASSWORD",
    "AssessmentFactory",
    "AssignmentFactory",
    "CriterionFactory",
    "DecisionFactory",
    "ElementFactory",
    "FeatureFactory",
    "MilestoneFactory",
    "ProposalFactory",
    "RFPFactory",
    "ReviewFactory",
    "SubmissionVersionFactory",
    "TimelineEntryFactory",
    "UserFactory",
]
