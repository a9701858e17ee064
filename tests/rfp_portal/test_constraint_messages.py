"""A database rule broken through a form is explained in words, never by the constraint's name."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from proposals.models import RFP
from tests.factories import FeatureFactory

CHECKS = [
    (model, constraint)
    for model in apps.get_models()
    for constraint in model._meta.constraints
    if isinstance(constraint, models.CheckConstraint)
]


@pytest.mark.parametrize(
    ("model", "constraint"), CHECKS, ids=[f"{m.__name__}.{c.name}" for m, c in CHECKS]
)
def test_every_check_constraint_explains_itself_in_words(model, constraint):
    message = str(constraint.get_violation_error_message())
    assert constraint.name not in message
    assert message != str(constraint.default_violation_error_message) % {"name": constraint.name}
    # It starts with the field a person has to correct ("Cap: ...").
    field_words = {str(f.verbose_name).lower() for f in model._meta.get_fields() if f.concrete}
    assert message.split(":", 1)[0].lower() in field_words, message


@pytest.mark.django_db
def test_a_cap_below_the_budget_is_refused_in_words():
    feature = FeatureFactory.build(budget=1000, cap=500)
    feature.milestone.rfp.save()
    feature.milestone.rfp_id = feature.milestone.rfp.pk
    feature.milestone.save()
    feature.milestone_id = feature.milestone.pk
    with pytest.raises(ValidationError) as refused:
        feature.full_clean()
    assert refused.value.messages == ["Cap: it must be at least the budget."]


@pytest.mark.django_db
def test_a_published_rfp_without_its_time_is_refused_in_words():
    rfp = RFP(status=RFP.Status.PUBLISHED, published_at=None)
    with pytest.raises(ValidationError) as refused:
        rfp.validate_constraints()
    assert "Published at: a published RFP needs the time it was published." in (
        refused.value.messages
    )
