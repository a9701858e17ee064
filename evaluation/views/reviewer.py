"""Reviewers' pages: home queue, conflict, review and autosave, scorecard, discussion, joining."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from evaluation import rules, selectors, services, threads
from evaluation.forms import ConflictForm, MessageForm, ReviewForm
from evaluation.models import Assignment, Review
from proposals import selectors as proposal_selectors
from proposals import submission
from rfp_portal import deadlines, permissions
from rfp_portal import views as portal_views
from rfp_portal.pdf_rendering import render_pdf


@permissions.reviewer_required
def reviewer_home(request: HttpRequest) -> HttpResponse:
    assignments = selectors.queue_of(request.user)
    rows = []
    for assignment in assignments:
        review = selectors.review_of(assignment)
        closed = rules.review_closed_since(assignment.proposal.rfp, review, request.received_at)
        if closed is not None:
            state = (
                _("closed: submitted")
                if review is not None and review.is_submitted
                else _("closed: not submitted")
            )
        elif assignment.conflict == Assignment.Conflict.UNDECLARED:
            state = _("conflict to declare")
        elif review is None:
            state = _("to review")
        elif review.reopened_at is not None:
            state = _("reopened by staff")
        else:
            state = review.get_state_display()
        due = deadlines.review_due_instant(assignment.proposal.rfp.review_due)
        rows.append(
            {
                "assignment": assignment,
                "review": review,
                "state": state,
                "closed": closed,
                "due": due,
                "due_text": deadlines.format_deadline(due, deadlines.AOE_ZONE_NAME) if due else "",
            }
        )
    done = sum(1 for r in rows if r["review"] and r["review"].state == Review.State.SUBMITTED)
    return render(request, "evaluation/home.html", {"rows": rows, "done": done, "total": len(rows)})


@permissions.reviewer_required
def conflict(request: HttpRequest, proposal_id: int) -> HttpResponse:
    assignment = selectors.assignment_for(request, proposal_id)
    proposal = assignment.proposal
    if assignment.conflict != Assignment.Conflict.UNDECLARED:
        return redirect("review", proposal_id=proposal.pk)
    form = ConflictForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        is_conflict = form.cleaned_data["decision"] == "conflict"
        try:
            services.declare_conflict(
                assignment=assignment,
                user=request.user,
                conflict=is_conflict,
                reason=form.cleaned_data["reason"],
                now=request.received_at,
                request=request,
            )
        except services.EvaluationError as exc:
            form.add_error(None, str(exc))
        else:
            if is_conflict:
                messages.success(
                    request, _("Thank you. The proposal has been removed from your queue.")
                )
                return redirect("reviewer_home")
            return redirect("review", proposal_id=proposal.pk)
    return render(
        request,
        "evaluation/conflict.html",
        {
            "assignment": assignment,
            "proposal": proposal,
            "rfp": proposal.rfp,
            "team": selectors.team_of(proposal),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


def _save_review(request: HttpRequest, assignment: Assignment, form: ReviewForm, *, submit: bool):
    return services.save_review(
        assignment=assignment,
        user=request.user,
        assessments=form.assessments(),
        overall_comment=form.cleaned_data["overall_comment"],
        submit=submit,
        now=request.received_at,
        request=request,
    )


@permissions.reviewer_required
def review(request: HttpRequest, proposal_id: int) -> HttpResponse:
    assignment = selectors.assignment_for(request, proposal_id)
    proposal = assignment.proposal
    if assignment.conflict == Assignment.Conflict.UNDECLARED:
        return redirect("review_conflict", proposal_id=proposal.pk)
    rfp = proposal.rfp
    criteria = list(rfp.criteria.all())
    existing = selectors.review_of(assignment)
    form = ReviewForm(
        request.POST or None, criteria=criteria, initial=ReviewForm.initial_from(existing)
    )
    if request.method == "POST" and form.is_valid():
        submit_now = request.POST.get("action") == "submit"
        try:
            _save_review(request, assignment, form, submit=submit_now)
        except services.EvaluationError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Your review has been submitted.") if submit_now else _("Draft review saved."),
            )
            return redirect("review", proposal_id=proposal.pk)
    version = selectors.latest_version(proposal)
    fields = version.fields.get("fields", {}) if version else {}
    due = deadlines.review_due_instant(rfp.review_due)
    # The rule the save refuses by (services.save_review): after it, the review is read-only.
    closed = rules.review_closed_since(rfp, existing, request.received_at)
    return render(
        request,
        "evaluation/review.html",
        {
            "proposal": proposal,
            "rfp": rfp,
            "version": version,
            "answers": proposal_selectors.readable_answers(rfp, fields),
            "budget": submission.budget_check_for(rfp, fields),
            "form": form,
            "review": existing,
            "closed": closed,
            "assessments": list(selectors.assessments_of(existing)) if closed and existing else [],
            "others": selectors.other_reviews(request.user, proposal),
            "clarifications": threads.clarifications(proposal),
            "discussion": threads.discussion(proposal)
            if rules.can_discuss(request.user, proposal)
            else None,
            "message_form": MessageForm(),
            "due_text": deadlines.format_deadline(due, deadlines.AOE_ZONE_NAME) if due else "",
        },
        status=400 if form.errors else 200,
    )


@permissions.reviewer_required
@require_POST
def review_autosave(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """Save a draft review while the reviewer types (htmx). A submitted review is not touched:
    changing it needs an explicit re-submit."""
    assignment = selectors.assignment_for(request, proposal_id)
    existing = selectors.review_of(assignment)
    form = ReviewForm(request.POST, criteria=list(assignment.proposal.rfp.criteria.all()))
    saved, message = False, ""
    if existing is not None and existing.state == Review.State.SUBMITTED:
        message = _("Submitted reviews are changed only by submitting again.")
    elif not form.is_valid():
        message = _("Not saved automatically: correct the highlighted answers.")
    else:
        try:
            _save_review(request, assignment, form, submit=False)
        except services.EvaluationError as exc:
            message = str(exc)
        else:
            saved = True
            message = _("Draft review saved automatically at %(time)s UTC.") % {
                "time": request.received_at.strftime("%H:%M:%S")
            }
    return render(request, "evaluation/_review_autosave.html", {"saved": saved, "message": message})


@permissions.reviewer_required
def review_scorecard(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The reviewer's own review as a PDF scorecard."""
    assignment = selectors.assignment_for(request, proposal_id)
    review = selectors.review_of(assignment)
    if review is None or not rules.can_review(request.user, assignment.proposal):
        raise Http404
    proposal = assignment.proposal
    data = render_pdf(
        "evaluation/scorecard_pdf.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "review": review,
            "assessments": selectors.assessments_of(review),
            "reviewer": request.user,
            "generated": deadlines.format_in_zone(request.received_at, "UTC").text,
        },
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="scorecard-{proposal.pk}.pdf"'
    return response


@permissions.reviewer_or_staff_required
@require_POST
def discussion_post(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = selectors.discussion_proposal(request, proposal_id)
    form = MessageForm(request.POST)
    if form.is_valid():
        threads.post_discussion(
            proposal=proposal,
            user=request.user,
            text=form.cleaned_data["text"],
            now=request.received_at,
            request=request,
        )
        messages.success(request, _("Posted to the discussion."))
    else:
        messages.error(request, _("Write a message first."))
    if permissions.is_staff_member(request.user) and not rules.can_review(request.user, proposal):
        return redirect("proposal_clarifications", pk=proposal.pk)
    return redirect(reverse("review", args=[proposal.pk]) + "#discussion")


def reviewer_invitation(request: HttpRequest, token: str) -> HttpResponse:
    return portal_views.invitation_link_page(
        request,
        token,
        load=services.invitation_from_token,
        accept=services.accept_reviewer_invitation,
        failure=services.EvaluationError,
        template="evaluation/invitation.html",
        sign_in_message=lambda invitation: (
            _("Sign in (or create an account with %(email)s) to join the reviewers of “%(title)s”.")
            % {"email": invitation.email, "title": invitation.rfp.title}
        ),
        accepted=lambda member: (_("You are now a reviewer for this RFP."), "reviewer_home"),
    )
