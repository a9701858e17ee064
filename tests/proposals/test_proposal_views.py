"""Proposer pages over HTTP: bad input gets a clear error and loses nothing; sealing holds."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from proposals import services
from proposals.forms import field_name
from proposals.models import Feature, Proposal, ProposalElement
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.factories import UserFactory
from tests.helpers.proposals import form_data, pdf_upload
from tests.pdfs import encrypted_pdf, make_pdf, truncated_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(client, proposer, open_rfp):
    client.force_login(proposer)
    response = client.post(reverse("proposal_start", args=[open_rfp.slug]), {"title": "Ours"})
    assert response.status_code == 302
    return Proposal.objects.get(owner=proposer)


def save(client, proposal, document=None, **overrides):
    data = form_data(proposal, **overrides)
    if document is not None:
        data["document"] = document
    return client.post(reverse("proposal_edit", args=[proposal.pk]), data)


def test_rfp_page_offers_to_start_and_the_draft_page_renders(client, started):
    page = client.get(reverse("proposal_edit", args=[started.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Budget check" in body and "Still missing" in body
    assert client.get(started.rfp.get_absolute_url()).status_code == 200


def test_full_journey_over_http_save_submit_receipt_pdf(client, started):
    response = save(client, started, pdf_upload(4))
    assert response.status_code == 302, response.content.decode()[:3000]
    started.refresh_from_db()
    assert started.document_pages == 4
    review = client.get(reverse("proposal_submit", args=[started.pk]))
    assert "Every required part is there." in review.content.decode()
    response = client.post(
        reverse("proposal_submit", args=[started.pk]), {"edit": started.edit_count}
    )
    assert response.status_code == 302
    receipt = client.get(response.url)
    version = started.versions.get()
    assert version.receipt_code in receipt.content.decode()
    pdf_response = client.get(reverse("receipt_pdf", args=[started.pk, 1]))
    assert pdf_response["Content-Type"] == "application/pdf"
    from io import BytesIO

    from pypdf import PdfReader

    assert pdf_response["Content-Disposition"].startswith("attachment")
    text = PdfReader(BytesIO(b"".join(pdf_response.streaming_content))).pages[0].extract_text()
    assert version.receipt_code in text and version.document_sha256[:16] in text
    download = client.get(reverse("version_document", args=[started.pk, 1]))
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    mine = client.get(reverse("my_proposals")).content.decode()
    assert version.receipt_code in mine


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"MZ\x90\x00 an exe renamed", "application/pdf", "not a PDF"),
        (b"<html><script>alert(1)</script></html>", "application/pdf", "not a PDF"),
        (b"", "application/pdf", "empty"),
        (truncated_pdf(), "application/pdf", "incomplete"),
        (encrypted_pdf(), "application/pdf", "password"),
    ],
    ids=["renamed", "html-as-pdf", "empty", "truncated", "encrypted"],
)
def test_bad_upload_shows_the_reason_and_keeps_the_draft(
    client, started, content, content_type, message
):
    save(client, started)  # a first save with text answers
    started.refresh_from_db()
    kept = (started.fields, started.edit_count)
    response = save(
        client, started, SimpleUploadedFile("p.pdf", content, content_type), title="Changed"
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and "Nothing was saved" in body
    assert 'value="Changed"' in body  # what the user typed is still in the form
    started.refresh_from_db()
    assert (started.fields, started.edit_count) == kept and started.title == "Ours"


def test_file_over_the_limit_is_refused_before_it_is_stored(client, started, settings):
    data = make_pdf(1, padding=50_000)
    settings.MAX_PDF_BYTES = len(data) - 1
    response = save(client, started, SimpleUploadedFile("big.pdf", data, "application/pdf"))
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    started.refresh_from_db()
    assert not started.document


@pytest.mark.parametrize("amount", ["-100", "ten thousand", "1e5x"])
def test_bad_amount_is_an_error_on_that_field_and_nothing_is_saved(client, started, amount):
    element = started.rfp.elements.get(kind=ProposalElement.Kind.PER_FEATURE_AMOUNT)
    feature = Feature.objects.filter(milestone__rfp=started.rfp).first()
    name = field_name(element, feature)
    response = save(client, started, **{name: amount})
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_{name}_error"' in body and 'aria-invalid="true"' in body
    started.refresh_from_db()
    assert started.edit_count == 0


def test_submit_after_deadline_page_says_so_and_keeps_draft(client, started):
    save(client, started, pdf_upload())
    started.refresh_from_db()
    rfp = started.rfp
    rfp.deadline_date = timezone.now().date() - timedelta(days=2)
    from proposals.services import compute_deadline

    compute_deadline(rfp)
    rfp.save()
    response = client.post(
        reverse("proposal_submit", args=[started.pk]), {"edit": started.edit_count}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The deadline has passed" in body and "Your draft is kept" in body
    assert not started.versions.exists()
    assert client.get(reverse("proposal_edit", args=[started.pk])).status_code == 200


def test_form_posted_twice_creates_one_version(client, started):
    save(client, started, pdf_upload())
    started.refresh_from_db()
    url = reverse("proposal_submit", args=[started.pk])
    first = client.post(url, {"edit": started.edit_count})
    second = client.post(url, {"edit": started.edit_count})
    assert first.status_code == second.status_code == 302 and first.url == second.url
    assert started.versions.count() == 1


def test_guessing_another_teams_proposal_or_file_is_404_and_audited(client, started):
    save(client, started, pdf_upload())
    started.refresh_from_db()
    client.post(reverse("proposal_submit", args=[started.pk]), {"edit": started.edit_count})
    intruder = UserFactory(roles=["proposer"])
    client.force_login(intruder)
    for name, args in [
        ("proposal_edit", [started.pk]),
        ("proposal_document", [started.pk]),
        ("proposal_submit", [started.pk]),
        ("proposal_version", [started.pk, 1]),
        ("version_document", [started.pk, 1]),
        ("receipt_pdf", [started.pk, 1]),
        ("proposal_team", [started.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    refused = AuditEvent.objects.filter(action="proposal.access_refused", actor=intruder)
    assert refused.count() == 7


def test_sealed_before_opening_staff_see_counts_only_then_read_after(client, started, staff):
    save(client, started, pdf_upload())
    started.refresh_from_db()
    client.post(reverse("proposal_submit", args=[started.pk]), {"edit": started.edit_count})
    client.force_login(staff)
    staff_page = client.get(reverse("staff_home")).content.decode()
    assert started.rfp.title in staff_page and started.title not in staff_page
    for name, args in [
        ("proposal_version", [started.pk, 1]),
        ("version_document", [started.pk, 1]),
        ("proposal_edit", [started.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404
    # The admin obeys the same rule.
    admin_list = client.get(reverse("admin:proposals_proposal_changelist"))
    assert admin_list.status_code == 200 and started.title not in admin_list.content.decode()
    assert (
        client.get(reverse("admin:proposals_submissionversion_changelist"))
        .content.decode()
        .count(started.title)
        == 0
    )

    services.open_due_rfps(now=started.rfp.deadline_instant)
    assert client.get(reverse("proposal_version", args=[started.pk, 1])).status_code == 200
    assert (
        started.title in client.get(reverse("admin:proposals_proposal_changelist")).content.decode()
    )
    assert AuditEvent.objects.filter(action="proposal.version_viewed", actor=staff).exists()


def test_verify_page_without_account(client, started):
    save(client, started, pdf_upload())
    started.refresh_from_db()
    client.post(reverse("proposal_submit", args=[started.pk]), {"edit": started.edit_count})
    code = started.versions.get().receipt_code
    client.logout()
    body = client.post(reverse("verify_receipt"), {"code": code}).content.decode()
    assert "received on time" in body and started.title not in body
    assert (
        "No submission has this receipt code"
        in client.post(reverse("verify_receipt"), {"code": "R-XXXX-YYYY-ZZZZ"}).content.decode()
    )


def test_questions_answers_are_public_without_the_asker(client, proposer, open_rfp, staff):
    client.force_login(proposer)
    client.post(reverse("rfp_ask", args=[open_rfp.slug]), {"text": "Is Python 3.8 needed?"})
    question = open_rfp.questions.get()
    assert (
        "Is Python 3.8 needed?"
        not in client.get(open_rfp.get_absolute_url()).content.decode().split("Your questions")[0]
    )
    client.force_login(staff)
    client.post(
        reverse("staff_questions", args=[open_rfp.slug]),
        {"question": question.pk, "answer": "Yes, 3.8 or later.", "action": "publish"},
    )
    client.logout()
    body = client.get(open_rfp.get_absolute_url()).content.decode()
    assert "Is Python 3.8 needed?" in body and "Yes, 3.8 or later." in body
    assert proposer.email not in body


def test_staff_pages_render(client, staff, open_rfp):
    client.force_login(staff)
    assert client.get(reverse("staff_addendum", args=[open_rfp.slug])).status_code == 200
    assert client.get(reverse("staff_questions", args=[open_rfp.slug])).status_code == 200
    assert client.get(reverse("audit_log") + "?action=rfp").status_code == 200


def test_audit_trail_page_filters_and_cannot_be_edited(client, staff, started):
    from rfp_portal import audit

    audit.record(action="rfp.saved", actor=staff, obj=started.rfp)
    client.force_login(staff)
    body = client.get(reverse("audit_log") + "?action=proposal.started").content.decode()
    assert "proposal.started" in body and "rfp.saved" not in body
    body = client.get(reverse("audit_log") + f"?actor={staff.email}").content.decode()
    assert "rfp.saved" in body and "proposal.started" not in body
    event = AuditEvent.objects.first()
    change = client.get(reverse("admin:rfp_portal_auditevent_change", args=[event.pk]))
    assert 'name="action"' not in change.content.decode()
    assert (
        client.post(reverse("admin:rfp_portal_auditevent_delete", args=[event.pk])).status_code
        == 403
    )


def test_proposer_cannot_reach_staff_pages_or_audit(client, proposer, open_rfp):
    client.force_login(proposer)
    for url in [
        reverse("staff_home"),
        reverse("audit_log"),
        reverse("staff_addendum", args=[open_rfp.slug]),
        reverse("staff_questions", args=[open_rfp.slug]),
    ]:
        assert client.get(url).status_code == 403, url


# --- "Save and submit now": the draft form saves and submits in one request ---------------------


def save_and_submit(client, proposal, document=None, **overrides):
    return save(client, proposal, document, then="submit_now", **overrides)


def test_save_and_submit_now_saves_submits_and_shows_the_receipt(client, started):
    response = save_and_submit(client, started, pdf_upload(3), title="Final")
    version = started.versions.get()
    assert response.status_code == 302
    assert response.url == reverse("proposal_version", args=[started.pk, version.number])
    started.refresh_from_db()
    assert started.state == Proposal.State.SUBMITTED and started.title == "Final"
    assert version.document_pages == 3 and version.document_sha256 == started.document_sha256
    assert version.fields["title"] == "Final" and version.from_edit == 1
    actions = list(
        AuditEvent.objects.filter(object_id=str(started.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["proposal.draft_saved", "proposal.submitted"]
    assert OutboxMessage.objects.filter(idempotency_key__startswith="receipt:").count() == 1
    receipt = client.get(response.url).content.decode()
    assert version.receipt_code in receipt and "Your proposal has been received." in receipt


def test_save_and_submit_now_posted_twice_makes_one_version(client, started):
    data = make_pdf(2)
    first = save_and_submit(client, started, SimpleUploadedFile("p.pdf", data, "application/pdf"))
    again = save_and_submit(client, started, SimpleUploadedFile("p.pdf", data, "application/pdf"))
    assert first.status_code == again.status_code == 302 and first.url == again.url
    assert started.versions.count() == 1
    # The same stale form with other content is not a replay: refused, nothing changed.
    other = save_and_submit(client, started, pdf_upload(5))
    assert other.status_code == 400 and "changed elsewhere" in other.content.decode()
    assert started.versions.count() == 1


def test_save_and_submit_now_incomplete_saves_the_draft_and_lists_what_is_missing(client, started):
    response = save_and_submit(client, started, title="Kept title")  # no PDF yet
    assert response.status_code == 302
    assert response.url == reverse("proposal_submit", args=[started.pk])
    started.refresh_from_db()
    assert started.title == "Kept title" and started.edit_count == 1
    assert started.state == Proposal.State.DRAFT and not started.versions.exists()
    page = client.get(response.url).content.decode()
    assert "Your draft has been saved, but it was not submitted" in page
    assert "Some required parts are missing." in page
    assert "#id_document" in page  # the missing PDF, linked to its input


def test_save_and_submit_now_after_the_deadline_keeps_the_draft(client, started):
    from proposals.services import compute_deadline

    rfp = started.rfp
    rfp.deadline_date = timezone.now().date() - timedelta(days=2)
    compute_deadline(rfp)
    rfp.save()
    response = save_and_submit(
        client,
        started,
        pdf_upload(),
        title="Late but kept",
    )
    assert response.status_code == 302
    assert response.url == reverse("proposal_submit", args=[started.pk])
    started.refresh_from_db()
    assert started.title == "Late but kept" and started.document_pages == 2
    assert not started.versions.exists()
    page = client.get(response.url).content.decode()
    assert "The deadline has passed" in page and "Your draft is kept" in page


def test_save_and_submit_now_with_an_unread_addendum_saves_and_asks_for_it(client, started, staff):
    from proposals import addenda

    addendum = addenda.publish_addendum(
        rfp=started.rfp,
        changes={"summary": started.rfp.summary + " Also docs."},
        change_note="Clarified scope.",
        actor=staff,
        now=timezone.now(),
    )
    started.refresh_from_db()
    response = save_and_submit(client, started, pdf_upload())
    assert response.status_code == 302
    assert response.url == reverse("proposal_submit", args=[started.pk])
    started.refresh_from_db()
    assert started.document_pages == 2 and not started.versions.exists()
    page = client.get(response.url).content.decode()
    assert "acknowledge" in page and addendum.change_note in page


def test_save_and_submit_now_with_a_bad_pdf_saves_and_submits_nothing(client, started):
    response = save_and_submit(
        client,
        started,
        SimpleUploadedFile("p.pdf", truncated_pdf(), "application/pdf"),
        title="Changed",
    )
    assert response.status_code == 400
    assert "incomplete" in response.content.decode()
    started.refresh_from_db()
    assert started.title == "Ours" and started.edit_count == 0
    assert not started.versions.exists()


def test_save_and_submit_now_stays_within_its_query_budget(
    client, started, django_assert_max_num_queries
):
    """The rush's hot path (bench/deadline_rush.py): one request, a bounded number of SQL
    statements whatever the RFP's size (session, user, team, the form's structure, the save,
    the submit with its audit events, signed receipt and receipt mail, transaction control),
    and the transparency log: the RFP share-locked (opening waits for submits in flight), the
    log row locked, the leaf inserted, the log updated: 25 statements; the RFP's first submit
    also creates its log row (savepoint, insert, release), as here: 28."""
    data = form_data(started, then="submit_now")
    data["document"] = pdf_upload()
    url = reverse("proposal_edit", args=[started.pk])
    with django_assert_max_num_queries(28):
        response = client.post(url, data)
    assert response.status_code == 302 and started.versions.count() == 1
