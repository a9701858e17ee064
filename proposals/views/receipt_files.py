"""Signed receipts as files: the team's `.json` download and the public keys that sign them
(proposals.receipt_signing). /verify/, which also reads the file, is in public.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import cache_control

from proposals import receipt_signing, receipts, selectors, transparency
from proposals.models import ReceiptSignature


@login_required
def signed_receipt(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The signed receipt as a `.json` file (proposals.receipt_signing): the team's, like the
    receipt PDF. Versions submitted before receipts were signed have none (404). A receipt
    in the transparency log carries an `inclusion` object, made now: its leaf index and the
    proof against the latest signed head that contains it (proposals.transparency)."""
    version = selectors.team_version(request, pk, number)
    signature = ReceiptSignature.objects.filter(version=version).first()
    if signature is None:
        raise Http404
    response = HttpResponse(
        receipt_signing.receipt_file_bytes(
            signature, transparency.receipt_inclusion(signature, now=timezone.now())
        ),
        content_type="application/json",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{receipts.signed_receipt_name(version)}"'
    )
    response["Cache-Control"] = "private, no-store"
    return response


@cache_control(public=True, max_age=3600)
def receipt_keys(request: HttpRequest) -> HttpResponse:
    """The public keys that sign receipts (current and earlier), as JSON: public, cacheable."""
    return JsonResponse(receipt_signing.published_keys(), json_dumps_params={"indent": 2})


@cache_control(public=True, max_age=3600)
def receipt_key_pem(request: HttpRequest, key_id: str) -> HttpResponse:
    """One public key as PEM, for `openssl pkeyutl -verify -pubin -inkey`."""
    key = receipt_signing.public_keys().get(key_id)
    if key is None:
        raise Http404
    return HttpResponse(receipt_signing.public_pem(key), content_type="application/x-pem-file")
