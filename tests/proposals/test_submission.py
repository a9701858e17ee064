"""The proposal lifecycle on PostgreSQL: drafts, submit, receipts, revisions, withdrawal."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from proposals import addenda, receipts, services, submission, team
from proposals.models import Proposal, ProposalMember, SubmissionVersion
from rfp_portal.models import AuditEvent, OutboxMessage
from tests.factories import UserFactory
from tests.helpers.proposals import complete_answers, pdf_upload
from tests.pdfs import make_pdf

pytestmark = pytest.mark.django_db


def submit(proposal, user, now=None):
    proposal.refresh_from_db()
    return submission.submit_proposal(
        proposal=proposal, user=user, expected_edit=proposal.edit_count, now=now or timezone.now()
    )


def test_submit_freezes_version_with_digests_receipt_audit_and_mail(
    draft, proposer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = submit(draft, proposer)
    version = result.version
    assert result.created and version.number == 1
    assert len(version.document_sha256) == 64 and len(version.fields_sha256) == 64
    assert version.receipt_code.startswith("R-")
    assert version.fields["fields"]["team"].startswith("Two maintainers")
    draft.refresh_from_db()
    assert draft.state == Proposal.State.SUBMITTED
    assert AuditEvent.objects.filter(action="proposal.submitted", object_id=str(draft.pk)).exists()
    assert OutboxMessage.objects.filter(idempotency_key__startswith="receipt:").count() == 1
    assert version.receipt_code in mail.outbox[0].body
    # The receipt PDF was rendered by the task queued on commit and stored.
    assert default_storage.exists(receipts.receipt_pdf_name(version))


def test_the_receipt_pdf_is_stored_once_and_names_the_version(draft, proposer):
    from pypdf import PdfReader

    version = submit(draft, proposer).version
    name = receipts.receipt_pdf_name(version)
    assert not default_storage.exists(name)  # on_commit did not run in this test
    assert receipts.store_receipt_pdf(version.pk) == name
    stored = default_storage.open(name, "rb").read()
    assert receipts.store_receipt_pdf(version.pk) == name  # a second run renders nothing new
    assert default_storage.open(name, "rb").read() == stored
    _dirs, files = default_storage.listdir(f"receipts/{draft.rfp.slug}")
    assert [f for f in files if version.receipt_code in f] == [
        f"receipt-{version.receipt_code}.pdf"
    ]
    text = PdfReader(default_storage.open(name, "rb")).pages[0].extract_text()
    assert version.receipt_code in text and version.document_sha256[:16] in text


def test_fields_digest_is_sha256_of_canonical_json(draft, proposer):
    import hashlib

    version = submit(draft, proposer).version
    expected = hashlib.sha256(submission.canonical_json(version.fields)).hexdigest()
    assert version.fields_sha256 == expected


def test_replayed_form_returns_the_same_version(draft, proposer):
    draft.refresh_from_db()
    edit = draft.edit_count
    first = submission.submit_proposal(
        proposal=draft, user=proposer, expected_edit=edit, now=timezone.now()
    )
    again = submission.submit_proposal(
        proposal=draft, user=proposer, expected_edit=edit, now=timezone.now()
    )
    assert first.created and not again.created
    assert first.version.pk == again.version.pk
    assert SubmissionVersion.objects.filter(proposal=draft).count() == 1


@pytest.mark.django_db(transaction=True)
def test_double_click_racing_submits_make_one_version(open_rfp, proposer):
    proposal = _fresh_draft(open_rfp, proposer)
    edit = proposal.edit_count
    results, errors = [], []
    barrier = threading.Barrier(2)

    def click():
        try:
            barrier.wait()
            results.append(
                submission.submit_proposal(
                    proposal=proposal, user=proposer, expected_edit=edit, now=timezone.now()
                )
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert {r.version.pk for r in results} == {results[0].version.pk}
    assert sorted(r.created for r in results) == [False, True]
    assert SubmissionVersion.objects.filter(proposal=proposal).count() == 1


def _fresh_draft(rfp, user):
    proposal = submission.start_proposal(rfp=rfp, user=user, title="Race", now=timezone.now())
    return submission.save_draft(
        proposal=proposal,
        user=user,
        title="Race",
        fields=complete_answers(rfp),
        document=pdf_upload(),
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )


def test_submit_one_second_after_deadline_is_refused_and_draft_kept(draft, proposer):
    rfp = draft.rfp
    draft.refresh_from_db()
    before = (draft.fields, draft.document.name, draft.edit_count)
    with pytest.raises(submission.DeadlinePassed, match="deadline has passed"):
        submit(draft, proposer, now=rfp.deadline_instant + timedelta(seconds=1))
    with pytest.raises(submission.DeadlinePassed):
        submit(draft, proposer, now=rfp.deadline_instant)
    draft.refresh_from_db()
    assert (draft.fields, draft.document.name, draft.edit_count) == before
    assert draft.state == Proposal.State.DRAFT and not draft.versions.exists()
    assert submit(draft, proposer, now=rfp.deadline_instant - timedelta(seconds=1)).created


def test_grace_seconds_accept_a_submit_just_after_the_deadline(draft, proposer):
    rfp = draft.rfp
    rfp.grace_seconds = 60
    rfp.save()
    draft.refresh_from_db()
    assert submit(draft, proposer, now=rfp.deadline_instant + timedelta(seconds=59)).created


def test_incomplete_proposal_lists_what_is_missing_and_saves_nothing(open_rfp, proposer):
    proposal = submission.start_proposal(
        rfp=open_rfp, user=proposer, title="Half done", now=timezone.now()
    )
    answers = complete_answers(open_rfp)
    del answers["team"]
    answers["agreement"] = False
    proposal = submission.save_draft(
        proposal=proposal,
        user=proposer,
        title="Half done",
        fields=answers,
        document=None,
        expected_edit=proposal.edit_count,
        now=timezone.now(),
    )
    with pytest.raises(submission.Incomplete) as caught:
        submit(proposal, proposer)
    assert "The team" in caught.value.missing
    assert "Project management and reporting" in caught.value.missing
    assert any("PDF" in item for item in caught.value.missing)
    assert not proposal.versions.exists()


def test_revisions_until_the_limit_every_version_stays_readable(draft, proposer):
    draft.rfp.max_revisions = 1
    draft.rfp.save()
    first = submit(draft, proposer).version
    draft.refresh_from_db()
    submission.save_draft(
        proposal=draft,
        user=proposer,
        title="Revised",
        fields=draft.fields,
        document=pdf_upload(5),
        expected_edit=draft.edit_count,
        now=timezone.now(),
    )
    second = submit(draft, proposer).version
    assert second.number == 2 and second.document_pages == 5 and first.document_pages == 2
    assert first.document.name != second.document.name
    from django.core.files.storage import default_storage

    assert default_storage.exists(first.document.name)  # the old file is kept for version 1
    with pytest.raises(submission.NoRevisionsLeft):
        submit(draft, proposer)


def test_stale_form_is_refused_and_changes_nothing(draft, proposer):
    draft.refresh_from_db()
    old_edit = draft.edit_count
    submission.save_draft(
        proposal=draft,
        user=proposer,
        title="Changed in tab A",
        fields=draft.fields,
        document=None,
        expected_edit=old_edit,
        now=timezone.now(),
    )
    with pytest.raises(submission.StaleForm):
        submission.save_draft(
            proposal=draft,
            user=proposer,
            title="Changed in tab B",
            fields=draft.fields,
            document=None,
            expected_edit=old_edit,
            now=timezone.now(),
        )
    draft.refresh_from_db()
    assert draft.title == "Changed in tab A"


def test_same_form_saved_twice_is_not_stale(draft, proposer):
    draft.refresh_from_db()
    edit = draft.edit_count
    for _ in range(2):
        submission.save_draft(
            proposal=draft,
            user=proposer,
            title="Same",
            fields=draft.fields,
            document=None,
            expected_edit=edit,
            now=timezone.now(),
        )
    draft.refresh_from_db()
    assert draft.title == "Same" and draft.edit_count == edit + 1


def test_bad_pdf_on_save_keeps_the_previous_draft_intact(draft, proposer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from proposals.pdf_check import PDFRejected

    draft.refresh_from_db()
    before = (draft.title, draft.document.name, draft.document_sha256)
    with pytest.raises(PDFRejected):
        submission.save_draft(
            proposal=draft,
            user=proposer,
            title="New title",
            fields={},
            document=SimpleUploadedFile("x.pdf", b"<html>not a pdf</html>", "application/pdf"),
            expected_edit=draft.edit_count,
            now=timezone.now(),
        )
    draft.refresh_from_db()
    assert (draft.title, draft.document.name, draft.document_sha256) == before


def test_withdraw_by_owner_only_and_before_deadline(draft, proposer):
    submit(draft, proposer)
    coauthor = UserFactory()
    ProposalMember.objects.create(proposal=draft, user=coauthor, role="coauthor")
    draft.refresh_from_db()
    with pytest.raises(submission.ProposalError, match="owner"):
        submission.withdraw_proposal(proposal=draft, user=coauthor, now=timezone.now())
    with pytest.raises(submission.DeadlinePassed):
        submission.withdraw_proposal(proposal=draft, user=proposer, now=draft.rfp.deadline_instant)
    submission.withdraw_proposal(proposal=draft, user=proposer, now=timezone.now())
    draft.refresh_from_db()
    assert draft.state == Proposal.State.WITHDRAWN and draft.versions.count() == 1


def test_removed_coauthor_cannot_submit(draft, proposer):
    coauthor = UserFactory()
    invitation = team.invite(
        proposal=draft, owner=proposer, email=coauthor.email, now=timezone.now()
    )
    team.accept(invitation=invitation, user=coauthor, now=timezone.now())
    member = draft.members.get(user=coauthor)
    team.remove_member(proposal=draft, owner=proposer, member=member, now=timezone.now())
    with pytest.raises(PermissionDenied):
        submit(draft, coauthor)
    assert not draft.versions.exists()


def test_invitation_must_be_accepted_by_the_invited_address(draft, proposer):
    invitation = team.invite(
        proposal=draft, owner=proposer, email="right@example.com", now=timezone.now()
    )
    wrong = UserFactory(email="wrong@example.com")
    with pytest.raises(team.TeamError, match=r"right@example\.com"):
        team.accept(invitation=invitation, user=wrong, now=timezone.now())
    token = team.invitation_token(invitation)
    assert team.invitation_from_token(token).pk == invitation.pk
    with pytest.raises(team.TeamError):
        team.invitation_from_token(token + "x")


def test_unacknowledged_addendum_blocks_submit_until_acknowledged(draft, proposer, staff):
    rfp = draft.rfp
    addendum = addenda.publish_addendum(
        rfp=rfp,
        changes={"summary": rfp.summary + " Also docs."},
        change_note="Clarified scope.",
        actor=staff,
        now=timezone.now(),
    )
    with pytest.raises(submission.AddendaNotAcknowledged):
        submit(draft, proposer)
    addenda.acknowledge(addendum=addendum, user=proposer, now=timezone.now())
    assert submit(draft, proposer).created


def test_deadline_extension_addendum_moves_the_instant_and_is_refused_after_opening(
    draft, proposer, staff
):
    rfp = draft.rfp
    old = rfp.deadline_instant
    addendum = addenda.publish_addendum(
        rfp=rfp,
        changes={"deadline_date": rfp.deadline_date + timedelta(days=7)},
        change_note="One more week.",
        actor=staff,
        now=timezone.now(),
    )
    rfp.refresh_from_db()
    assert rfp.deadline_instant == old + timedelta(days=7)
    assert addendum.extends_deadline and addendum.deadline_before == old
    assert "deadline_date" in addendum.changes
    services.open_due_rfps(now=rfp.deadline_instant + timedelta(seconds=1))
    rfp.refresh_from_db()
    assert rfp.opened_at is not None
    with pytest.raises(addenda.AddendumRefused, match="opened"):
        addenda.publish_addendum(
            rfp=rfp,
            changes={"deadline_date": rfp.deadline_date + timedelta(days=7)},
            change_note="Too late.",
            actor=staff,
            now=rfp.deadline_instant + timedelta(days=1),
        )


def test_receipt_verification_reveals_only_rfp_and_time(draft, proposer):
    version = submit(draft, proposer).version
    import io

    ok = receipts.verify(version.receipt_code.lower())
    assert ok.found and ok.on_time and ok.rfp_title == draft.rfp.title
    assert not ok.file_checked
    with default_file(version) as handle:
        assert receipts.verify(version.receipt_code, handle).file_matches
    assert not receipts.verify(version.receipt_code, io.BytesIO(make_pdf(1))).file_matches
    assert not receipts.verify("R-AAAA-BBBB-CCCC").found


def default_file(version):
    from django.core.files.storage import default_storage

    return default_storage.open(version.document.name, "rb")


def test_opening_happens_once_at_the_cutoff_and_is_audited(draft, proposer):
    rfp = draft.rfp
    assert services.open_due_rfps(now=rfp.deadline_instant - timedelta(seconds=1)) == []
    opened = services.open_due_rfps(now=rfp.deadline_instant)
    assert [r.pk for r in opened] == [rfp.pk]
    assert services.open_due_rfps(now=rfp.deadline_instant + timedelta(hours=1)) == []
    assert AuditEvent.objects.filter(action="rfp.opened", object_id=str(rfp.pk)).count() == 1


def test_addendum_changes_scope_criteria_and_timeline_and_records_each(open_rfp, staff):
    from decimal import Decimal

    from proposals.models import Feature

    feature = Feature.objects.filter(milestone__rfp=open_rfp).first()
    criterion = open_rfp.criteria.get(key="cost")
    entry = open_rfp.timeline.first()
    addendum = addenda.publish_addendum(
        rfp=open_rfp,
        changes={},
        part_changes={
            f"feature:{feature.pk}": {"budget": feature.budget, "cap": Decimal("35000")},
            f"criterion:{criterion.pk}": {"questions": ["Is the budget reasonable?"]},
            f"timeline:{entry.pk}": {"label": entry.label + " (moved online)"},
        },
        change_note="Raised a cap; simplified cost questions.",
        actor=staff,
        now=timezone.now(),
    )
    feature.refresh_from_db()
    criterion.refresh_from_db()
    assert feature.cap == 35000 and criterion.questions == ["Is the budget reasonable?"]
    assert set(addendum.changes) == {
        f"feature:{feature.pk}:cap",
        f"criterion:{criterion.pk}:questions",
        f"timeline:{entry.pk}:label",
    }
    assert addendum.changes[f"feature:{feature.pk}:cap"]["after"] == "35000"


def test_addendum_with_a_cap_below_budget_is_refused_and_saves_nothing(open_rfp, staff):
    from decimal import Decimal

    from proposals.models import Addendum, Feature

    feature = Feature.objects.filter(milestone__rfp=open_rfp).first()
    with pytest.raises(addenda.AddendumRefused):
        addenda.publish_addendum(
            rfp=open_rfp,
            changes={"summary": "A changed summary."},
            part_changes={f"feature:{feature.pk}": {"cap": Decimal("1")}},
            change_note="Oops.",
            actor=staff,
            now=timezone.now(),
        )
    open_rfp.refresh_from_db()
    feature.refresh_from_db()
    assert open_rfp.summary != "A changed summary." and feature.cap != 1
    assert not Addendum.objects.exists()


def test_an_opened_rfp_refuses_a_submit_that_arrived_before_the_cutoff(draft, proposer):
    # A request that arrived just before the cut-off but waited for the opening to commit.
    arrived = draft.rfp.deadline_instant - timedelta(seconds=1)
    services.open_due_rfps(now=draft.rfp.deadline_instant + timedelta(hours=1))
    with pytest.raises(submission.DeadlinePassed):
        submit(draft, proposer, now=arrived)
    assert not draft.versions.exists()


@pytest.mark.postgresql(reason="row locks (FOR UPDATE OF / FOR SHARE) and lock_timeout")
@pytest.mark.django_db(transaction=True)
def test_submits_of_one_rfp_run_side_by_side_but_an_addendum_waits_for_them(
    open_rfp, proposer, staff
):
    """A transaction holding one proposal (as a submit does) blocks neither another team's
    submit nor its own reads, but an addendum, which locks the RFP for update, must wait."""
    from django.db import OperationalError, transaction

    mine = _fresh_draft(open_rfp, proposer)
    other_user = UserFactory(email="other-team@example.com")
    other = _fresh_draft(open_rfp, other_user)
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                submission._locked(mine, proposer)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            result = submit(other, other_user)  # would time out if the RFP row were locked
        assert result.created
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '500ms'")
            addenda.publish_addendum(
                rfp=open_rfp,
                changes={"summary": "Changed while a submit is in flight."},
                change_note="Test.",
                actor=staff,
                now=timezone.now(),
            )
    finally:
        release.set()
        holder.join()
