from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = _("Evaluation")

    def ready(self) -> None:
        from evaluation import (
            lifecycle,
            receivers,  # noqa: F401  (reacts to proposals' rfp_opened signal)
            rules,
        )
        from proposals import rules as proposal_rules

        # An assigned reviewer who declared no conflict reads the submitted versions (rule 5):
        # proposals' pages ask proposals.rules, which cannot import the evaluation above it.
        proposal_rules.register_submission_reader(rules.can_review)
        # The proposer's pages lead with the published decision (proposals.lifecycle).
        proposal_rules.register_decision_reader(lifecycle.published_decisions)
