"""Every write to a proposal: start, save draft, upload the PDF, submit, withdraw.

Each function is one atomic state change that also writes its audit events and queues its
mails. Time comes in as `now` (the instant the request reached the server), so the deadline
rule is applied in one way everywhere: rfp.accepts_submissions_at(now).

Why one module of nearly 700 lines: a save, a submit and a withdraw take the same row lock in
the same order and share the edit counter that refuses a stale form; kept together, the
locking order can be read (and checked) in one place. The rules the submit enforces are defined
beside it for the pages and mails to word (Revisions, accepts_changes), so a page never offers
what the submit would refuse. RFP writes live in services.py, team changes in team.py.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from proposals import budget, pdf_check, rules, tasks, transparency
from proposals.models import (
    RFP,
    Feature,
    Proposal,
    ProposalElement,
    ProposalMember,
    SubmissionVersion,
    field_name,
)
from rfp_portal import audit, deadlines, outbox
from rfp_portal.audit import AuditAction
from rfp_portal.queueing import enqueue_on_commit

RECEIPT_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L: read aloud safely
TEXT_LIMIT = 20_000


class ProposalError(Exception):
    """A state change was refused; the message is for the person who asked."""


class DeadlinePassed(ProposalError):
    pass


class StaleForm(ProposalError):
    pass


class Incomplete(ProposalError):
    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__(_("Some required parts are missing."))


class MissingPart(str):
    """One missing part, in words; field_id is the draft form's input to fill it in."""

    field_id: str

    def __new__(cls, text: str, field_id: str = ""):
        part = super().__new__(cls, text)
        part.field_id = field_id
        return part


class NoRevisionsLeft(ProposalError):
    pass


class AddendaNotAcknowledged(ProposalError):
    def __init__(self, addenda):
        self.addenda = list(addenda)
        super().__init__(_("Please acknowledge the RFP's addenda before you submit."))


# --- Reading the form's values ----------------------------------------------------------


def features_of(rfp: RFP) -> list[Feature]:
    return list(
        Feature.objects.filter(milestone__rfp=rfp)
        .select_related("milestone")
        .order_by("milestone__position", "position", "id")
    )


def requested_amounts(
    rfp: RFP, fields: dict[str, Any], elements: list[ProposalElement] | None = None
) -> dict[int, Decimal | None]:
    """{feature id: amount} from the answers' per-feature amount element(s)."""
    amounts: dict[int, Decimal | None] = {}
    for element in rfp.elements.all() if elements is None else elements:
        if element.kind != ProposalElement.Kind.PER_FEATURE_AMOUNT:
            continue
        for feature_id, value in (fields.get(element.key) or {}).items():
            try:
                amounts[int(feature_id)] = budget.parse_amount(value)
            except ValueError:
                amounts[int(feature_id)] = None
    return amounts


def budget_check_for(rfp: RFP, fields: dict[str, Any]) -> budget.BudgetCheck:
    return budget.check_budget(
        features_of(rfp), requested_amounts(rfp, fields), total_cap=rfp.total_cap
    )


def chosen_milestone_ids(
    rfp: RFP, fields: dict[str, Any], elements: list[ProposalElement] | None = None
) -> set[int]:
    for element in rfp.elements.all() if elements is None else elements:
        if element.kind == ProposalElement.Kind.MILESTONE_CHOICE:
            return {int(m) for m in fields.get(element.key) or []}
    return {m.id for m in rfp.milestones.all()}


def missing_elements(proposal: Proposal) -> list[MissingPart]:
    """What a submit would lack, in words (rule 11: list what is missing), each naming the
    input of the draft form that fills it in (the pages link to it)."""
    rfp = proposal.rfp
    fields = proposal.fields or {}
    missing: list[MissingPart] = []
    if not proposal.title.strip():
        missing.append(MissingPart(_("a title"), "id_title"))
    elements = list(rfp.elements.all())
    chosen = chosen_milestone_ids(rfp, fields, elements)
    features = [f for f in features_of(rfp) if f.milestone_id in chosen]
    for element in elements:
        if not element.required:
            continue
        value = fields.get(element.key)
        kind = element.kind
        input_id = f"id_{field_name(element)}"
        if kind == ProposalElement.Kind.PDF:
            if not proposal.document:
                missing.append(MissingPart(element.label, "id_document"))
        elif kind == ProposalElement.Kind.AGREEMENT:
            if value is not True:
                missing.append(MissingPart(element.label, input_id))
        elif kind == ProposalElement.Kind.MILESTONE_CHOICE:
            if not value:
                missing.append(MissingPart(element.label, f"{input_id}_0"))
        elif kind in (
            ProposalElement.Kind.PER_FEATURE_TEXT,
            ProposalElement.Kind.PER_FEATURE_AMOUNT,
        ):
            value = value or {}
            lacking = [f for f in features if not str(value.get(str(f.id), "")).strip()]
            if not features:
                continue
            for feature in lacking:
                missing.append(
                    MissingPart(
                        f"{element.label}: {feature.name}", f"id_{field_name(element, feature)}"
                    )
                )
        elif not str(value or "").strip():
            missing.append(MissingPart(element.label, input_id))
    return missing


# --- Starting and editing ----------------------------------------------------------------


@transaction.atomic
def start_proposal(*, rfp: RFP, user, title: str, now: datetime, request=None) -> Proposal:
    if not rfp.accepts_submissions_at(now):
        raise DeadlinePassed(_("This RFP does not accept proposals now."))
    existing = Proposal.objects.filter(rfp=rfp, owner=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            proposal = Proposal.objects.create(
                rfp=rfp, owner=user, title=title.strip()[:200], created_at=now, updated_at=now
            )
    except IntegrityError:  # a double click raced us; the first request created it
        return Proposal.objects.get(rfp=rfp, owner=user)
    ProposalMember.objects.create(
        proposal=proposal, user=user, role=ProposalMember.Role.OWNER, added_at=now
    )
    audit.record(
        action=AuditAction.PROPOSAL_STARTED, actor=user, obj=proposal, request=request, at=now
    )
    return proposal


def _locked(proposal: Proposal, user) -> Proposal:
    """The proposal, its row locked for this transaction, with its RFP as it is now; raises
    PermissionDenied unless `user` is on its team at this moment (a co-author removed while
    the form was open can no longer save or submit).

    The RFP's row is held in share mode, not locked for update: saves and submits of different
    proposals then run side by side (a last-hour rush would otherwise queue on one row), while
    opening and addenda, which lock the RFP for update, still wait for them and they for those.
    The user's team role is read in the locking query itself.
    """
    rfp = _rfp_shared(proposal.rfp_id)
    locked = (
        Proposal.objects.select_for_update(of=("self",))
        .annotate(locking_user_role=rules.team_role_subquery(user))
        .get(pk=proposal.pk)
    )
    locked.rfp = rfp
    rules.remember_team_role(locked, user, locked.locking_user_role)
    if not rules.is_on_team(user, locked):
        raise PermissionDenied
    return locked


def _rfp_shared(rfp_id: int) -> RFP:
    if connection.vendor != "postgresql":  # SQLite: a write locks the whole database anyway
        return RFP.objects.get(pk=rfp_id)
    table = connection.ops.quote_name(RFP._meta.db_table)
    # Django's ORM has no FOR SHARE; the statement is constant apart from the bound id.
    return RFP.objects.raw(f"SELECT * FROM {table} WHERE id = %s FOR SHARE", [rfp_id])[0]  # noqa: S608


def _delete_unreferenced(name: str) -> None:
    if name and not SubmissionVersion.objects.filter(document=name).exists():
        default_storage.delete(name)


def _checked_document(
    proposal: Proposal, document: UploadedFile | None
) -> pdf_check.PDFInfo | None:
    """The uploaded PDF, checked before any transaction begins or lock is taken.

    The check is bounded (proposals.pdfguard: seconds, in a child process), but a hostile file
    may use all of it; outside the transaction it holds no proposal row, no share lock on the
    RFP and, on SQLite (BEGIN IMMEDIATE), not the database's write lock. Raises
    pdf_check.PDFRejected with the reason; nothing has been written.
    """
    if document is None:
        return None
    info = pdf_check.inspect_pdf(document.file, max_bytes=settings.MAX_PDF_BYTES)
    if info.active_content and proposal.rfp.refuse_active_content:
        raise pdf_check.PDFRejected(pdf_check.active_content_refused_message(info.active_content))
    return info


def save_draft(
    *,
    proposal: Proposal,
    user,
    title: str,
    fields: dict[str, Any],
    document: UploadedFile | None,
    expected_edit: int,
    now: datetime,
    request=None,
) -> Proposal:
    """Save the draft's answers (and a new PDF if one came). Nothing is saved on any error."""
    info = _checked_document(proposal, document)
    with transaction.atomic():
        proposal = _locked(proposal, user)
        return _save_locked(
            proposal,
            user=user,
            title=title,
            fields=fields,
            document=document,
            info=info,
            expected_edit=expected_edit,
            now=now,
            request=request,
        )


def _save_locked(
    proposal: Proposal,
    *,
    user,
    title: str,
    fields: dict[str, Any],
    document: UploadedFile | None,
    info: pdf_check.PDFInfo | None,
    expected_edit: int,
    now: datetime,
    request=None,
) -> Proposal:
    """save_draft() on a proposal already locked and checked for the team, with its new PDF
    (if one came) already checked by _checked_document()."""
    if proposal.edit_count != expected_edit:
        if document is None and proposal.title == title.strip()[:200] and proposal.fields == fields:
            return proposal  # the same form posted twice (a double click): already saved
        raise StaleForm(
            _(
                "This proposal was changed elsewhere (another tab or a co-author) since you "
                "opened this page. Your text is still in the form below: check it and save again."
            )
        )
    old_document = proposal.document.name if info else ""
    proposal.title = title.strip()[:200]
    proposal.fields = fields
    if info is not None:
        document.seek(0)
        proposal.document.save("upload.pdf", document, save=False)
        proposal.document_name = (document.name or "proposal.pdf")[-255:]
        proposal.document_size = info.size
        proposal.document_pages = info.pages
        proposal.document_sha256 = info.sha256
        proposal.document_active_content = list(info.active_content)
    proposal.edit_count += 1
    proposal.updated_at = now
    proposal.save()
    audit.record(
        action=AuditAction.PROPOSAL_DRAFT_SAVED,
        actor=user,
        obj=proposal,
        request=request,
        at=now,
        details={"document_sha256": info.sha256} if info else {},
    )
    if old_document:
        transaction.on_commit(lambda: _delete_unreferenced(old_document))
    return proposal


# --- Submitting ----------------------------------------------------------------------------


def canonical_fields(proposal: Proposal) -> dict[str, Any]:
    """The submitted answers as a stable, self-describing document (what the digest covers)."""
    return {
        "rfp": proposal.rfp.slug,
        "proposal": proposal.pk,
        "title": proposal.title,
        "fields": proposal.fields,
        "document_sha256": proposal.document_sha256,
    }


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def new_receipt_code() -> str:
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"R-{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@dataclass(frozen=True)
class Revisions:
    """How often a team may still submit (rule 3): the one definition that every page, mail and
    PDF words, as the RFP page does ("up to N revisions after your first submission"). The RFP's
    max_revisions counts resubmissions; the first submission is not a revision."""

    allowed: int  # rfp.max_revisions
    submitted: int  # versions frozen so far

    @property
    def used(self) -> int:
        return max(0, self.submitted - 1)

    @property
    def left(self) -> int:
        """Revisions still allowed after the first submission (all of them before it)."""
        return max(0, self.allowed - self.used)

    @property
    def may_submit(self) -> bool:
        """Would one more submit be within the limit (the first one always is)?"""
        return self.submitted == 0 or self.left > 0

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        """A sentence, e.g. "2 revisions left.", or before the first submission what it will
        allow, or at the limit why no more."""
        if self.submitted == 0:
            if self.allowed == 0:
                return _(
                    "Not submitted yet: this RFP allows no revisions after your first submission."
                )
            return ngettext(
                "Not submitted yet: after your first submission you may revise it once.",
                "Not submitted yet: after your first submission you may revise it up to "
                "%(n)s times.",
                self.allowed,
            ) % {"n": self.allowed}
        if self.left == 0:
            return self.limit_text
        return ngettext("%(n)s revision left.", "%(n)s revisions left.", self.left) % {
            "n": self.left
        }

    @property
    def limit_text(self) -> str:
        """Why no submit is possible any more, at the limit."""
        if self.allowed == 0:
            return _("No revisions left: this RFP allows one submission and no revisions.")
        return ngettext(
            "No revisions left: you have used the one revision this RFP allows.",
            "No revisions left: you have used all %(n)s revisions this RFP allows.",
            self.allowed,
        ) % {"n": self.allowed}

    @property
    def next_submit_text(self) -> str:
        """What the next submit is and leaves, for the page that offers it."""
        if not self.may_submit:
            return self.limit_text
        if self.submitted == 0:
            if self.allowed == 0:
                return _(
                    "This is your first submission, and this RFP allows no revisions after it: "
                    "it is the one evaluated."
                )
            return ngettext(
                "This is your first submission. After it you may revise it once before the "
                "deadline; the latest submission is the one evaluated.",
                "This is your first submission. After it you may revise it up to %(n)s times "
                "before the deadline; the latest submission is the one evaluated.",
                self.allowed,
            ) % {"n": self.allowed}
        after = self.left - 1
        if after == 0:
            return _(
                "This submission is your last revision: after it you cannot submit again. The "
                "latest submission is the one evaluated."
            )
        return ngettext(
            "This submission is a revision. After it you may revise %(n)s more time before the "
            "deadline; the latest submission is the one evaluated.",
            "This submission is a revision. After it you may revise %(n)s more times before the "
            "deadline; the latest submission is the one evaluated.",
            after,
        ) % {"n": after}


def revisions(proposal: Proposal, *, versions: int | None = None) -> Revisions:
    """The proposal's Revisions; pass `versions` when the page has counted them already."""
    used = proposal.versions.count() if versions is None else versions
    return Revisions(allowed=proposal.rfp.max_revisions, submitted=used)


def accepts_changes(rfp: RFP, now: datetime) -> bool:
    """May a team submit, revise or withdraw at `now`? Before deadline + grace and not yet
    opened (an opened RFP is closed even for a request that arrived before the cut-off). The one
    rule the submit and withdraw below apply and the pages (proposals.lifecycle) show."""
    return rfp.opened_at is None and rfp.accepts_submissions_at(now)


@dataclass(frozen=True)
class SubmitResult:
    version: SubmissionVersion
    created: bool


@transaction.atomic
def submit_proposal(
    *, proposal: Proposal, user, expected_edit: int, now: datetime, request=None
) -> SubmitResult:
    """Freeze the draft as a new immutable version and issue its receipt.

    A replayed or double-clicked form (same expected_edit) returns the version it made.
    """
    proposal = _locked(proposal, user)
    replay = proposal.versions.filter(from_edit=expected_edit).first()
    if replay is not None:
        return SubmitResult(replay, created=False)
    return _submit_locked(
        proposal, user=user, expected_edit=expected_edit, now=now, request=request
    )


def _submit_locked(
    proposal: Proposal, *, user, expected_edit: int, now: datetime, request=None
) -> SubmitResult:
    """submit_proposal() on a proposal already locked, checked for the team and not a replay.

    Every check comes before the first write, so a refusal leaves the transaction clean."""
    rfp = proposal.rfp
    # Opened (rule 2): closed, even for a request that arrived before the cut-off and waited
    # for the opening to commit.
    if not accepts_changes(rfp, now):
        raise DeadlinePassed(
            _(
                "The deadline has passed: %(deadline)s. Submissions are no longer accepted. "
                "Your draft is kept."
            )
            % {"deadline": deadlines.format_deadline(rfp.deadline_instant, rfp.deadline_zone)}
        )
    if proposal.edit_count != expected_edit:
        raise StaleForm(
            _(
                "This proposal changed since you opened this page (another tab or a co-author). "
                "Check the latest draft below, then submit again."
            )
        )
    from proposals.addenda import unacknowledged_addenda

    pending = unacknowledged_addenda(rfp, user)
    if pending:
        raise AddendaNotAcknowledged(pending)
    missing = missing_elements(proposal)
    if missing:
        raise Incomplete(missing)
    used = proposal.versions.count()
    allowance = revisions(proposal, versions=used)
    if not allowance.may_submit:
        raise NoRevisionsLeft(allowance.limit_text)
    data = canonical_fields(proposal)
    number = used + 1
    version = SubmissionVersion.objects.create(
        proposal=proposal,
        number=number,
        fields=data,
        fields_sha256=hashlib.sha256(canonical_json(data)).hexdigest(),
        document=proposal.document.name,
        document_name=proposal.document_name,
        document_size=proposal.document_size,
        document_pages=proposal.document_pages,
        document_sha256=proposal.document_sha256,
        document_active_content=proposal.document_active_content,
        received_at=now,
        submitted_by=user,
        receipt_code=new_receipt_code(),
        from_edit=expected_edit,
    )
    proposal.state = Proposal.State.SUBMITTED
    proposal.edit_count += 1
    proposal.withdrawn_at = None
    proposal.updated_at = now
    proposal.save(update_fields=["state", "edit_count", "withdrawn_at", "updated_at"])
    audit.record(
        action=AuditAction.PROPOSAL_SUBMITTED,
        actor=user,
        obj=proposal,
        request=request,
        at=now,
        details={
            "version": number,
            "receipt": version.receipt_code,
            "fields_sha256": version.fields_sha256,
            "document_sha256": version.document_sha256,
        },
    )
    _mail_team(
        proposal,
        key=f"receipt:{version.pk}",
        template="proposals/email/receipt",
        context={"version": version, "revisions": revisions(proposal, versions=number)},
        fresh=True,  # the version was created just above
    )
    # The signed receipt (a statement verifiable without the portal) and its leaf in the RFP's
    # transparency log, in this transaction and as its last write: the log's row stays locked
    # from here to the commit, so appends of one RFP queue only for that moment.
    transparency.append_receipt(version)
    # A worker renders and stores the receipt PDF (receipts.store_receipt_pdf); while the broker
    # is down, the first download does.
    enqueue_on_commit(tasks.render_receipt, version.pk)
    return SubmitResult(version, created=True)


@dataclass(frozen=True)
class SaveAndSubmitResult:
    """What "Save and submit" did: the draft is always saved; then either a version was
    made (or found, for a replayed form) or the submit was refused for `refused`'s reason."""

    proposal: Proposal
    submitted: SubmitResult | None
    refused: ProposalError | None = None


def save_and_submit(
    *,
    proposal: Proposal,
    user,
    title: str,
    fields: dict[str, Any],
    document: UploadedFile | None,
    expected_edit: int,
    now: datetime,
    request=None,
) -> SaveAndSubmitResult:
    """Save the draft form (with its PDF) and submit it, in one transaction and one request.

    The draft is saved even when the submit is refused (late, incomplete, addenda to read,
    no revisions left): nothing typed is lost, and the refusal says why. A replayed form
    (double click, browser retry) returns the version the first post made. Errors of the save
    itself (StaleForm, pdf_check.PDFRejected) are raised and save nothing, as save_draft's are.
    """
    info = _checked_document(proposal, document)
    with transaction.atomic():
        proposal = _locked(proposal, user)
        if proposal.edit_count != expected_edit:
            replay = _replayed_submit(proposal, title, fields, document, expected_edit)
            if replay is not None:
                return SaveAndSubmitResult(proposal, SubmitResult(replay, created=False))
        proposal = _save_locked(
            proposal,
            user=user,
            title=title,
            fields=fields,
            document=document,
            info=info,
            expected_edit=expected_edit,
            now=now,
            request=request,
        )
        try:
            result = _submit_locked(
                proposal, user=user, expected_edit=proposal.edit_count, now=now, request=request
            )
        except ProposalError as exc:  # raised before the submit wrote anything: the save stays
            return SaveAndSubmitResult(proposal, None, exc)
        return SaveAndSubmitResult(proposal, result)


def _replayed_submit(
    proposal: Proposal,
    title: str,
    fields: dict[str, Any],
    document: UploadedFile | None,
    expected_edit: int,
) -> SubmissionVersion | None:
    """The version an identical earlier "Save and submit" of the same form made, if any: its
    save took edit `expected_edit` to `expected_edit + 1`, and the submit froze that edit."""
    version = proposal.versions.filter(from_edit=expected_edit + 1).first()
    if version is None:
        return None
    frozen = version.fields
    if frozen.get("title") != title.strip()[:200] or frozen.get("fields") != fields:
        return None
    if document is not None and pdf_check.sha256_of(document.file) != version.document_sha256:
        return None
    return version


@transaction.atomic
def withdraw_proposal(*, proposal: Proposal, user, now: datetime, request=None) -> Proposal:
    proposal = _locked(proposal, user)
    if not rules.is_proposal_owner(user, proposal):
        raise ProposalError(_("Only the proposal's owner can withdraw it."))
    if not accepts_changes(proposal.rfp, now):
        raise DeadlinePassed(_("The deadline has passed; a proposal can no longer be withdrawn."))
    if proposal.state != Proposal.State.SUBMITTED:
        raise ProposalError(_("Only a submitted proposal can be withdrawn."))
    proposal.state = Proposal.State.WITHDRAWN
    proposal.withdrawn_at = now
    proposal.edit_count += 1
    proposal.updated_at = now
    proposal.save(update_fields=["state", "withdrawn_at", "edit_count", "updated_at"])
    audit.record(
        action=AuditAction.PROPOSAL_WITHDRAWN, actor=user, obj=proposal, request=request, at=now
    )
    _mail_team(
        proposal,
        key=f"withdrawn:{proposal.pk}:{now.isoformat()}",
        template="proposals/email/withdrawn",
        context={"now": now},
    )
    # A withdrawal is a new leaf of the RFP's log, never a deletion (last write, as at submit).
    transparency.append_withdrawal(proposal, now=now)
    return proposal


def _mail_team(
    proposal: Proposal, *, key: str, template: str, context: dict, fresh: bool = False
) -> None:
    members = proposal.members.select_related("user")
    for member in members:
        ctx = {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "user": member.user,
            "site_url": settings.SITE_URL,
            **context,
        }
        outbox.queue_templated_mail(
            to=member.user.email,
            template=template,
            context=ctx,
            idempotency_key=f"{key}:{member.user_id}",
            fresh=fresh,
            rfp=proposal.rfp,
            about_bidder=True,
        )
