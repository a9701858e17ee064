"""An opened RFP with submitted proposals from two teams and a pool of reviewers."""

from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from evaluation import services
from evaluation.models import PoolMember
from proposals import submission
from rfp_portal import permissions
from tests.conftest import TOTP_SECRET
from tests.factories import UserFactory
from tests.proposals.conftest import complete_answers, pdf_upload


def submitted_proposal(rfp, owner, title, document=None):
    """A submitted proposal; `document` (an upload) replaces the default two-page PDF."""
    proposal = submission.start_proposal(rfp=rfp, user=owner, title=title, now=timezone.now())
    proposal = submission.save_draft(
        proposal=proposal,
        user=owner,
        title=title,
        fields=complete_answers(rfp),
        document=document or pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    submission.submit_proposal(
        proposal=proposal, user=owner, expected_edit=proposal.edit_count, now=timezone.now()
    )
    proposal.refresh_from_db()
    return proposal


def open_now(rfp):
    submission.open_due_rfps(now=rfp.deadline_instant + timedelta(seconds=1))
    rfp.refresh_from_db()


def make_reviewer(email, organisation=""):
    user = UserFactory(email=email, organisation=organisation, roles=[permissions.Role.REVIEWER])
    TOTP.activate(user, TOTP_SECRET)
    return user


@pytest.fixture
def evaluation_setup(open_rfp):
    alpha_owner = UserFactory(email="alpha@alpha-team.example.io", organisation="Alpha")
    beta_owner = UserFactory(email="beta@beta-team.example.io", organisation="Beta")
    alpha = submitted_proposal(open_rfp, alpha_owner, "Alpha proposal")
    beta = submitted_proposal(open_rfp, beta_owner, "Beta proposal")
    reviewers = [make_reviewer(f"rev{i}@uni{i}.example.edu", f"Uni {i}") for i in range(3)]
    for reviewer in reviewers:
        PoolMember.objects.create(rfp=open_rfp, user=reviewer)
    return {
        "rfp": open_rfp,
        "alpha": alpha,
        "beta": beta,
        "alpha_owner": alpha_owner,
        "reviewers": reviewers,
        "assign": lambda proposal, reviewer, staff: services.assign(
            proposal=proposal, reviewer=reviewer, staff_user=staff, now=timezone.now()
        ),
    }


def declare_no_conflict(assignment, reviewer):
    return services.declare_conflict(
        assignment=assignment, user=reviewer, conflict=False, reason="", now=timezone.now()
    )


def save_review(assignment, reviewer, assessments, *, submit=False, comment=""):
    return services.save_review(
        assignment=assignment,
        user=reviewer,
        assessments=assessments,
        overall_comment=comment,
        submit=submit,
        now=timezone.now(),
    )
