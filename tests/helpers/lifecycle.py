"""Moving a proposal through its life with the product's services: the deadline passes, the
decisions are recorded and published, the review due date passes."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from evaluation import decisions
from proposals.models import Feature
from proposals.services import compute_deadline
from tests.helpers.proposals import open_now


def pass_deadline(rfp):
    """The RFP's deadline two days ago ("yesterday" AoE may still be running, AoE being
    UTC-12); the RFP is not opened (proposals.services.open_due_rfps does that)."""
    rfp.deadline_date = timezone.now().date() - timedelta(days=2)
    compute_deadline(rfp)
    rfp.save()
    rfp.refresh_from_db()


def pass_review_due(rfp):
    """The review due date two days ago (its end of day AoE has passed)."""
    rfp.review_due = timezone.now().date() - timedelta(days=2)
    rfp.save(update_fields=["review_due"])


def features(rfp) -> list[Feature]:
    return list(Feature.objects.filter(milestone__rfp=rfp).order_by("milestone__position"))


def decide(proposal, staff, *, awards: dict | None = None, outcome: str | None = None):
    """Record staff's decision: selected with `awards` ({feature: amount}), or `outcome`."""
    return decisions.record_decision(
        proposal=proposal,
        staff_user=staff,
        outcome=outcome or ("selected" if awards else "not_selected"),
        rationale="The panel's reasons.",
        awards={f.pk: Decimal(amount) for f, amount in (awards or {}).items()},
        confirm_over_cap=True,
        now=timezone.now(),
    )


def publish(rfp, staff):
    return decisions.publish_decisions(rfp=rfp, staff_user=staff, now=timezone.now())


def decisions_published(setup, staff) -> tuple[Feature, Feature]:
    """The evaluation setup's RFP past its deadline and opened, Alpha selected for the first two
    features (8,000 and 5,000), Beta not selected, the decisions published; those features."""
    rfp = setup["rfp"]
    pass_deadline(rfp)
    open_now(rfp)
    first, second = features(rfp)[:2]
    decide(setup["alpha"], staff, awards={first: "8000", second: "5000"})
    decide(setup["beta"], staff)
    publish(rfp, staff)
    return first, second
