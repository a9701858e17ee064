"""Staff pages of an RFP's evaluation: reviewer pool, assignments, dashboard, decisions, exports.

Over 400 lines: one thin view per staff page of the evaluation (about twenty), each a few lines
over a domain function; the funding plan's pages are in plan.py."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from evaluation import (
    dashboard,
    decisions,
    export_requests,
    exports,
    ranking_snapshot,
    ranking_updates,
    selectors,
    services,
)
from evaluation.forms import (
    AutoAssignForm,
    DecisionForm,
    InviteReviewerForm,
    PublishDecisionsForm,
)
from evaluation.models import Export
from proposals import rules as proposal_rules
from proposals import selectors as proposal_selectors
from proposals import submission
from rfp_portal import audit, permissions
from rfp_portal.audit import AuditAction
from rfp_portal.files import serve_attachment


@permissions.staff_required
def staff_evaluation(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    invite_form = InviteReviewerForm(prefix="invite")
    auto_form = AutoAssignForm(request.GET or None, prefix="auto")
    plan = None
    if auto_form.is_bound and auto_form.is_valid():
        plan = services.plan_for(rfp, per_proposal=auto_form.cleaned_data["per_proposal"])
    pool = list(services.pool_of(rfp))
    sealed = proposal_rules.is_sealed(rfp)
    # Before opening, assignments can be made blind: staff see counts, never titles.
    proposals = [] if sealed else list(services.assignable_proposals(rfp))
    by_proposal = selectors.assignments_by_proposal(rfp)
    names = {u.pk: u.email for u in pool}
    choices = services.hand_assignment_choices(rfp, proposals)
    titles = {p.pk: p.title for p in proposals}
    return render(
        request,
        "evaluation/staff_evaluation.html",
        {
            "rfp": rfp,
            "sealed": sealed,
            "submitted_count": services.assignable_proposals(rfp).count() if sealed else None,
            "pool": pool,
            "invitations": selectors.pending_invitations(rfp),
            "invite_form": invite_form,
            "auto_form": auto_form,
            "plan": plan,
            "plan_rows": [(titles.get(p, p), names.get(r, r)) for p, r in plan.new] if plan else [],
            "plan_short": [(titles.get(p, p), n) for p, n in plan.short.items()] if plan else [],
            "plan_avoided": [(titles.get(p, p), names.get(r, r), why) for p, r, why in plan.avoided]
            if plan
            else [],
            "rows": [(p, by_proposal.get(p.pk, []), choices.get(p.pk, [])) for p in proposals],
            "published": decisions.is_published(rfp),
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
    """Assign by hand; a likely conflict answers with a page that asks to confirm it."""
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    proposal = get_object_or_404(
        services.assignable_proposals(rfp), pk=request.POST.get("proposal")
    )
    reviewer = get_object_or_404(services.pool_of(rfp), pk=request.POST.get("reviewer"))
    try:
        services.assign_by_hand(
            proposal=proposal,
            reviewer=reviewer,
            staff_user=request.user,
            now=request.received_at,
            confirm_conflict=request.POST.get("confirm") == "1",
            request=request,
        )
    except services.LikelyConflict as exc:
        return render(
            request,
            "evaluation/assign_confirm.html",
            {"rfp": rfp, "proposal": proposal, "reviewer": reviewer, "warning": str(exc)},
        )
    except services.EvaluationError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(email)s is assigned to %(title)s.")
            % {"email": reviewer.email, "title": proposal.title},
        )
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
    try:
        made = services.apply_plan(
            rfp=rfp, plan=plan, staff_user=request.user, now=request.received_at, request=request
        )
    except services.EvaluationError as exc:
        messages.error(request, str(exc))
        return redirect("staff_evaluation", slug=rfp.slug)
    messages.success(
        request,
        ngettext("%(n)s assignment made.", "%(n)s assignments made.", made) % {"n": made},
    )
    return redirect("staff_evaluation", slug=rfp.slug)


@permissions.staff_required
@require_POST
def staff_reopen_review(request: HttpRequest, slug: str, review_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    review = selectors.review_in(rfp, review_id)
    services.reopen_review(
        review=review, staff_user=request.user, now=request.received_at, request=request
    )
    messages.success(request, _("The review is open for editing again."))
    return redirect("staff_evaluation", slug=rfp.slug)


# --- Dashboard and decisions -------------------------------------------------------------


@permissions.staff_required
def staff_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if proposal_rules.is_sealed(rfp):
        messages.info(
            request, _("Proposals are sealed until the deadline; the dashboard opens then.")
        )
        return redirect("staff_evaluation", slug=rfp.slug)
    sort = request.GET.get("sort", "rank")
    flag = request.GET.get("flag") or None
    # The read model (evaluation.ranking_snapshot): the ranking as last built, fifty rows a
    # page; never rescored here. Decisions and exports read fresh data, not this.
    shown = ranking_snapshot.show(
        rfp, sort=sort, flag=flag, line=request.GET.get("line"), page=request.GET.get("page")
    )
    if shown is None:  # too many proposals to rank while the request waits: queued
        ranking_updates.request_rebuild([rfp.pk])
        messages.info(
            request,
            _(
                "The dashboard is being computed for the first time; with this many proposals "
                "it takes a minute or so. Open it again shortly."
            ),
        )
        return redirect("staff_evaluation", slug=rfp.slug)
    if shown.updating:
        ranking_updates.request_rebuild([rfp.pk])  # in case the queued rebuild was lost
    board, page, rows = shown.board, shown.page, shown.rows
    if sort == "calibrated" and not board.calibrated:
        sort = "rank"  # nothing calibrated to rank by: the raw ranking, and the page says why
    query = request.GET.copy()
    query.pop("page", None)
    columns = dashboard.chosen_columns(request.GET.getlist("columns"))
    heat = dashboard.heat_map(board, rows)
    distributions = dashboard.distribution_charts(board)
    ranks_chart, chart_first, chart_last = dashboard.intervals_chart(board)
    # The funding line's form keeps the other choices of the page (not the page number).
    kept = [(key, v) for key, values in query.lists() if key != "line" for v in values]
    kept_but_sort = [(key, v) for key, values in query.lists() if key != "sort" for v in values]
    audit.record(action=AuditAction.DASHBOARD_VIEWED, request=request, obj=rfp)
    return render(
        request,
        "evaluation/dashboard.html",
        {
            "rfp": rfp,
            "board": board,
            "rows": rows,
            "page": page,
            "shown": shown,
            "query": query.urlencode(),
            "columns": columns,
            "column_count": dashboard.ALWAYS_SHOWN
            + board.calibrated
            + ("median" in columns)
            + ("reviews" in columns)
            + (len(board.scored) if "criteria" in columns else 0),
            "column_choices": [
                ("criteria", _("Criterion means")),
                ("median", _("Median")),
                ("reviews", _("Reviews done")),
            ],
            # The sum written out under the definition: the first row of the page with an
            # Overall (the best-ranked one when sorted by rank).
            "example": next((row for row in rows if row.result.overall is not None), None),
            "heat": heat,
            "distributions": distributions,
            "ranks_chart": ranks_chart,
            "chart_first": chart_first,
            "chart_last": chart_last,
            "chart_slice": f"{max(chart_first - 1, 0)}:{chart_last}",
            "chart_count": chart_last - chart_first + 1 if ranks_chart else 0,
            "one_review_note": board.one_review_note,
            "kept": kept,
            "kept_but_sort": kept_but_sort,
            "sort": sort,
            "flag": flag or "",
            "release": decisions.release_of(rfp),
            "sorts": [
                ("rank", _("rank")),
                ("title", _("title")),
                ("spread", _("disagreement")),
                ("reviews", _("reviews done")),
                *([("calibrated", _("calibrated Overall"))] if board.calibrated else []),
            ],
            "flags": [
                ("", _("all")),
                ("disagreement", _("wide disagreement")),
                ("gate", _("gate flagged")),
                ("incomplete", _("reviews missing")),
                ("over_cap", _("over a cap")),
                ("band", _("in the band at the funding line")),
            ],
        },
    )


@permissions.staff_required
def staff_decision(request: HttpRequest, slug: str, proposal_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    proposal = selectors.decidable_proposal(rfp, proposal_id)
    existing = selectors.decision_of(proposal)
    form = DecisionForm(
        request.POST or None,
        features=selectors.award_features(rfp),
        currency=rfp.currency,
        initial=DecisionForm.initial_from(existing),
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
            "rfp_awards": decisions.rfp_awards(rfp),
        },
        status=400 if form.errors else 200,
    )


def _sealed_refusal(request: HttpRequest, rfp) -> HttpResponse | None:
    if proposal_rules.is_sealed(rfp):
        messages.error(request, _("Proposals are still sealed."))
        return redirect("staff_evaluation", slug=rfp.slug)
    return None


@permissions.staff_required
def staff_publish_decisions(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: what publishing does (teams and people mailed, decisions missing), irreversible,
    and which scores the debriefs show (raw, or calibrated when calibration is usable);
    POST with confirm=1 publishes. Without the confirmation, or with calibrated scores that
    cannot be offered, nothing is published and the page comes back with what was chosen."""
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if (refused := _sealed_refusal(request, rfp)) is not None:
        return refused
    error = ""
    preview = decisions.teams_mail_preview(rfp)
    offer = decisions.debrief_scores_offer(rfp)
    form = PublishDecisionsForm(
        request.POST if request.method == "POST" else None,
        calibrated=offer.calibrated,
        reason=offer.reason,
    )
    if request.method == "POST":
        if request.POST.get("confirm") != "1":
            error = _("Tick “I understand this cannot be undone” to publish the decisions.")
        if form.is_valid() and not error:
            try:
                result = decisions.publish_decisions(
                    rfp=rfp,
                    staff_user=request.user,
                    now=request.received_at,
                    request=request,
                    debrief_scores=form.cleaned_data["debrief_scores"],
                )
            except decisions.DecisionError as exc:
                messages.error(request, str(exc))
            else:
                if result.published:
                    messages.success(
                        request,
                        _("Decisions published; %(n)s e-mails queued.") % {"n": result.mails},
                    )
                else:
                    messages.info(
                        request,
                        _("The decisions were already published; nothing was sent again."),
                    )
            return redirect("staff_dashboard", slug=rfp.slug)
    return render(
        request,
        "evaluation/publish_decisions_confirm.html",
        {
            "rfp": rfp,
            "preview": preview,
            "form": form,
            "error": error,
            "confirmed": request.POST.get("confirm") == "1",
        },
        status=400 if error or form.errors else 200,
    )


@permissions.staff_required
def staff_preliminary(request: HttpRequest, slug: str) -> HttpResponse:
    """GET, or a POST without confirm=1 (the dashboard's form): the message and how many
    teams and people it reaches, with the button that sends it; POST with confirm=1 sends."""
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if (refused := _sealed_refusal(request, rfp)) is not None:
        return refused
    message = request.POST.get("message", "")
    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            count = decisions.send_preliminary(
                rfp=rfp,
                staff_user=request.user,
                message=message,
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
    return render(
        request,
        "evaluation/preliminary_confirm.html",
        {"rfp": rfp, "preview": decisions.teams_mail_preview(rfp), "message": message},
    )


# --- Exports -----------------------------------------------------------------------------------


@permissions.staff_required
def staff_exports(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if request.method == "POST":
        try:
            export = export_requests.request_export(
                rfp=rfp,
                kind=request.POST.get("kind", ""),
                user=request.user,
                now=request.received_at,
                request=request,
            )
        except export_requests.ExportRefused as exc:
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
            "sealed": proposal_rules.is_sealed(rfp),
            "kinds": Export.Kind.choices,
            "exports": selectors.recent_exports(rfp),
        },
    )


@permissions.staff_required
def staff_export_status(request: HttpRequest, slug: str, export_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    export = selectors.export_in(rfp, export_id)
    return render(request, "evaluation/_export_row.html", {"export": export, "rfp": rfp})


@permissions.staff_required
def staff_export_download(request: HttpRequest, slug: str, export_id: int) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    export = selectors.downloadable_export(request, rfp, export_id)
    suffix = exports.EXTENSIONS[export.kind]
    content_type = {"pdf": "application/pdf", "csv": "text/csv", "zip": "application/zip"}[suffix]
    return serve_attachment(export.file.name, f"{rfp.slug}-{export.kind}.{suffix}", content_type)
