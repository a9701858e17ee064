"""Staff's funding plan for an RFP (issue 17, points 3 and 4): the plan page (a GET form: the
plan is a computation, nothing is written), adopting it as draft decisions after a
confirmation, and a recorded lottery among the band at the funding line. Only once the RFP is
opened, as the decision pages; the rules are in evaluation.plan_adoption, funding_plan and
lottery."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from evaluation import decisions, lottery, plan_adoption
from evaluation.plan_forms import PlanForm
from proposals import rules as proposal_rules
from proposals import selectors as proposal_selectors
from rfp_portal import permissions

# What the plan form reads: the other fields of a POST (csrf, confirm, overwrite) are not part
# of the plan.
PLAN_FIELDS = ("objective", "contractors", "whole", "line", "lock", "exclude")


def _refusal(request: HttpRequest, rfp) -> HttpResponse | None:
    if proposal_rules.is_sealed(rfp):
        messages.error(
            request, _("Proposals are sealed until the deadline; the funding plan opens then.")
        )
        return redirect("staff_evaluation", slug=rfp.slug)
    return None


def _plan_query(data: QueryDict) -> QueryDict:
    """Only the plan's own fields of a GET or POST, to repeat in links and hidden inputs."""
    query = QueryDict(mutable=True)
    for name in PLAN_FIELDS:
        values = [v for v in data.getlist(name) if v != ""]
        if values:
            query.setlist(name, values)
    return query


def _form(rfp, data: QueryDict) -> PlanForm:
    query = _plan_query(data)
    if query:  # a link that names only some choices: the others as the form starts
        query.setdefault("objective", "score")
        query.setdefault("contractors", "1")
    return PlanForm(
        query or None, proposals=plan_adoption.submitted_proposals(rfp), auto_id="plan-%s"
    )


def _plan_step(request: HttpRequest, slug: str):
    """What the adopt and lottery pages start from: the RFP (or the refusal of `_refusal`), the
    plan's choices (`_choices`), where to go back to and the form; a redirect back to the plan
    with a message when the choices are not valid."""
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if (refused := _refusal(request, rfp)) is not None:
        return refused
    query, back, form = _choices(request, rfp)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("The plan's choices are not valid: choose them again."))
        return redirect(back)
    return rfp, query, back, form


def _choices(request: HttpRequest, rfp) -> tuple[QueryDict, str, PlanForm]:
    """The plan's choices as this request carries them (a POST's, else the query string's),
    the plan page's address with them (where to go back to), and the form that reads them."""
    data = request.POST if request.method == "POST" else request.GET
    query = _plan_query(data)
    back = reverse("staff_plan", args=[rfp.slug]) + (f"?{query.urlencode()}" if query else "")
    return query, back, _form(rfp, data)


def _hidden(query: QueryDict) -> list[tuple[str, str]]:
    return [(name, value) for name, values in query.lists() for value in values]


@permissions.staff_required
def staff_plan(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if (refused := _refusal(request, rfp)) is not None:
        return refused
    form = _form(rfp, request.GET)
    view = None
    if not form.is_bound or form.is_valid():
        view = plan_adoption.build(rfp, form.options(), line=form.funding_line())
    query = _plan_query(request.GET)
    return render(
        request,
        "evaluation/plan.html",
        {
            "rfp": rfp,
            "form": form,
            "view": view,
            "query": query.urlencode(),
            "objective": plan_adoption.objective_words(form.options().objective) if view else "",
        },
        status=200 if view else 400,
    )


@permissions.staff_required
@require_http_methods(["GET", "POST"])
def staff_plan_adopt(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the draft decisions the plan would write, and which decisions it would overwrite;
    POST with confirm=1 writes them (evaluation.plan_adoption.adopt). Publishes nothing."""
    opened = _plan_step(request, slug)
    if isinstance(opened, HttpResponse):
        return opened
    rfp, query, back, form = opened
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "1":
            error = _("Tick “Fill in these draft decisions” to adopt the plan.")
        else:
            try:
                adopted = plan_adoption.adopt(
                    rfp=rfp,
                    options=form.options(),
                    overwrite=request.POST.get("overwrite") == "1",
                    actor=request.user,
                    now=request.received_at,
                    request=request,
                )
            except decisions.DecisionError as exc:
                messages.error(request, str(exc))
                return redirect(back)
            text = _(
                "Plan adopted as draft decisions: %(selected)s selected, %(not_selected)s not "
                "selected. Check each rationale, then publish the decisions."
            ) % {"selected": adopted.selected, "not_selected": adopted.not_selected}
            if adopted.kept:
                text += " " + ngettext(
                    "%(n)s decision recorded before was kept.",
                    "%(n)s decisions recorded before were kept.",
                    adopted.kept,
                ) % {"n": adopted.kept}
            messages.success(request, text)
            return redirect("staff_dashboard", slug=rfp.slug)
    view = plan_adoption.build(rfp, form.options())
    drafts = plan_adoption.drafts(view)
    return render(
        request,
        "evaluation/plan_adopt_confirm.html",
        {
            "rfp": rfp,
            "view": view,
            "drafts": drafts,
            "existing": sum(1 for d in drafts if d.existing is not None),
            "hidden": _hidden(query),
            "back": back,
            "error": error,
            "objective": plan_adoption.objective_words(view.options.objective),
        },
        status=400 if error else 200,
    )


@permissions.staff_required
@require_http_methods(["GET", "POST"])
def staff_plan_lottery(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the band a lottery would draw among, and how it works; POST with confirm=1 commits
    the seed (its SHA-256 recorded and shown) and goes to the lottery's page to draw."""
    opened = _plan_step(request, slug)
    if isinstance(opened, HttpResponse):
        return opened
    rfp, query, back, form = opened
    if request.method == "POST" and request.POST.get("confirm") == "1":
        try:
            made = plan_adoption.commit_band_lottery(
                rfp=rfp,
                options=form.options(),
                line=form.funding_line(),
                actor=request.user,
                now=request.received_at,
                request=request,
            )
        except lottery.LotteryError as exc:
            messages.error(request, str(exc))
            return redirect(back)
        messages.success(request, _("The seed is committed. Draw when you are ready."))
        return redirect("staff_lottery", slug=rfp.slug, lottery_id=made.pk)
    view = plan_adoption.build(rfp, form.options(), line=form.funding_line())
    return render(
        request,
        "evaluation/lottery.html",
        {
            "rfp": rfp,
            "view": view,
            "record": None,
            "hidden": _hidden(query),
            "back": back,
        },
    )


@permissions.staff_required
@require_http_methods(["GET", "POST"])
def staff_lottery(request: HttpRequest, slug: str, lottery_id: int) -> HttpResponse:
    """A committed lottery: its commitment, and the button that draws it (POST); once drawn,
    the seed, the order and the chosen, with a link to lock the chosen and solve again."""
    rfp = proposal_selectors.rfp_for_page(request.user, slug)
    if (refused := _refusal(request, rfp)) is not None:
        return refused
    found = get_object_or_404(plan_adoption.lotteries_of(rfp), pk=lottery_id)
    if request.method == "POST":
        try:
            lottery.draw(
                lottery=found, actor=request.user, now=request.received_at, request=request
            )
        except lottery.LotteryError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The lottery is drawn; the seed is revealed."))
        return redirect("staff_lottery", slug=rfp.slug, lottery_id=found.pk)
    record = lottery.public_record(found)
    labels = {p.pk: p.title for p in plan_adoption.submitted_proposals(rfp)}
    lock = QueryDict(mutable=True)
    lock.setlist("lock", [str(pid) for pid in record.chosen])
    return render(
        request,
        "evaluation/lottery.html",
        {
            "rfp": rfp,
            "view": None,
            "record": record,
            "labels": labels,
            "lock_query": lock.urlencode(),
            "back": reverse("staff_plan", args=[rfp.slug]),
        },
    )
