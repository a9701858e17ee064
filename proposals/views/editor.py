"""The RFP editor's pages (staff, MFA): a new draft, the basics and the deadline steps, the
live previews of Markdown and of the deadline instant (htmx; each step works without them).
The timeline, scope, elements and criteria steps are in editor_parts.py; the writes are
proposals.editor's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from proposals import editor, selectors
from proposals.editor_forms import (
    BasicsForm,
    DeadlineForm,
    DeadlineInstantForm,
    MarkdownPreviewForm,
)
from proposals.models import RFP
from rfp_portal import deadlines, permissions
from rfp_portal.markdown import render_markdown


def editor_context(rfp: RFP | None, step: str) -> dict[str, Any]:
    """What every step's page needs: the RFP, the step list (with links once the draft exists)
    and which step this is; templates/staff/editor/base.html draws it."""
    steps = []
    for number, (key, label) in enumerate(editor.STEPS, start=1):
        url = reverse("staff_rfp_edit_" + key, args=[rfp.slug]) if rfp and rfp.pk else None
        steps.append(
            {"key": key, "label": label, "number": number, "url": url, "current": key == step}
        )
    position = editor.STEP_KEYS.index(step)
    following = editor.STEP_KEYS[position + 1] if position + 1 < len(editor.STEP_KEYS) else None
    return {
        "rfp": rfp,
        "step": step,
        "steps": steps,
        "step_number": position + 1,
        "step_count": len(editor.STEPS),
        "next_step": following,
    }


def refused(request: HttpRequest, rfp: RFP, step: str) -> HttpResponse | None:
    """The page every step shows instead of its form when the RFP may not be edited any more
    (published, or proposals exist): why, and the addendum page. GET answers 200, POST 400
    (nothing saved). None when the RFP may be edited."""
    reason = editor.edit_refusal(rfp)
    if reason is None:
        return None
    context = {**editor_context(rfp, step), "reason": reason}
    status = 400 if request.method == "POST" else 200
    return render(request, "staff/editor/refused.html", context, status=status)


def saved(request: HttpRequest, rfp: RFP, step: str) -> HttpResponse:
    """After a step is saved: "Save and continue" (a POST with save_next) goes to the next step
    (the preview after the last one), "Save" back to the same step (post/redirect/get)."""
    messages.success(request, _("Saved."))
    if "save_next" in request.POST:
        following = editor_context(rfp, step)["next_step"]
        if following is None:
            return redirect("staff_rfp_preview", slug=rfp.slug)
        return redirect("staff_rfp_edit_" + following, slug=rfp.slug)
    return redirect("staff_rfp_edit_" + step, slug=rfp.slug)


def _step(request: HttpRequest, rfp: RFP | None, step: str, **context: Any) -> HttpResponse:
    """A step's page (staff/editor/<step>.html): 400 when its form says what is wrong, else 200
    (a GET, or a preview, which saves nothing)."""
    form = context["form"]
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        f"staff/editor/{step}.html",
        {**editor_context(rfp, step), **context},
        status=status,
    )


def _model_errors(form, rfp: RFP | None, error: ValidationError) -> None:
    """What the models refused that the form let through, said on the form (next to its field
    when the form has one); the RFP is read again, as nothing was saved."""
    for name, messages_ in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages_)
    if rfp is not None and rfp.pk:
        rfp.refresh_from_db()


def _markdown(text: str) -> dict[str, Any]:
    """The body's preview: its HTML, or why there is none."""
    form = MarkdownPreviewForm({"body_markdown": text})
    if not form.is_valid():
        return {"problem": form.problem()}
    body = form.cleaned_data["body_markdown"]
    return {"html": render_markdown(body) if body.strip() else ""}


def _basics(request: HttpRequest, rfp: RFP | None) -> HttpResponse:
    """The basics step, for a new draft (rfp None: saving creates it) or an existing one."""
    initial = BasicsForm.initial_from(rfp) if rfp else None
    form = BasicsForm(request.POST if request.method == "POST" else None, initial=initial, rfp=rfp)
    body = rfp.body_markdown if rfp else ""
    if request.method == "POST" and "preview" in request.POST:
        form, body = form.keeping_values(), request.POST.get("body_markdown", "")
    elif request.method == "POST" and form.is_valid():
        fields = form.cleaned_data
        try:
            if rfp is None:
                rfp = editor.create_draft(
                    now=request.received_at, actor=request.user, request=request, **fields
                )
            else:
                editor.save_basics(rfp, actor=request.user, request=request, **fields)
        except editor.EditRefused:
            return refused(request, rfp, "basics")
        except ValidationError as error:
            _model_errors(form, rfp, error)
        else:
            return saved(request, rfp, "basics")
    return _step(request, rfp, "basics", form=form, preview=_markdown(body))


@permissions.staff_required
def new(request: HttpRequest) -> HttpResponse:
    return _basics(request, None)


@permissions.staff_required
def basics(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    return refused(request, rfp, "basics") or _basics(request, rfp)


def _deadline_panel(request: HttpRequest, instant: datetime, zone: str) -> dict[str, Any]:
    """The panel "The deadline will be": the instant in the RFP's zone, UTC and the editor's
    own zone, and the time left from now (when the request arrived)."""
    left = deadlines.countdown(request.received_at, instant)
    return {
        "instant": instant,
        "views": deadlines.deadline_views(instant, request.viewer_zone, zone),
        "passed": left.passed,
        "time_left": deadlines.describe_countdown(left),
    }


def _panel_from(request: HttpRequest, form: DeadlineInstantForm) -> dict[str, Any]:
    """The panel for the date, zone and time posted, or the first problem with them."""
    if not form.is_valid():
        return {"problem": form.problem()}
    return _deadline_panel(request, form.instant, form.cleaned_data["deadline_zone"])


@permissions.staff_required
def deadline(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    answer = refused(request, rfp, "deadline")
    if answer:
        return answer
    now = request.received_at
    if request.method != "POST":
        form = DeadlineForm(initial=DeadlineForm.initial_from(rfp), now=now)
        panel = _deadline_panel(request, rfp.deadline_instant, rfp.deadline_zone)
        return _step(request, rfp, "deadline", form=form, panel=panel)
    form = DeadlineForm(request.POST, now=now)
    panel = _panel_from(request, DeadlineInstantForm(request.POST, now=now))
    if "preview" in request.POST:
        form = form.keeping_values()
    elif form.is_valid():
        try:
            editor.save_deadline(
                rfp, actor=request.user, request=request, **form.deadline(), **form.rules()
            )
        except editor.EditRefused:
            return refused(request, rfp, "deadline")
        except ValidationError as error:
            _model_errors(form, rfp, error)
        else:
            return saved(request, rfp, "deadline")
    return _step(request, rfp, "deadline", form=form, panel=panel)


@permissions.staff_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The body's Markdown as the RFP's page will show it (htmx swaps it into the step); too
    long a text is refused with a message (400)."""
    preview = _markdown(request.POST.get("body_markdown", ""))
    status = 400 if "problem" in preview else 200
    return render(
        request, "staff/editor/_markdown_preview.html", {"preview": preview}, status=status
    )


@permissions.staff_required
@require_POST
def deadline_preview(request: HttpRequest) -> HttpResponse:
    """The panel "The deadline will be" for the date, zone and time posted (htmx swaps it into
    the deadline step); inputs that make no deadline give a short message instead."""
    form = DeadlineInstantForm(request.POST, now=request.received_at)
    return render(
        request, "staff/editor/_deadline_preview.html", {"panel": _panel_from(request, form)}
    )
