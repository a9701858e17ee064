"""Staff pages for RFPs: overview with counts (sealed content stays sealed), addenda, Q&A, and
the audit trail (its events about sealed proposals are counted, not listed); the preview of an
RFP's page as visitors will see it, publishing with a confirmation, duplicating, an RFP as a TOML
file (download, import), and opening by hand after the cut-off."""

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from proposals import addenda, editor, rfp_files, rules, selectors, services
from proposals import questions as questions_service
from proposals.forms import AddendumForm, DuplicateRFPForm, ImportRFPForm, PublishRFPForm
from proposals.models import RFP, Proposal, Question
from proposals.views import public
from rfp_portal import audit, audit_details, deadlines, permissions
from rfp_portal.forms import AuditFilterForm
from rfp_portal.models import AuditEvent


@permissions.staff_required
def home(request: HttpRequest) -> HttpResponse:
    rfps = list(selectors.rfps_visible_to(request.user).order_by("-deadline_instant"))
    counts = selectors.proposal_counts([r.pk for r in rfps])
    open_questions = selectors.open_question_counts([r.pk for r in rfps])
    rows = [
        {
            "rfp": rfp,
            "counts": counts.get(rfp.pk, {}),
            "sealed": rules.is_sealed(rfp),
            "open_questions": open_questions.get(rfp.pk, 0),
            # Sealed past its cut-off and not opened: the scheduler is late (Open now…).
            "may_open": rules.is_sealed(rfp)
            and rfp.is_published
            and services.opening_refusal(rfp, now=request.received_at) is None,
        }
        for rfp in rfps
    ]
    return render(request, "staff/home.html", {"rows": rows, "now": request.received_at})


@permissions.staff_required
def publish_addendum(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    initial = {
        "title": rfp.title,
        "summary": rfp.summary,
        "body_markdown": rfp.body_markdown,
        "deadline_date": rfp.deadline_date,
        "deadline_zone": rfp.deadline_zone,
    }
    form = AddendumForm(request.POST or None, initial=initial, rfp=rfp)
    if request.method == "POST" and form.is_valid():
        try:
            addendum = addenda.publish_addendum(
                rfp=rfp,
                changes=form.rfp_changes(),
                part_changes=form.part_changes(),
                change_note=form.cleaned_data["change_note"],
                actor=request.user,
                now=request.received_at,
                request=request,
            )
        except addenda.AddendumRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("Addendum %(n)s is published; everyone concerned is being told.")
                % {"n": addendum.number},
            )
            return redirect("addendum_detail", slug=rfp.slug, number=addendum.number)
    return render(
        request,
        "staff/addendum_form.html",
        {"rfp": rfp, "form": form},
        status=400 if form.errors else 200,
    )


@permissions.staff_required
def questions(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    if request.method == "POST":
        question = get_object_or_404(rfp.questions, pk=request.POST.get("question"))
        try:
            questions_service.answer(
                question=question,
                staff_user=request.user,
                answer_text=request.POST.get("answer", ""),
                publish=request.POST.get("action") != "decline",
                now=request.received_at,
                request=request,
            )
        except questions_service.QuestionRefused as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The answer has been saved."))
        return redirect("staff_questions", slug=rfp.slug)
    items = rfp.questions.order_by("state", "asked_at")
    return render(
        request,
        "staff/questions.html",
        {"rfp": rfp, "questions": items, "open_state": Question.State.OPEN},
    )


@permissions.staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit trail, newest first, filtered by action, actor or object; read-only.

    Events about sealed proposals are not listed before opening, only counted by action
    (rule 2: staff see counts only). Listed with their times, they would say when someone
    worked on a proposal, and the account events around them who that was."""
    form = AuditFilterForm(request.GET or None)
    events = rules.audit_events_for_staff(AuditEvent.objects.all())
    if form.is_valid():
        data = form.cleaned_data
        if data.get("action"):
            events = events.filter(action__startswith=data["action"])
        if data.get("actor"):
            events = events.filter(actor_label__icontains=data["actor"], sealed=False)
        if data.get("object"):
            events = events.filter(object_label__icontains=data["object"])
        if data.get("since"):
            events = events.filter(at__date__gte=data["since"])
    sealed = audit.sealed_counts(events)
    for row in sealed:
        row["label"] = audit.action_label(row["action"])
    listed = events.filter(sealed=False).order_by("-at", "-id")
    page = Paginator(listed, 50).get_page(request.GET.get("page"))
    for event in page:  # in words for people; the code stays for searching by prefix
        event.label = audit.action_label(event.action)
        event.phrases = audit_details.describe_details(event.details)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/audit.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "sealed": sealed,
            "sealed_total": sum(row["events"] for row in sealed),
        },
    )


@permissions.staff_required
def publish(request: HttpRequest, slug: str) -> HttpResponse:
    """Publishing is deliberate: the page says who is mailed and what becomes read-only, and
    the POST needs "I understand" ticked. Publishing a published RFP changes nothing."""
    rfp = selectors.rfp_for_page(request.user, slug)
    problems = (
        [] if rfp.is_published else services.publication_problems(rfp, now=request.received_at)
    )
    # What is allowed but looks wrong (the preview lists the same, with links to fix it).
    warnings = (
        []
        if rfp.is_published
        else [w for w in editor.preview_warnings(rfp, now=request.received_at) if not w.blocking]
    )
    form = PublishRFPForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and rfp.is_published:
        messages.info(request, _("This RFP is published already; nothing more was sent."))
        return redirect("staff_home")
    if request.method == "POST" and not problems and form.is_valid():
        services.publish_rfp(rfp=rfp, actor=request.user, request=request, now=request.received_at)
        messages.success(
            request,
            _("“%(title)s” is published; its subscribers are being e-mailed.")
            % {"title": rfp.title},
        )
        return redirect("staff_home")
    return render(
        request,
        "staff/rfp_publish.html",
        {
            "rfp": rfp,
            "form": form,
            "problems": problems,
            "warnings": warnings,
            "recipients": services.announcement_count(),
            "now": request.received_at,
        },
        status=400 if request.method == "POST" else 200,
    )


@permissions.staff_required
def duplicate(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    initial = {
        "title": rfp.title,
        "slug": f"{rfp.slug}-copy"[:80],
        "deadline_date": rfp.deadline_date,
        "deadline_zone": rfp.deadline_zone,
    }
    form = DuplicateRFPForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        copy = services.duplicate_rfp(rfp, actor=request.user, request=request, **form.cleaned_data)
        messages.success(
            request,
            _("“%(title)s” is a draft copy of “%(source)s”; publish it when it is ready.")
            % {"title": copy.title, "source": rfp.title},
        )
        return redirect("staff_home")
    return render(
        request,
        "staff/rfp_duplicate.html",
        {"rfp": rfp, "form": form},
        status=400 if form.errors else 200,
    )


@permissions.staff_required
@require_GET
def download(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    response = HttpResponse(
        rfp_files.export_rfp(rfp), content_type="application/toml; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{rfp_files.export_filename(rfp)}"'
    return response


@permissions.staff_required
def import_file(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = ImportRFPForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        # Read at most one byte more than allowed: rfp_files refuses what is too large.
        content = upload.read(rfp_files.MAX_FILE_BYTES + 1)
        try:
            with transaction.atomic():
                rfp = rfp_files.import_rfp(
                    content, now=request.received_at, actor=request.user, request=request
                )
        except rfp_files.RFPFileError as exc:
            form.add_error("file", _("The file was not imported: %(problem)s") % {"problem": exc})
        else:
            messages.success(
                request,
                _("“%(title)s” is imported as a draft; publish it when it is ready.")
                % {"title": rfp.title},
            )
            return redirect("staff_home")
    return render(
        request, "staff/rfp_import.html", {"form": form}, status=400 if form.errors else 200
    )


@permissions.staff_required
@require_GET
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The RFP's public page exactly as a visitor (signed out) will see it once it is published:
    the same template and context as public.rfp_detail, in the language chosen (?lang=), under
    a banner with the time left, the warnings (editor.preview_warnings, each linked to the
    editor step that fixes it) and the way to Publish…. Nothing is written."""
    rfp = selectors.rfp_for_page(request.user, slug)
    now = request.received_at
    codes = [code for code, _name in settings.LANGUAGES]
    language = request.GET.get("lang")
    if language not in codes:
        language = translation.get_language()
    draft = not rfp.is_published
    editable = editor.edit_refusal(rfp) is None
    step_urls = {key: reverse(f"staff_rfp_edit_{key}", args=[rfp.slug]) for key in editor.STEP_KEYS}
    with translation.override(language):
        context = public.rfp_page_context(
            _as_visitors_will_see_it(rfp, now), user=AnonymousUser(), now=now
        )
        context["preview"] = {
            "draft": draft,
            "editable": editable,
            "warnings": editor.preview_warnings(rfp, now=now) if draft else [],
            "steps": [{"label": label, "url": step_urls[key]} for key, label in editor.STEPS],
            "step_urls": step_urls if editable else {},
            "languages": [
                {
                    "code": code,
                    "name": translation.get_language_info(code)["name_local"],
                    "current": code == language,
                }
                for code in codes
            ],
        }
        response = render(request, "staff/rfp_preview.html", context)
    response.headers["Content-Language"] = language
    return response


def _as_visitors_will_see_it(rfp: RFP, now) -> RFP:
    """A draft as it will be once published (a copy, never saved): the page then shows what
    visitors will see (no draft badge; proposals accepted until the deadline)."""
    if rfp.is_published:
        return rfp
    shown = copy.copy(rfp)  # keeps the prefetched parts
    shown.status, shown.published_at = RFP.Status.PUBLISHED, now
    return shown


@permissions.staff_required
def open_by_hand(request: HttpRequest, slug: str) -> HttpResponse:
    """Opening is automatic at the submission cut-off (deadline + grace: the beat task,
    services.open_due_rfps); staff open an RFP by hand only after it, when the scheduler is
    late. The page says what opening does and that it cannot be undone; the POST needs
    "I understand" ticked. Before the cut-off it is refused; opening an opened RFP changes
    nothing."""
    rfp = selectors.rfp_for_page(request.user, slug)
    now = request.received_at
    posted = request.method == "POST"
    if posted and rfp.opened_at is not None:
        messages.info(
            request,
            _("“%(title)s” was opened already (%(when)s); nothing changed.")
            % {"title": rfp.title, "when": _when(rfp.opened_at)},
        )
        return redirect("staff_home")
    refusal = services.opening_refusal(rfp, now=now)
    error = None
    if posted and not refusal:
        if not request.POST.get("understood"):
            error = _("Tick “I understand this cannot be undone” to open the proposals.")
        else:
            try:
                opened = services.open_rfp(
                    rfp, now=now, actor=request.user, request=request, by_hand=True
                )
            except services.OpeningRefused as exc:
                refusal = str(exc)
            else:
                if opened:
                    messages.success(
                        request,
                        _(
                            "“%(title)s” is opened: its submitted proposals can be read, and "
                            "the reviewers assigned are being e-mailed."
                        )
                        % {"title": rfp.title},
                    )
                else:
                    messages.info(
                        request,
                        _("“%(title)s” was opened already (%(when)s); nothing changed.")
                        % {"title": rfp.title, "when": _when(rfp.opened_at)},
                    )
                return redirect("staff_home")
    counts = selectors.proposal_counts([rfp.pk]).get(rfp.pk, {})
    return render(
        request,
        "staff/rfp_open.html",
        {
            "rfp": rfp,
            "now": now,
            "refusal": refusal,
            "error": error,
            "submitted": counts.get(Proposal.State.SUBMITTED, 0),
        },
        status=400 if posted else 200,
    )


def _when(instant) -> str:
    return deadlines.format_in_zone(instant, deadlines.UTC_ZONE_NAME).text
