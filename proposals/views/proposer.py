"""The proposer's area: start, draft, upload, submit, revise, withdraw, receipts, documents."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from proposals import addenda, lifecycle, pdf_check, receipts, rules, selectors, submission
from proposals.forms import ProposalDraftForm, StartProposalForm
from proposals.models import Feature, Milestone, ReceiptSignature
from rfp_portal import deadlines, ratelimits, redirects
from rfp_portal.files import serve_attachment
from rfp_portal.uploads import upload_too_large


def _milestones(rfp) -> list[Milestone]:
    return list(
        rfp.milestones.prefetch_related(
            Prefetch("features", queryset=Feature.objects.order_by("position", "id"))
        )
    )


@login_required
def my_proposals(request: HttpRequest) -> HttpResponse:
    """Every proposal of the user's teams at its stage; published decisions lead the page."""
    rows = lifecycle.lifecycles_of(selectors.proposals_of(request.user), request.received_at)
    decided = [life for life in rows if life.decision is not None]
    return render(
        request,
        "proposals/my_proposals.html",
        {"rows": rows, "decided": decided, "now": request.received_at},
    )


@login_required
@require_POST
def start(request: HttpRequest, slug: str) -> HttpResponse:
    if not rules.can_start_proposal(request.user):
        raise PermissionDenied
    rfp = selectors.rfp_for_page(request.user, slug)
    form = StartProposalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give your proposal a title to start it."))
        return redirect(rfp)
    try:
        proposal = submission.start_proposal(
            rfp=rfp,
            user=request.user,
            title=form.cleaned_data["title"],
            now=request.received_at,
            request=request,
        )
    except submission.ProposalError as exc:
        messages.error(request, str(exc))
        return redirect(rfp)
    return redirect(proposal)


@login_required
@require_POST
def register_interest(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    if addenda.register_interest(
        rfp=rfp, user=request.user, now=request.received_at, request=request
    ):
        messages.success(
            request,
            _("You will get this RFP's answers to questions, addenda and deadline reminders."),
        )
    return redirect(rfp)


def _edit_context(request, proposal, form, *, budget_fields=None):
    """The proposal page at the proposal's stage: the draft form while the team may change
    it (or to give back a form posted late with errors, rule 11), read-only after that."""
    rfp = proposal.rfp
    life = lifecycle.lifecycle_of(proposal, request.received_at)
    show_form = life.editable or form.is_bound
    context = {
        "proposal": proposal,
        "rfp": rfp,
        "form": form,
        "life": life,
        "show_form": show_form,
        "missing": submission.missing_elements(proposal) if life.accepting else [],
        "is_owner": rules.is_proposal_owner(request.user, proposal),
        "pending_addenda": (
            list(addenda.unacknowledged_addenda(rfp, request.user)) if life.accepting else []
        ),
        "max_pdf": pdf_check.human_size(pdf_limit()),
        "now": request.received_at,
    }
    if show_form:
        context["budget"] = submission.budget_check_for(rfp, budget_fields or proposal.fields or {})
    else:
        fields = life.latest.fields.get("fields", {}) if life.latest else proposal.fields or {}
        context["answers"] = selectors.readable_answers(rfp, fields)
    return context


def pdf_limit() -> int:
    from django.conf import settings

    return settings.MAX_PDF_BYTES


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.team_proposal(request, pk)
    milestones = _milestones(proposal.rfp)
    if request.method != "POST":
        form = ProposalDraftForm(
            rfp=proposal.rfp,
            milestones=milestones,
            initial=ProposalDraftForm.initial_from(proposal, proposal.rfp.elements.all()),
        )
        return render(request, "proposals/edit.html", _edit_context(request, proposal, form))

    form = ProposalDraftForm(request.POST, request.FILES, rfp=proposal.rfp, milestones=milestones)
    if upload_too_large(request):
        form.add_error(
            None if "document" not in form.fields else "document",
            _("The file is larger than %(limit)s, the largest PDF accepted. Nothing was saved.")
            % {"limit": pdf_check.human_size(pdf_limit())},
        )
    with contextlib.ExitStack() as stack:
        if form.is_valid() and form.cleaned_data.get("document"):
            _hold_pdf_check(request, form, stack)
        if form.is_valid():
            then = request.POST.get("then")
            save = submission.save_and_submit if then == "submit_now" else submission.save_draft
            try:
                outcome = save(
                    proposal=proposal,
                    user=request.user,
                    title=form.cleaned_data["title"],
                    fields=form.answers(),
                    document=form.cleaned_data.get("document") or None,
                    expected_edit=form.cleaned_data["edit"],
                    now=request.received_at,
                    request=request,
                )
            except pdf_check.PDFRejected as exc:
                ratelimits.count_refused_pdf(
                    request, too_complex=isinstance(exc, pdf_check.PDFTooComplex)
                )
                form.add_error("document", _("%(reason)s Nothing was saved.") % {"reason": exc})
            except submission.ProposalError as exc:
                form.add_error(None, str(exc))
            else:
                if then == "submit_now":
                    return _after_save_and_submit(request, outcome)
                messages.success(request, _("Your draft has been saved."))
                if then == "submit":
                    return redirect("proposal_submit", pk=outcome.pk)
                return redirect(outcome)
    # Errors: the form keeps everything the user typed (a file must be chosen again).
    fields = form.answers() if hasattr(form, "cleaned_data") else None
    context = _edit_context(request, proposal, form, budget_fields=fields)
    return render(request, "proposals/edit.html", context, status=400)


def _hold_pdf_check(request: HttpRequest, form, stack: contextlib.ExitStack) -> None:
    """Before a PDF is checked: the account is not paused for refused PDFs, and it has no
    other check in flight (rfp_portal.ratelimits); otherwise the form says so and nothing is
    checked or saved. The claim on the check lasts as long as `stack`."""
    if not ratelimits.pdf_check_allowed(request):
        form.add_error(
            "document",
            _(
                "A PDF you sent in the last few minutes could not be accepted, so the portal "
                "waits a minute before checking another one. Nothing was saved: wait a minute, "
                "then save again (export the PDF again from your editor first)."
            ),
        )
    elif not stack.enter_context(ratelimits.one_pdf_check_at_a_time(request)):
        form.add_error(
            "document",
            _(
                "Another PDF you sent is being checked right now, and the portal checks one "
                "at a time for each account. Nothing was saved: save again in a moment."
            ),
        )


def _after_save_and_submit(request: HttpRequest, outcome) -> HttpResponse:
    """Submitted: the receipt. Refused: the review page, which lists what to do, with why."""
    proposal = outcome.proposal
    if outcome.submitted is not None:
        if outcome.submitted.created:
            messages.success(request, _("Your proposal has been received."))
        version = outcome.submitted.version
        return redirect("proposal_version", pk=proposal.pk, number=version.number)
    messages.error(
        request,
        _("Your draft has been saved, but it was not submitted: %(reason)s")
        % {"reason": outcome.refused},
    )
    return redirect("proposal_submit", pk=proposal.pk)


@login_required
@require_POST
def autosave(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the draft's answers while the proposer types (htmx; files are saved by the form)."""
    proposal = selectors.team_proposal(request, pk)
    form = ProposalDraftForm(request.POST, rfp=proposal.rfp, milestones=_milestones(proposal.rfp))
    saved, message = False, ""
    if not form.is_valid():
        message = _("Not saved automatically: correct the highlighted answers, then save.")
    else:
        try:
            proposal = submission.save_draft(
                proposal=proposal,
                user=request.user,
                title=form.cleaned_data["title"],
                fields=form.answers(),
                document=None,
                expected_edit=form.cleaned_data["edit"],
                now=request.received_at,
                request=request,
            )
        except submission.StaleForm:
            message = _(
                "Not saved automatically: this proposal was changed elsewhere. Copy your latest "
                "text, then reload the page."
            )
        else:
            saved = True
            message = _("Draft saved automatically at %(time)s UTC.") % {
                "time": request.received_at.strftime("%H:%M:%S")
            }
    return render(
        request,
        "proposals/_autosave.html",
        {"saved": saved, "message": message, "edit": proposal.edit_count},
    )


@login_required
@require_POST
def budget_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The budget check for the amounts being typed (htmx), without saving anything."""
    proposal = selectors.team_proposal(request, pk)
    form = ProposalDraftForm(request.POST, rfp=proposal.rfp, milestones=_milestones(proposal.rfp))
    form.is_valid()
    check = submission.budget_check_for(proposal.rfp, form.answers())
    return render(request, "proposals/_budget_check.html", {"budget": check, "rfp": proposal.rfp})


@login_required
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.team_proposal(request, pk)
    rfp = proposal.rfp
    error = None
    missing = None  # checked by the submit itself; computed here only for the page
    if request.method == "POST":
        try:
            expected = int(request.POST.get("edit", "-1"))
        except ValueError:
            expected = -1
        try:
            result = submission.submit_proposal(
                proposal=proposal,
                user=request.user,
                expected_edit=expected,
                now=request.received_at,
                request=request,
            )
        except submission.Incomplete as exc:
            missing = exc.missing
            error = _("Your proposal is not complete yet. Add what is missing, then submit.")
        except submission.AddendaNotAcknowledged:
            error = _("The RFP has changed. Read and acknowledge each addendum below first.")
        except submission.ProposalError as exc:
            error = str(exc)
        else:
            if result.created:
                messages.success(request, _("Your proposal has been received."))
            return redirect("proposal_version", pk=proposal.pk, number=result.version.number)
        proposal.refresh_from_db()
    if missing is None:
        missing = submission.missing_elements(proposal)
    context = {
        "proposal": proposal,
        "rfp": rfp,
        "missing": missing,
        "error": error,
        "budget": submission.budget_check_for(rfp, proposal.fields or {}),
        "life": lifecycle.lifecycle_of(proposal, request.received_at),
        "pending_addenda": list(addenda.unacknowledged_addenda(rfp, request.user)),
        "now": request.received_at,
    }
    return render(request, "proposals/submit.html", context, status=400 if error else 200)


@login_required
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.team_proposal(request, pk)
    error = None
    if request.method == "POST":
        try:
            submission.withdraw_proposal(
                proposal=proposal, user=request.user, now=request.received_at, request=request
            )
        except submission.ProposalError as exc:
            error = str(exc)
        else:
            messages.success(
                request,
                _("Your proposal has been withdrawn. You can submit it again before the deadline."),
            )
            return redirect("my_proposals")
    return render(
        request,
        "proposals/withdraw.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "error": error,
            "life": lifecycle.lifecycle_of(proposal, request.received_at),
            "is_owner": rules.is_proposal_owner(request.user, proposal),
            "now": request.received_at,
        },
        status=400 if error else 200,
    )


@login_required
def version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = selectors.readable_version(request, pk, number)
    proposal = version.proposal
    on_team = rules.is_on_team(request.user, proposal)
    return render(
        request,
        "proposals/version.html",
        {
            "version": version,
            "proposal": proposal,
            "rfp": proposal.rfp,
            "received_aoe": deadlines.format_in_zone(version.received_at, "AoE").text,
            "received_utc": deadlines.format_in_zone(version.received_at, "UTC").text,
            "on_team": on_team,
            # The team's next step; evaluators reading a version see only what was submitted.
            "life": lifecycle.lifecycle_of(proposal, request.received_at) if on_team else None,
            "answers": selectors.readable_answers(proposal.rfp, version.fields.get("fields", {})),
            # The signed receipt is the team's, like the receipt PDF.
            "signed": on_team and ReceiptSignature.objects.filter(version=version).exists(),
        },
    )


def _safe_filename(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in text)
    return (keep.strip("-.") or "proposal")[:80] + ("" if keep.endswith(".pdf") else ".pdf")


@login_required
def draft_document(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.team_proposal(request, pk)
    return serve_attachment(
        proposal.document.name, _safe_filename(proposal.document_name), "application/pdf"
    )


@login_required
def version_document(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = selectors.readable_version(request, pk, number)
    return serve_attachment(
        version.document.name, _safe_filename(version.document_name), "application/pdf"
    )


@login_required
def receipt_pdf(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    version = selectors.team_version(request, pk, number)  # the receipt is the team's
    name = receipts.store_receipt_pdf(version.pk)  # stored by the worker; rendered now if not
    return serve_attachment(name, f"receipt-{version.receipt_code}.pdf", "application/pdf")


@login_required
@require_POST
def acknowledge_addendum(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    addendum = get_object_or_404(rfp.addenda, number=number)
    addenda.acknowledge(
        addendum=addendum, user=request.user, now=request.received_at, request=request
    )
    messages.success(request, _("Addendum %(n)s acknowledged.") % {"n": addendum.number})
    return redirects.redirect_to_next(request, request.POST.get("next"), rfp.get_absolute_url())
