"""Public pages: RFPs, their calendar file. Thin: parse, call a selector, render."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from proposals import pdf_check, questions, receipts, selectors, subscriptions
from proposals.forms import QuestionForm, StartProposalForm, SubscribeForm, VerifyReceiptForm
from proposals.models import RFP
from rfp_portal import deadlines, ics, permissions, ratelimits
from rfp_portal.markdown import render_markdown
from rfp_portal.uploads import hash_uploads_only, upload_limit, upload_too_large


def home(request: HttpRequest) -> HttpResponse:
    listing = selectors.rfp_listing(now=request.received_at)
    return render(request, "proposals/home.html", {"listing": listing})


def rfp_detail(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    context = rfp_page_context(rfp, user=request.user, now=request.received_at)
    return render(request, "proposals/rfp_detail.html", context)


def rfp_page_context(rfp: RFP, *, user: Any, now: datetime) -> dict[str, Any]:
    """What the RFP page shows ``user`` at ``now``: the public page, and the staff preview,
    which draws the same page for a visitor (proposals.views.staff.preview)."""
    criteria = list(rfp.criteria.all())
    return {
        "rfp": rfp,
        "user": user,
        "body_html": render_markdown(rfp.body_markdown),
        "totals": selectors.scope_totals(rfp),
        "gates": [c for c in criteria if c.is_gate],
        "scored": [c for c in criteria if not c.is_gate],
        "equal_weights": len({c.weight for c in criteria if not c.is_gate}) <= 1,
        "now": now,
        "accepting": rfp.accepts_submissions_at(now),
        "addenda": list(rfp.addenda.order_by("number")),
        "answers": list(selectors.published_answers(rfp)),
        "my_questions": list(selectors.questions_of(rfp, user)),
        "questions_open": questions.questions_open(rfp, now),
        "question_form": QuestionForm(),
        "start_form": StartProposalForm(),
        "my_proposal": selectors.proposals_of(user).filter(rfp=rfp).first(),
        "interested": user.is_authenticated and rfp.interests.filter(user=user).exists(),
        "can_propose": permissions.has_role(user, permissions.Role.PROPOSER),
    }


def addendum_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    addendum = get_object_or_404(rfp.addenda, number=number)
    diffs = [
        {
            "label": change["label"],
            "before": change["before"],
            "after": change["after"],
            "lines": list(
                difflib.unified_diff(
                    change["before"].splitlines(), change["after"].splitlines(), lineterm="", n=2
                )
            )[2:],
        }
        for change in addendum.changes.values()
    ]
    acknowledged = (
        request.user.is_authenticated
        and addendum.acknowledgements.filter(user=request.user).exists()
    )
    return render(
        request,
        "proposals/addendum.html",
        {"rfp": rfp, "addendum": addendum, "diffs": diffs, "acknowledged": acknowledged},
    )


@login_required
@require_POST
@ratelimits.limited(ratelimits.ASK_QUESTION)
def ask_question(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    form = QuestionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write your question (at most 4,000 characters)."))
        return redirect(rfp.get_absolute_url() + "#questions")
    try:
        questions.ask(
            rfp=rfp,
            user=request.user,
            text=form.cleaned_data["text"],
            now=request.received_at,
            request=request,
        )
    except questions.QuestionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Your question has been sent. The answer will be published here, without your name."),
        )
    return redirect(rfp.get_absolute_url() + "#questions")


@ratelimits.limited(ratelimits.VERIFY_RECEIPT)
@hash_uploads_only  # the PDF is hashed as it arrives and never kept
def verify_receipt(request: HttpRequest) -> HttpResponse:
    form = VerifyReceiptForm(request.POST or None, request.FILES or None)
    if upload_too_large(request):
        form.add_error(
            "document",
            _("The file is larger than %(limit)s, the largest PDF the portal accepts.")
            % {"limit": pdf_check.human_size(upload_limit())},
        )
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("document")
        result = receipts.verify(
            form.cleaned_data["code"], document_sha256=upload.sha256 if upload else None
        )
    return render(
        request,
        "proposals/verify.html",
        {"form": form, "result": result},
        status=400 if form.errors else 200,
    )


def rfp_calendar(request: HttpRequest, slug: str) -> HttpResponse:
    rfp = selectors.rfp_for_page(request.user, slug)
    url = request.build_absolute_uri(rfp.get_absolute_url())
    text = ics.event(
        uid=f"deadline-{rfp.slug}@rfp-portal",
        summary=_("Proposals due: %(title)s") % {"title": rfp.title},
        description=_("Deadline: %(aoe)s = %(utc)s. Details: %(url)s")
        % {
            # Read by people in their calendar: the deadline in the RFP's own zone (AoE unless
            # staff chose another) and in UTC, as the RFP page writes them.
            "aoe": deadlines.deadline_views(rfp.deadline_instant, None, rfp.deadline_zone)[0].text,
            "utc": deadlines.format_deadline(rfp.deadline_instant, deadlines.UTC_ZONE_NAME),
            "url": url,
        },
        url=url,
        start=rfp.deadline_instant,
        alarm_before=timedelta(days=1),
    )
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{rfp.slug}-deadline.ics"'
    return response


@ratelimits.limited(ratelimits.SUBSCRIBE)
def subscribe(request: HttpRequest) -> HttpResponse:
    form = SubscribeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        subscriptions.subscribe(email=form.cleaned_data["email"], now=request.received_at)
        return render(request, "proposals/subscription.html", {"state": "check-mail"})
    return render(
        request,
        "proposals/subscription.html",
        {"form": form, "state": "form"},
        status=400 if form.errors else 200,
    )


def subscription_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = subscriptions.from_token(
            token, "confirm", max_age=subscriptions.CONFIRM_MAX_AGE
        )
    except subscriptions.SubscriptionError as exc:
        return render(
            request, "proposals/subscription.html", {"state": "error", "error": exc}, status=400
        )
    if request.method == "POST":
        subscriptions.confirm(subscription=subscription, now=request.received_at)
        return render(request, "proposals/subscription.html", {"state": "confirmed"})
    return render(request, "proposals/subscription.html", {"state": "confirm"})


@csrf_exempt  # one-click unsubscribe (RFC 8058): mail clients POST here; the token authorises
def subscription_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription = subscriptions.from_token(token, "stop")
    except subscriptions.SubscriptionError as exc:
        return render(
            request, "proposals/subscription.html", {"state": "error", "error": exc}, status=400
        )
    if request.method == "POST":
        subscriptions.unsubscribe(subscription=subscription, now=request.received_at)
        return render(request, "proposals/subscription.html", {"state": "unsubscribed"})
    return render(request, "proposals/subscription.html", {"state": "unsubscribe"})
