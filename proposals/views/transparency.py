"""The public transparency log (proposals.transparency): pages for people, JSON for machines.

Every address is public and read-only (the receipt check posts a file and stores nothing).
Looking at a log whose leaves outgrew its last head makes a new head, at most one a minute
per RFP (transparency.refresh_head). Proofs and leaves are served only up to the latest
signed head, so whatever a machine fetches can be checked against a signed root. Input is
bounded: integers are validated, ranges limited, and a bad query gets a 400 with a JSON error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from proposals import receipt_signing, transparency
from proposals.models import RFP, LogLeaf, TransparencyLog, TreeHead
from rfp_portal import ratelimits, timestamping

# The history page lists at most this many heads (newest first); the JSON list pages them.
HEADS_PER_PAGE = 200
# Sizes beyond this are refused before any query (a log of an RFP never comes near it).
MAX_INDEX = 10**9


class ReceiptCheckForm(forms.Form):
    signed_receipt = forms.FileField(
        label=gettext_lazy("The signed receipt file (.json)"),
        help_text=gettext_lazy(
            "The file downloaded from the receipt page. We check its signature and that it "
            "is in this log, under the latest signed head."
        ),
    )


def _json(data: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"indent": 2})
    response["Cache-Control"] = "no-cache"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _bad(message: str) -> JsonResponse:
    return _json({"error": message}, status=400)


def _published_rfp(slug: str) -> RFP:
    return get_object_or_404(RFP, slug=slug, status=RFP.Status.PUBLISHED)


def _log_of(rfp: RFP) -> TransparencyLog | None:
    return TransparencyLog.objects.filter(rfp=rfp).select_related("rfp").first()


def _int_param(request: HttpRequest, name: str) -> int:
    raw = request.GET.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise ValueError(
            _("%(name)s must be a whole number from 0 to %(max)s.")
            % {"name": name, "max": MAX_INDEX}
        )
    value = int(raw)
    if value > MAX_INDEX:
        raise ValueError(
            _("%(name)s must be a whole number from 0 to %(max)s.")
            % {"name": name, "max": MAX_INDEX}
        )
    return value


def _rows(log: TransparencyLog | None) -> dict[str, Any]:
    now = timezone.now()
    head = transparency.refresh_head(log, now=now) if log else None
    return {
        "log": log,
        "head": head,
        "final": transparency.final_head(log) if log else None,
        "unsigned": (log.size - head.tree_size) if log and head else (log.size if log else 0),
    }


def index(request: HttpRequest) -> HttpResponse:
    """Every published RFP's log: its size, latest head and final head."""
    rfps = RFP.objects.filter(status=RFP.Status.PUBLISHED).order_by("-deadline_instant", "pk")
    logs = {log.rfp_id: log for log in TransparencyLog.objects.filter(rfp__in=rfps)}
    rows = [{"rfp": rfp, **_rows(logs.get(rfp.pk))} for rfp in rfps]
    return render(
        request,
        "proposals/transparency.html",
        {"rows": rows, "timestamping": timestamping.status_sentence()},
    )


def rfp_log(request: HttpRequest, slug: str) -> HttpResponse:
    """One RFP's log: the history of its heads, and a form to check a receipt file in it
    (a POST counts against /verify/'s rate, as it checks the same files)."""
    if request.method == "POST" and not ratelimits.allowed(request, ratelimits.VERIFY_RECEIPT):
        return ratelimits.ratelimit.respond_429(request)
    rfp = _published_rfp(slug)
    log = _log_of(rfp)
    context = {"rfp": rfp, **_rows(log)}
    heads = list(log.heads.order_by("-timestamp", "-pk")[:HEADS_PER_PAGE]) if log else []
    form = ReceiptCheckForm(request.POST or None, request.FILES or None)
    check = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["signed_receipt"]
        if upload.size > receipt_signing.MAX_FILE_BYTES:
            form.add_error(
                "signed_receipt",
                _("The file is larger than %(size)s KB: it is not a signed receipt.")
                % {"size": receipt_signing.MAX_FILE_BYTES // 1024},
            )
        else:
            check = _check_receipt(upload.read(), rfp, log, context["head"])
    context.update(
        timestamping=timestamping.status_sentence(),
        heads=heads,
        more_heads=log is not None and log.heads.count() > HEADS_PER_PAGE,
        form=form,
        check=check,
    )
    return render(
        request,
        "proposals/transparency_rfp.html",
        context,
        status=400 if form.errors else 200,
    )


def _check_receipt(
    data: bytes, rfp: RFP, log: TransparencyLog | None, head: TreeHead | None
) -> dict[str, Any]:
    try:
        verified = receipt_signing.verify_file(data, receipt_signing.public_keys())
    except receipt_signing.ReceiptInvalid as exc:
        return {"valid": False, "reason": str(exc)}
    statement = verified.statement
    index = statement.get("log_index")
    if statement.get("rfp_slug") != rfp.slug:
        return {"valid": False, "reason": _("This receipt is for another RFP.")}
    if not isinstance(index, int):
        return {
            "valid": False,
            "reason": _(
                "This receipt was signed before the transparency log existed: it has no place "
                "in the log (its signature is still valid)."
            ),
        }
    if log is None or head is None or index >= head.tree_size:
        return {
            "valid": False,
            "reason": _("No signed head of this log includes leaf %(index)s yet; try in a minute.")
            % {"index": index},
        }
    signed_bytes = receipt_signing.canonical(statement)
    proof = [bytes.fromhex(h) for h in transparency.inclusion_for(log, index, head.tree_size)]
    try:
        transparency.check_inclusion(
            signed_bytes, index, transparency.VerifiedHead(transparency.head_statement(head)), proof
        )
    except transparency.LogCheckFailed as exc:
        return {"valid": False, "reason": str(exc)}
    return {"valid": True, "index": index, "head": head}


def heads_json(request: HttpRequest, slug: str) -> HttpResponse:
    """Every head of the log, newest first, HEADS_PER_PAGE a page (?page=1, 2, ...)."""
    rfp = _published_rfp(slug)
    log = _log_of(rfp)
    try:
        page = _int_param(request, "page") if "page" in request.GET else 1
    except ValueError as exc:
        return _bad(str(exc))
    if page < 1:
        return _bad(_("page must be 1 or more."))
    if log is None:
        return _json({"rfp_slug": rfp.slug, "tree_size": 0, "heads": []})
    transparency.refresh_head(log, now=timezone.now())
    start = (page - 1) * HEADS_PER_PAGE
    heads = log.heads.select_related("log__rfp").order_by("-timestamp", "-pk")[
        start : start + HEADS_PER_PAGE
    ]
    return _json(
        {
            "rfp_slug": rfp.slug,
            "page": page,
            "per_page": HEADS_PER_PAGE,
            "heads": [transparency.head_file(head) for head in heads],
        }
    )


def _head(slug: str, head_id: int) -> TreeHead:
    rfp = _published_rfp(slug)
    head = TreeHead.objects.filter(pk=head_id, log__rfp=rfp).select_related("log__rfp").first()
    if head is None:
        raise Http404
    return head


def head_json(request: HttpRequest, slug: str, head_id: int) -> HttpResponse:
    head = _head(slug, head_id)
    response = _json(transparency.head_file(head))
    # A head never changes once it has its timestamp (or when no TSA is configured to add one).
    if head.tsa_gen_time is not None or not timestamping.enabled():
        response["Cache-Control"] = "public, max-age=86400"
    return response


def head_statement(request: HttpRequest, slug: str, head_id: int) -> HttpResponse:
    """The head's exact signed bytes (its canonical statement): the data its signature and its
    timestamp token are over, for `openssl ts -verify -data`."""
    head = _head(slug, head_id)
    response = HttpResponse(head.statement.encode("ascii"), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{slug}-head-{head.pk}.json"'
    response["Cache-Control"] = "public, max-age=86400"  # a head's statement never changes
    response["Access-Control-Allow-Origin"] = "*"
    return response


def head_token(request: HttpRequest, slug: str, head_id: int) -> HttpResponse:
    """The head's RFC 3161 token, the TSA's DER TimeStampResp (a .tsr file); 404 while none."""
    head = _head(slug, head_id)
    if head.tsa_token is None:
        raise Http404
    response = HttpResponse(bytes(head.tsa_token), content_type="application/timestamp-reply")
    response["Content-Disposition"] = f'attachment; filename="{slug}-head-{head.pk}.tsr"'
    response["Cache-Control"] = "public, max-age=86400"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _latest_size(log: TransparencyLog | None) -> int:
    if log is None:
        return 0
    head = transparency.refresh_head(log, now=timezone.now())
    return head.tree_size if head else 0


def _ranged(request: HttpRequest, slug: str, low: str, high: str):
    """The published RFP, its log, the two whole-number parameters `low` and `high`, and the
    size of the latest signed head (which every range is checked against); ValueError with the
    message for a parameter that is not a whole number in range."""
    rfp = _published_rfp(slug)
    values = _int_param(request, low), _int_param(request, high)
    log = _log_of(rfp)
    return rfp, log, values, _latest_size(log)


def inclusion_json(request: HttpRequest, slug: str) -> HttpResponse:
    """?index=&size=: the inclusion proof of leaf `index` in the tree of `size` leaves (a
    size no larger than the latest signed head's)."""
    try:
        rfp, log, (index, size), signed = _ranged(request, slug, "index", "size")
    except ValueError as exc:
        return _bad(str(exc))
    if not index < size <= signed:
        return _bad(
            _("Need index < size <= %(signed)s, the size of the latest signed head.")
            % {"signed": signed}
        )
    leaf = LogLeaf.objects.get(log=log, index=index)
    return _json(
        {
            "rfp_slug": rfp.slug,
            "leaf_index": index,
            "tree_size": size,
            "leaf_hash": leaf.leaf_hash,
            "proof": transparency.inclusion_for(log, index, size),
        }
    )


def consistency_json(request: HttpRequest, slug: str) -> HttpResponse:
    """?first=&second=: the consistency proof between the trees of those sizes."""
    try:
        rfp, log, (first, second), signed = _ranged(request, slug, "first", "second")
    except ValueError as exc:
        return _bad(str(exc))
    if not first <= second <= signed:
        return _bad(
            _("Need first <= second <= %(signed)s, the size of the latest signed head.")
            % {"signed": signed}
        )
    proof = transparency.consistency_for(log, first, second) if log else []
    return _json({"rfp_slug": rfp.slug, "first": first, "second": second, "proof": proof})


def leaves_json(request: HttpRequest, slug: str) -> HttpResponse:
    """?start=&end=: the leaves start..end-1 (at most MAX_LEAVES_PER_REQUEST), each with its
    exact entry and leaf hash."""
    try:
        rfp, log, (start, end), signed = _ranged(request, slug, "start", "end")
    except ValueError as exc:
        return _bad(str(exc))
    limit = transparency.MAX_LEAVES_PER_REQUEST
    if not start <= end <= signed or end - start > limit:
        return _bad(
            _(
                "Need start <= end <= %(signed)s (the size of the latest signed head) and at "
                "most %(limit)s leaves a request."
            )
            % {"signed": signed, "limit": limit}
        )
    leaves = LogLeaf.objects.filter(log=log, index__gte=start, index__lt=end).order_by("index")
    return _json(
        {
            "format": transparency.LEAVES_FORMAT,
            "rfp_slug": rfp.slug,
            "start": start,
            "end": end,
            "tree_size": signed,
            "leaves": [transparency.leaf_json(leaf) for leaf in leaves],
        }
    )
