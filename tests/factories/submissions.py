"""Proposals: a draft, and the submitted versions a submit freezes (with a stored PDF)."""

import hashlib

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from proposals.models import Proposal, ProposalMember, SubmissionVersion, draft_document_path
from proposals.submission import canonical_json, new_receipt_code
from rfp_portal import permissions
from tests.factories.accounts import UserFactory
from tests.factories.rfps import RFPFactory
from tests.pdfs import make_pdf


class ProposalFactory(factory.django.DjangoModelFactory):
    """A draft with its owner on the team (as submission.start_proposal makes it).

    ProposalFactory(submitted=True): submitted, with one version (SubmissionVersionFactory).
    team=[user, ...] adds co-authors.
    """

    class Meta:
        model = Proposal
        skip_postgeneration_save = True

    class Params:
        submitted = factory.Trait(
            state=Proposal.State.SUBMITTED,
            version=factory.RelatedFactory(
                "tests.factories.submissions.SubmissionVersionFactory",
                factory_related_name="proposal",
            ),
        )

    rfp = factory.SubFactory(RFPFactory)
    owner = factory.SubFactory(UserFactory, roles=[permissions.Role.PROPOSER])
    title = factory.Sequence(lambda n: f"Proposal {n}")
    state = Proposal.State.DRAFT
    fields = factory.LazyFunction(dict)

    @factory.post_generation
    def team(self, create, extracted, **kwargs):
        if not create:
            return
        ProposalMember.objects.create(proposal=self, user=self.owner, role="owner")
        for user in extracted or ():
            ProposalMember.objects.create(proposal=self, user=user, role="coauthor")


def _store_pdf(proposal: Proposal, data: bytes) -> str:
    # Where a draft's upload goes; a submitted version names the same file.
    return default_storage.save(draft_document_path(proposal, "proposal.pdf"), ContentFile(data))


class SubmissionVersionFactory(factory.django.DjangoModelFactory):
    """A submitted version of a proposal, as submission.submit_proposal freezes it.

    A small valid PDF (`pages` blank pages, or the bytes given as `pdf`) is written to the
    default storage when the factory is called (build or create). Creating it also leaves the
    proposal as a submit does: submitted, its draft naming the same document, edit_count bumped.
    """

    class Meta:
        model = SubmissionVersion
        skip_postgeneration_save = True

    class Params:
        pages = 2
        pdf = factory.LazyAttribute(lambda o: make_pdf(o.pages))

    proposal = factory.SubFactory(ProposalFactory, state=Proposal.State.SUBMITTED)
    number = factory.LazyAttribute(
        lambda o: o.proposal.versions.count() + 1 if o.proposal.pk else 1
    )
    document = factory.LazyAttribute(lambda o: _store_pdf(o.proposal, o.pdf))
    document_name = "proposal.pdf"
    document_size = factory.LazyAttribute(lambda o: len(o.pdf))
    document_pages = factory.SelfAttribute("pages")
    document_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.pdf).hexdigest())
    # What submission.canonical_fields() makes of the proposal, and its digest.
    fields = factory.LazyAttribute(
        lambda o: {
            "rfp": o.proposal.rfp.slug,
            "proposal": o.proposal.pk,
            "title": o.proposal.title,
            "fields": o.proposal.fields,
            "document_sha256": o.document_sha256,
        }
    )
    fields_sha256 = factory.LazyAttribute(
        lambda o: hashlib.sha256(canonical_json(o.fields)).hexdigest()
    )
    received_at = factory.LazyFunction(timezone.now)
    submitted_by = factory.SelfAttribute("proposal.owner")
    receipt_code = factory.LazyFunction(new_receipt_code)
    from_edit = factory.SelfAttribute("proposal.edit_count")

    @factory.post_generation
    def leaves_proposal_submitted(self, create, extracted, **kwargs):
        if not create:
            return
        proposal = self.proposal
        proposal.state = Proposal.State.SUBMITTED
        proposal.edit_count = self.from_edit + 1
        proposal.updated_at = self.received_at
        if not proposal.document:
            proposal.document = self.document.name
            proposal.document_name = self.document_name
            proposal.document_size = self.document_size
            proposal.document_pages = self.document_pages
            proposal.document_sha256 = self.document_sha256
        proposal.save()
