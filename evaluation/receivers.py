"""evaluation's reactions to what happens in proposals (connected in EvaluationConfig.ready).

Receivers are thin: each calls one service, which holds the rule.

The dashboard's read model (evaluation.ranking_snapshot) listens to the models whose rows the
ranking reads, so that every write path (services, decisions, the admin, a later module) bumps
it in its own transaction without having to remember to.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from evaluation import ranking_updates, services
from evaluation.models import Assessment, Assignment, Decision, Review
from proposals.signals import rfp_opened
from rfp_portal.audit import AuditAction
from rfp_portal.models import AuditEvent


@receiver(rfp_opened, dispatch_uid="evaluation.notify_reviewers_of_opening")
def _rfp_opened(sender, *, rfp, **kwargs) -> None:
    services.notify_reviewers_of_opening(rfp=rfp)


@receiver([post_save, post_delete], sender=Review, dispatch_uid="evaluation.ranking.review")
def _review_changed(sender, *, instance, **kwargs) -> None:
    ranking_updates.changed_where(assignments__pk=instance.assignment_id)


@receiver([post_save, post_delete], sender=Assessment, dispatch_uid="evaluation.ranking.assessment")
def _assessment_changed(sender, *, instance, **kwargs) -> None:
    ranking_updates.changed_where(assignments__review__pk=instance.review_id)


@receiver([post_save, post_delete], sender=Assignment, dispatch_uid="evaluation.ranking.assignment")
def _assignment_changed(sender, *, instance, **kwargs) -> None:
    # Assignments, removals and declared conflicts.
    ranking_updates.changed_where(pk=instance.proposal_id)


@receiver([post_save, post_delete], sender=Decision, dispatch_uid="evaluation.ranking.decision")
def _decision_changed(sender, *, instance, **kwargs) -> None:
    ranking_updates.changed_where(pk=instance.proposal_id)


@receiver(post_save, sender=AuditEvent, dispatch_uid="evaluation.ranking.pool_removed")
def _pool_removed(sender, *, instance, created, **kwargs) -> None:
    # services.remove_from_pool writes its assignments and reviews with queryset updates, which
    # send no signal; the event it records names the RFP.
    if created and instance.action == AuditAction.POOL_REMOVED and instance.object_id:
        ranking_updates.changed([instance.object_id])
