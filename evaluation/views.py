"""Reviewer and staff pages of the evaluation. Thin: parse, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from evaluation import (
    dashboard,
    decisions,
    exports,
    selectors,
    services,
    threads,
)
from evaluation.forms import (
    AutoAssignForm,
    ConflictForm,
    DecisionForm,
    InviteReviewerForm,
    MessageForm,
    ReviewForm,
)
from evaluation.models import Assignment, Export, Review
from proposals import selectors as proposal_selectors
from proposals import submission
from proposals.models import Feature, Proposal
from rfp_portal import audit, deadlines, permissions
from rfp_portal import views as portal_views


@permissions.reviewer_required
def reviewer_home(request: HttpRequest) -> HttpResponse:
    assignments = selectors.queue_of(request.user)
    rows = []
    for assignment in assignments:
        review = selectors.review_of(assignment)
        if assignment.conflict == Assignment.Conflict.UNDECLARED:
            state = _("conflict to declare")
        elif review is None:
            state = _("to review")
        else:
            state = review.get_state_display()
        due = services.review_due_instant(assignment.proposal.rfp)
        rows.append(
            {
                "assignment": assignment,
                "review": review,
                "state": state,
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
    team = proposal.members.select_related("user")
    return render(
        request,
        "evaluation/conflict.html",
        {
            "assignment": assignment,
            "proposal": proposal,
            "rfp": proposal.rfp,
            "team": team,
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
    due = services.review_due_instant(rfp)
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
            "others": selectors.other_reviews(request.user, proposal),
            "clarifications": threads.clarifications(proposal),
            "discussion": threads.discussion(proposal)
            if permissions.can_discuss(request.user, proposal)
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


# --- Staff ------------------------------------------------------------------------------------


@permissions.staff_required
def staff_evaluation(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    invite_form = InviteReviewerForm(prefix="invite")
    auto_form = AutoAssignForm(request.GET or None, prefix="auto")
    plan = None
    if auto_form.is_bound and auto_form.is_valid():
        plan = services.plan_for(rfp, per_proposal=auto_form.cleaned_data["per_proposal"])
    pool = list(services.pool_of(rfp))
    sealed = permissions.is_sealed(rfp)
    # Before opening, assignments can be made blind: staff see counts, never titles.
    proposals = [] if sealed else list(services.assignable_proposals(rfp))
    assignments = (
        Assignment.objects.filter(proposal__rfp=rfp)
        .select_related("reviewer", "proposal")
        .prefetch_related("review")
        .order_by("proposal_id", "reviewer__email")
    )
    by_proposal: dict[int, list[Assignment]] = {}
    for assignment in assignments:
        by_proposal.setdefault(assignment.proposal_id, []).append(assignment)
    names = {u.pk: u.email for u in pool}
    titles = {p.pk: p.title for p in proposals}
    return render(
        request,
        "evaluation/staff_evaluation.html",
        {
            "rfp": rfp,
            "sealed": sealed,
            "submitted_count": services.assignable_proposals(rfp).count() if sealed else None,
            "pool": pool,
            "invitations": rfp.reviewer_invitations.filter(accepted_at__isnull=True),
            "invite_form": invite_form,
            "auto_form": auto_form,
            "plan": plan,
            "plan_rows": [(titles.get(p, p), names.get(r, r)) for p, r in plan.new] if plan else [],
            "plan_short": [(titles.get(p, p), n) for p, n in plan.short.items()] if plan else [],
            "plan_avoided": [(titles.get(p, p), names.get(r, r), why) for p, r, why in plan.avoided]
            if plan
            else [],
            "rows": [(p, by_proposal.get(p.pk, [])) for p in proposals],
        },
    )


@permissions.staff_required
@require_POST
def staff_invite_reviewer(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    form = InviteReviewerForm(request.POST, prefix="invite")
    if form.is_valid():
        try:
            services.invite_reviewer(
                rfp=rfp,
                email=form.cleaned_data["email"],
                staff_user=request.user,
                now=request.received_at,
                request=request,
            )
        except services.EvaluationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The invitation has been sent."))
    else:
        messages.error(request, _("Enter a valid e-mail address."))
    return redirect("staff_evaluation", slug=rfp.slug)


@permissions.staff_required
@require_POST
def staff_remove_reviewer(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    reviewer = get_object_or_404(services.pool_of(rfp), pk=user_id)
    services.remove_from_pool(
        rfp=rfp,
        reviewer=reviewer,
        staff_user=request.user,
        now=request.received_at,
        request=request,
    )
    messages.success(
        request,
        _("%(email)s has left the pool; their submitted reviews stay, marked.")
        % {"email": reviewer.email},
    )
    return redirect("staff_evaluation", slug=rfp.slug)


@permissions.staff_required
@require_POST
def staff_assign(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    proposal = get_object_or_404(
        services.assignable_proposals(rfp), pk=request.POST.get("proposal")
    )
    reviewer = get_object_or_404(services.pool_of(rfp), pk=request.POST.get("reviewer"))
    try:
        services.assign(
            proposal=proposal,
            reviewer=reviewer,
            staff_user=request.user,
            now=request.received_at,
            request=request,
        )
    except services.EvaluationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Assigned."))
    return redirect("staff_evaluation", slug=rfp.slug)


@permissions.staff_required
@require_POST
def staff_auto_assign(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    form = AutoAssignForm(request.POST, prefix="auto")
    if not form.is_valid():
        messages.error(request, _("Choose between 1 and 10 reviewers per proposal."))
        return redirect("staff_evaluation", slug=rfp.slug)
    plan = services.plan_for(rfp, per_proposal=form.cleaned_data["per_proposal"])
    made = services.apply_plan(
        rfp=rfp, plan=plan, staff_user=request.user, now=request.received_at, request=request
    )
    messages.success(
        request,
        ngettext("%(n)s assignment made.", "%(n)s assignments made.", made) % {"n": made},
    )
    return redirect("staff_evaluation", slug=rfp.slug)


@permissions.staff_required
@require_POST
def staff_reopen_review(request: HttpRequest, slug: str, review_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    review = get_object_or_404(
        Review.objects.select_related("assignment__proposal", "assignment__reviewer"),
        pk=review_id,
        assignment__proposal__rfp=rfp,
    )
    services.reopen_review(
        review=review, staff_user=request.user, now=request.received_at, request=request
    )
    messages.success(request, _("The review is open for editing again."))
    return redirect("staff_evaluation", slug=rfp.slug)


# --- Dashboard and decisions -------------------------------------------------------------


@permissions.staff_required
def staff_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if permissions.is_sealed(rfp):
        messages.info(
            request, _("Proposals are sealed until the deadline; the dashboard opens then.")
        )
        return redirect("staff_evaluation", slug=rfp.slug)
    sort = request.GET.get("sort", "rank")
    flag = request.GET.get("flag") or None
    board = dashboard.build(rfp, sort=sort, flag=flag)
    # Ranking needs every proposal; the page shows them a hundred at a time (an RFP with
    # thousands of proposals made a page of megabytes: bench/dashboard).
    page = Paginator(board.rows, dashboard.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    heat = dashboard.heat_map(board, rows)
    distributions = dashboard.distribution_charts(board)
    audit.record(action="dashboard.viewed", request=request, obj=rfp)
    return render(
        request,
        "evaluation/dashboard.html",
        {
            "rfp": rfp,
            "board": board,
            "rows": rows,
            "page": page,
            "query": query.urlencode(),
            "heat": heat,
            "distributions": distributions,
            "sort": sort,
            "flag": flag or "",
            "release": decisions.release_of(rfp),
            "sorts": [
                ("rank", _("rank")),
                ("title", _("title")),
                ("spread", _("disagreement")),
                ("reviews", _("reviews done")),
            ],
            "flags": [
                ("", _("all")),
                ("disagreement", _("wide disagreement")),
                ("gate", _("gate flagged")),
                ("incomplete", _("reviews missing")),
                ("over_cap", _("over a cap")),
            ],
        },
    )


@permissions.staff_required
def staff_decision(request: HttpRequest, slug: str, proposal_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    proposal = get_object_or_404(
        Proposal.objects.select_related("rfp"),
        pk=proposal_id,
        rfp=rfp,
        state=Proposal.State.SUBMITTED,
    )
    if permissions.is_sealed(rfp):
        raise Http404
    features = list(
        Feature.objects.filter(milestone__rfp=rfp).order_by("milestone__position", "position")
    )
    existing = getattr(proposal, "decision", None) if hasattr(proposal, "decision") else None
    form = DecisionForm(
        request.POST or None, features=features, initial=DecisionForm.initial_from(existing)
    )
    warnings = []
    if request.method == "POST" and form.is_valid():
        try:
            decisions.record_decision(
                proposal=proposal,
                staff_user=request.user,
                outcome=form.cleaned_data["outcome"],
                rationale=form.cleaned_data["rationale"],
                awards=form.awards(),
                confirm_over_cap=form.cleaned_data["confirm_over_cap"],
                now=request.received_at,
                request=request,
            )
        except decisions.OverCap as exc:
            warnings = exc.warnings
            form.add_error("confirm_over_cap", _("An award is above a cap: confirm to keep it."))
        except decisions.DecisionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Decision recorded for %(title)s.") % {"title": proposal.title}
            )
            return redirect("staff_dashboard", slug=rfp.slug)
    version = selectors.latest_version(proposal)
    fields = version.fields.get("fields", {}) if version else {}
    return render(
        request,
        "evaluation/decision_form.html",
        {
            "rfp": rfp,
            "proposal": proposal,
            "form": form,
            "warnings": warnings,
            "budget": submission.budget_check_for(rfp, fields),
        },
        status=400 if form.errors else 200,
    )


@permissions.staff_required
@require_POST
def staff_publish_decisions(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    try:
        result = decisions.publish_decisions(
            rfp=rfp, staff_user=request.user, now=request.received_at, request=request
        )
    except decisions.DecisionError as exc:
        messages.error(request, str(exc))
    else:
        if result.published:
            messages.success(
                request, _("Decisions published; %(n)s e-mails queued.") % {"n": result.mails}
            )
        else:
            messages.info(
                request, _("The decisions were already published; nothing was sent again.")
            )
    return redirect("staff_dashboard", slug=rfp.slug)


@permissions.staff_required
@require_POST
def staff_preliminary(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    try:
        count = decisions.send_preliminary(
            rfp=rfp,
            staff_user=request.user,
            message=request.POST.get("message", ""),
            now=request.received_at,
            request=request,
        )
    except decisions.DecisionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Preliminary status sent; %(n)s e-mails queued.") % {"n": count}
        )
    return redirect("staff_dashboard", slug=rfp.slug)


def proposal_decision(request: HttpRequest, pk: int) -> HttpResponse:
    """The team's own decision and debrief, once decisions are published."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    proposal = proposal_selectors.team_proposal(request, pk)
    return render(
        request,
        "evaluation/proposal_decision.html",
        {"proposal": proposal, "rfp": proposal.rfp, "debrief": decisions.debrief(proposal)},
    )


# --- Clarifications and discussion ---------------------------------------------------------


def proposal_clarifications(request: HttpRequest, pk: int) -> HttpResponse:
    """The private clarification thread of one proposal: its team and its evaluators."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    proposal = selectors.thread_proposal(request, pk)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            threads.post_clarification(
                proposal=proposal,
                user=request.user,
                text=form.cleaned_data["text"],
                now=request.received_at,
                request=request,
            )
        except threads.ThreadError as exc:
            form.add_error("text", str(exc))
        else:
            messages.success(request, _("Your message has been sent."))
            return redirect("proposal_clarifications", pk=proposal.pk)
    return render(
        request,
        "evaluation/clarifications.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "thread": threads.clarifications(proposal),
            "form": form,
            "on_team": permissions.is_on_team(request.user, proposal),
        },
        status=400 if form.errors else 200,
    )


@permissions.reviewer_or_staff_required
@require_POST
def discussion_post(request: HttpRequest, proposal_id: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("rfp"), pk=proposal_id)
    if not permissions.can_discuss(request.user, proposal):
        audit.record(
            action="discussion.access_refused",
            request=request,
            details={"proposal_id": proposal_id},
        )
        raise Http404
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
    if permissions.is_staff_member(request.user) and not permissions.can_review(
        request.user, proposal
    ):
        return redirect("proposal_clarifications", pk=proposal.pk)
    return redirect(reverse("review", args=[proposal.pk]) + "#discussion")


# --- Exports -----------------------------------------------------------------------------------


@permissions.staff_required
def staff_exports(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if request.method == "POST":
        try:
            export = exports.request_export(
                rfp=rfp,
                kind=request.POST.get("kind", ""),
                user=request.user,
                now=request.received_at,
                request=request,
            )
        except exports.ExportRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, _("%(kind)s started.") % {"kind": export.get_kind_display().capitalize()}
            )
        return redirect("staff_exports", slug=rfp.slug)
    return render(
        request,
        "evaluation/exports.html",
        {
            "rfp": rfp,
            "sealed": permissions.is_sealed(rfp),
            "kinds": Export.Kind.choices,
            "exports": rfp.exports.select_related("requested_by")[:30],
        },
    )


@permissions.staff_required
def staff_export_status(request: HttpRequest, slug: str, export_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    export = get_object_or_404(rfp.exports, pk=export_id)
    return render(request, "evaluation/_export_row.html", {"export": export, "rfp": rfp})


@permissions.staff_required
def staff_export_download(request: HttpRequest, slug: str, export_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    export = get_object_or_404(rfp.exports, pk=export_id, state=Export.State.DONE)
    if permissions.is_sealed(rfp) or not export.file:
        raise Http404
    audit.record(
        action="export.downloaded",
        request=request,
        obj=rfp,
        details={"export": export.pk, "kind": export.kind},
    )
    from rfp_portal.files import serve_attachment

    suffix = exports.EXTENSIONS[export.kind]
    content_type = {"pdf": "application/pdf", "csv": "text/csv", "zip": "application/zip"}[suffix]
    return serve_attachment(export.file.name, f"{rfp.slug}-{export.kind}.{suffix}", content_type)


@permissions.reviewer_required
def review_scorecard(request: HttpRequest, proposal_id: int) -> HttpResponse:
    """The reviewer's own review as a PDF scorecard."""
    from rfp_portal.pdf import render_pdf

    assignment = selectors.assignment_for(request, proposal_id)
    review = selectors.review_of(assignment)
    if review is None or not permissions.can_review(request.user, assignment.proposal):
        raise Http404
    proposal = assignment.proposal
    data = render_pdf(
        "evaluation/scorecard_pdf.html",
        {
            "proposal": proposal,
            "rfp": proposal.rfp,
            "review": review,
            "assessments": review.assessments.select_related("criterion").order_by(
                "criterion__position"
            ),
            "reviewer": request.user,
            "generated": deadlines.format_in_zone(request.received_at, "UTC").text,
        },
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="scorecard-{proposal.pk}.pdf"'
    return response
