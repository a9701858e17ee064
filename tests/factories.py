"""factory_boy factories for the portal's models."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from proposals.models import RFP, Criterion, Feature, Milestone, ProposalElement, TimelineEntry
from rfp_portal import deadlines, permissions
from rfp_portal.models import User

PASSWORD = "a-long-test-password-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)
        if create:
            self.save()

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            permissions.grant_role(self, role)


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
