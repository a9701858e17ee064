"""Proposals made through the product's services and forms: complete answers, a PDF upload,
the proposal form's POST data, a draft ready to submit, a submitted proposal, and opening an RFP
at its deadline."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from proposals import services as rfp_services
from proposals import submission
from proposals.forms import field_name
from proposals.models import RFP, Feature
from tests.pdfs import make_pdf


def complete_answers(rfp: RFP, amount: str = "1000") -> dict:
    features = list(Feature.objects.filter(milestone__rfp=rfp))
    return {
        "team": "Two maintainers with ten years of Python packaging work.",
        "agreement": True,
        "milestones": sorted(m.pk for m in rfp.milestones.all()),
        "similar_projects": "We built TUF support elsewhere.",
        "timeline": {str(f.pk): "Four weeks" for f in features},
        "budget": {str(f.pk): amount for f in features},
    }


def pdf_upload(pages: int = 2, name: str = "proposal.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, make_pdf(pages), content_type="application/pdf")


def form_data(proposal, **overrides):
    rfp = proposal.rfp
    answers = complete_answers(rfp)
    data = {"edit": proposal.edit_count, "title": proposal.title}
    for element in rfp.elements.all():
        value = answers.get(element.key)
        if element.kind in ("per_feature_text", "per_feature_amount"):
            for feature in Feature.objects.filter(milestone__rfp=rfp):
                data[field_name(element, feature)] = value[str(feature.pk)]
        elif element.kind == "milestone_choice":
            data[field_name(element)] = [str(v) for v in value]
        elif element.kind == "agreement":
            data[field_name(element)] = "on"
        elif element.kind == "text":
            data[field_name(element)] = value
    data.update(overrides)
    return data


def ready_draft(rfp, user, title="Ready proposal", *, with_pdf=True):
    """A draft with complete answers and (unless `with_pdf` is false) a two-page PDF."""
    proposal = submission.start_proposal(rfp=rfp, user=user, title=title, now=timezone.now())
    return submission.save_draft(
        proposal=proposal,
        user=user,
        title=title,
        fields=complete_answers(rfp),
        document=pdf_upload() if with_pdf else None,
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )


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
    rfp_services.open_due_rfps(now=rfp.deadline_instant + timedelta(seconds=1))
    rfp.refresh_from_db()
