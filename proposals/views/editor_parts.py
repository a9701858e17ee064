"""The RFP editor's steps for an RFP's parts (staff, MFA): timeline, milestones and features,
what a proposal contains, criteria. Each replaces its parts as a whole (proposals.editor)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from proposals import editor, selectors
from proposals.editor_part_forms import CriterionFormSet, ElementFormSet
from proposals.editor_scope_forms import OP, ScopeForm, TimelineForm
from proposals.views.editor import editor_context, refused, saved
from rfp_portal import permissions


def _parts_step(request: HttpRequest, slug: str, *, step: str, form_class, replace):
    """The timeline and the scope: drawn from the stored parts; a button named "op" (move,
    add, remove) draws the posted rows again, unsaved, with a notice; Save stores them as a
    whole when every row is right (400 with the error summary, nothing saved, otherwise)."""
    rfp = selectors.rfp_for_page(request.user, slug)
    refusal = refused(request, rfp, step)
    if refusal is not None:
        return refusal
    notice, status = "", 200
    if request.method != "POST":
        form = form_class.for_rfp(rfp)
    elif OP in request.POST:
        form, notice = form_class(request.POST, rfp=rfp).rearranged(request.POST[OP])
    else:
        form = form_class(request.POST, rfp=rfp)
        if form.is_valid():
            try:
                replace(rfp, form.items(), actor=request.user, request=request)
            except ValidationError as exc:
                form.problems.extend(exc.messages)
            else:
                return saved(request, rfp, step)
        status = 400
    context = {**editor_context(rfp, step), "form": form, "notice": notice}
    return render(request, f"staff/editor/{step}.html", context, status=status)


@permissions.staff_required
def timeline(request: HttpRequest, slug: str) -> HttpResponse:
    """The timeline: dates (or months) and labels, stored in the order shown."""
    return _parts_step(
        request, slug, step="timeline", form_class=TimelineForm, replace=editor.replace_timeline
    )


@permissions.staff_required
def scope(request: HttpRequest, slug: str) -> HttpResponse:
    """Milestones and features on one page, with budgets, caps, tasks and their totals."""
    return _parts_step(
        request, slug, step="scope", form_class=ScopeForm, replace=editor.replace_scope
    )


# --- What a proposal contains, and the criteria: rows with a key ----------------------------

# Move up, Move down, Remove and Update the scale draw the posted rows again, unsaved.
ROWS_NOT_SAVED = {
    "move": gettext_lazy("Not saved yet: press Save to keep this order."),
    "remove": gettext_lazy("Not saved yet: press Save to keep this change."),
    "rescale": gettext_lazy(
        "Not saved yet: the meanings of the new scale are shown; press Save to keep them."
    ),
}


def _redrawn(post, rows: list[tuple[int, dict]]) -> tuple[list[dict], str] | None:
    """The posted rows in their new order (or without the removed one) and the notice that
    nothing was saved; None for a Save. Rows are named by their index on the posted page."""
    indexes = [index for index, _values in rows]
    values = [row for _index, row in rows]

    def position(number: str) -> int | None:
        return indexes.index(int(number)) if number.isdigit() and int(number) in indexes else None

    if "move" in post:
        direction, _sep, number = post["move"].partition("-")
        at = position(number)
        to = None if at is None else at - 1 if direction == "up" else at + 1
        if at is not None and direction in ("up", "down") and 0 <= to < len(values):
            values[at], values[to] = values[to], values[at]
        return values, ROWS_NOT_SAVED["move"]
    if "remove" in post:
        at = position(post["remove"])
        if at is not None:
            del values[at]
        return values, ROWS_NOT_SAVED["remove"]
    if "rescale" in post:
        return values, ROWS_NOT_SAVED["rescale"]
    return None


def _keyed_rows_step(request: HttpRequest, slug: str, *, step: str, formset_class, replace):
    """A step whose rows have a key (elements, criteria): drawn from the stored rows, redrawn
    unsaved after Move up / Move down / Remove, saved as a whole when every row is right (400
    with the error summary, nothing saved, otherwise)."""
    rfp = selectors.rfp_for_page(request.user, slug)
    refusal = refused(request, rfp, step)
    if refusal is not None:
        return refusal
    notice, problems, status = "", [], 200
    if request.method != "POST":
        formset = formset_class(initial=formset_class.initial_rows(rfp))
    else:
        posted = formset_class(request.POST)
        redrawn = _redrawn(request.POST, posted.posted_rows())
        if redrawn is not None:
            rows, notice = redrawn
            formset = formset_class(initial=rows)
        else:
            formset = posted
            if formset.is_valid():
                try:
                    replace(rfp, formset.items(), actor=request.user, request=request)
                except ValidationError as exc:
                    problems = exc.messages
                else:
                    return saved(request, rfp, step)
            status = 400
    context = {
        **editor_context(rfp, step),
        "formset": formset,
        "rows": formset.rows(),
        "summary": formset.summary(problems) if status == 400 else [],
        "notice": notice,
    }
    return render(request, f"staff/editor/{step}.html", context, status=status)


@permissions.staff_required
def elements(request: HttpRequest, slug: str) -> HttpResponse:
    """What a proposal contains: its elements (key, kind, label, help, required), in order."""
    return _keyed_rows_step(
        request,
        slug,
        step="elements",
        formset_class=ElementFormSet,
        replace=editor.replace_elements,
    )


@permissions.staff_required
def criteria(request: HttpRequest, slug: str) -> HttpResponse:
    """The criteria: gates, and scored criteria with a weight, a scale and what each score
    means. Without JavaScript, Update the scale (or Save) draws the meanings of a new scale."""
    return _keyed_rows_step(
        request,
        slug,
        step="criteria",
        formset_class=CriterionFormSet,
        replace=editor.replace_criteria,
    )
