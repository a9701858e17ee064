"""Public pages: RFPs, their calendar file. Thin: parse, call a selector, render."""

from __future__ import annotations

import difflib
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from proposals import pdf_check, questions, receipt_signing, receipts, selectors, subscriptions
from proposals.forms import QuestionForm, StartProposalForm, SubscribeForm, VerifyReceiptForm
from proposals.models import RFP
from rfp_portal import deadlines, ics, permissions, ratelimits
from rfp_portal.markdown import render_markdown
from rfp_portal.uploads import (
    Sha256UploadHandler,
    SizeLimitHandler,
    upload_limit,
    upload_too_large,
)


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


class _KeepReceiptFile(FileUploadHandler):
    """Keeps the `signed_receipt` upload in memory, up to receipt_signing.MAX_FILE_BYTES (a
    larger one is dropped and flagged); every other file passes on to be hashed only."""

    field = "signed_receipt"

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.active = field_name == self.field
        self.buffer = bytearray()

    def receive_data_chunk(self, raw_data, start):
        if not self.active:
            return raw_data
        if len(self.buffer) + len(raw_data) > receipt_signing.MAX_FILE_BYTES:
            self.request.receipt_file_too_large = True
            raise SkipFile
        self.buffer += raw_data
        return None

    def file_complete(self, file_size):
        if not self.active:
            return None
        return SimpleUploadedFile(self.file_name, bytes(self.buffer), self.content_type)


def _hash_pdf_keep_receipt(view):
    """rfp_portal.uploads.hash_uploads_only, with the small receipt file kept for reading."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.upload_handlers = [
            SizeLimitHandler(request),
            _KeepReceiptFile(request),
            Sha256UploadHandler(request),
        ]
        return protected(request, *args, **kwargs)

    return wrapper


@ratelimits.limited(ratelimits.VERIFY_RECEIPT)
@_hash_pdf_keep_receipt  # the PDF is hashed as it arrives and never kept
def verify_receipt(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # Bound on every POST: a post of the receipt file alone has no other field. A file
        # dropped for its size is told to the form, which says only that (not "enter the code").
        # Reading the body first runs the upload handlers, which flag a dropped file.
        data, files = request.POST, request.FILES
        dropped = {}
        if upload_too_large(request):
            dropped["document"] = _(
                "The file is larger than %(limit)s, the largest PDF the portal accepts."
            ) % {"limit": pdf_check.human_size(upload_limit())}
        if getattr(request, "receipt_file_too_large", False):
            dropped["signed_receipt"] = _(
                "The file is larger than %(size)s KB: it is not a signed receipt."
            ) % {"size": receipt_signing.MAX_FILE_BYTES // 1024}
        form = VerifyReceiptForm(data, files, dropped_files=dropped)
    else:
        form = VerifyReceiptForm()
    result = signed = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data.get("document")
        sha256 = upload.sha256 if upload else None
        receipt_upload = form.cleaned_data.get("signed_receipt")
        if receipt_upload is not None:
            signed = _verify_signed(receipt_upload.read(), sha256)
        else:
            result = receipts.verify(form.cleaned_data["code"], document_sha256=sha256)
    return render(
        request,
        "proposals/verify.html",
        {"form": form, "result": result, "signed": signed},
        status=400 if form.errors else 200,
    )


def _verify_signed(data: bytes, document_sha256: str | None) -> dict[str, Any]:
    """What the page says about a signed receipt file: valid or why not; if valid, the RFP's
    title and the times for people (never the team or the proposal)."""
    try:
        verified = receipt_signing.verify_file(
            data, receipt_signing.public_keys(), document_sha256=document_sha256
        )
    except receipt_signing.ReceiptInvalid as exc:
        reason = str(exc)
        if exc.reason == "pdf":
            # This page has a field for the PDF: say where it goes.
            reason += " " + _(
                "To check your PDF, add it in the field “%(field)s”, with the signed receipt "
                "or the receipt code."
            ) % {"field": VerifyReceiptForm.base_fields["document"].label}
        return {"valid": False, "reason": reason}
    zone = verified.statement.get("deadline_zone") or deadlines.AOE_ZONE_NAME
    zones = [deadlines.UTC_ZONE_NAME]
    if deadlines.is_valid_zone(zone):
        zones.append(deadlines.canonical_zone_name(zone))
    return {
        "valid": True,
        "rfp_title": verified.rfp_title,
        "received_at": verified.received_at,
        "received_views": [
            deadlines.format_in_zone(verified.received_at, z) for z in dict.fromkeys(zones)
        ],
        "deadline_text": deadlines.format_deadline(
            verified.deadline, zone if deadlines.is_valid_zone(zone) else deadlines.AOE_ZONE_NAME
        ),
        "version": verified.statement["version"],
        "receipt_code": verified.statement["receipt_code"],
        "document_checked": verified.document_checked,
        "document_matches": verified.document_matches,
    }


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
