"""evaluation's reactions to what happens in proposals (connected in EvaluationConfig.ready).

Receivers are thin: each calls one service, which holds the rule.
"""

from django.dispatch import receiver

from evaluation import services
from proposals.signals import rfp_opened


@receiver(rfp_opened, dispatch_uid="evaluation.notify_reviewers_of_opening")
def _rfp_opened(sender, *, rfp, **kwargs) -> None:
    services.notify_reviewers_of_opening(rfp=rfp)
