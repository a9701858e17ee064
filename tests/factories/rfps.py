"""An RFP and its parts: milestones, features, proposal elements, criteria, timeline."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from proposals.models import RFP, Criterion, Feature, Milestone, ProposalElement, TimelineEntry
from rfp_portal import deadlines


class RFPFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RFP

    slug = factory.Sequence(lambda n: f"rfp-{n}")
    title = factory.Sequence(lambda n: f"Test RFP {n}")
    funder = "Test Fund"
    summary = "Build something useful."
    body_markdown = "Some **body** text."
    deadline_date = factory.LazyFunction(lambda: date.today() + timedelta(days=10))
    deadline_zone = "AoE"
    deadline_instant = factory.LazyAttribute(
        lambda o: deadlines.deadline_instant(o.deadline_date, o.deadline_zone)
    )
    status = RFP.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    rfp = factory.SubFactory(RFPFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")


class FeatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Feature

    milestone = factory.SubFactory(MilestoneFactory)
    name = factory.Sequence(lambda n: f"Feature {n}")
    budget = Decimal("1000")
    cap = Decimal("1500")


class ElementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProposalElement

    rfp = factory.SubFactory(RFPFactory)
    key = factory.Sequence(lambda n: f"element-{n}")
    kind = ProposalElement.Kind.TEXT
    label = "The team"


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Criterion

    rfp = factory.SubFactory(RFPFactory)
    key = factory.Sequence(lambda n: f"criterion-{n}")
    kind = Criterion.Kind.SCORED
    name = "Experience"
    weight = Decimal("1")


class TimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEntry

    rfp = factory.SubFactory(RFPFactory)
    date = factory.LazyFunction(date.today)
    label = "Something happens"
