"""Receipts: the stored receipt PDF, and public verification.

The receipt PDF is rendered once, by a worker right after the submit commits (the submit queues
proposals.tasks.render_receipt, which calls store_receipt_pdf), and stored through the default
storage; the download view serves the stored file (rendering it then if the worker has not yet,
e.g. while the broker is down). Its content is the version as issued, so one file
per version is the truth.

Verification answers whether a code (and optionally a file) matches a timely submission, the
RFP's title and the receipt time: never the proposal or the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse

from proposals import pdf_check, receipt_signing
from proposals.models import Proposal, ReceiptSignature, SubmissionVersion
from rfp_portal import deadlines
from rfp_portal.pdf_rendering import render_pdf


def receipt_pdf_name(version: SubmissionVersion) -> str:
    return f"receipts/{version.proposal.rfp.slug}/receipt-{version.receipt_code}.pdf"


def signed_receipt_name(version: SubmissionVersion) -> str:
    """The signed receipt's file name, as downloaded and as embedded in the receipt PDF."""
    return f"receipt-{version.receipt_code}.json"


def render_receipt_pdf(version: SubmissionVersion) -> bytes:
    """The receipt PDF; it carries the signed receipt (.json) as an embedded file, without the
    log's inclusion proof (which the download adds once a signed head contains it)."""
    # The signed receipt (proposals.receipt_signing); none for versions made before it.
    signature = ReceiptSignature.objects.filter(version=version).first()
    attachments = []
    if signature is not None:
        attachments.append(
            (
                signed_receipt_name(version),
                receipt_signing.receipt_file_bytes(signature),
                "Signed receipt (Ed25519): check it with the portal's public key",
            )
        )
    return render_pdf(
        "proposals/receipt_pdf.html",
        {
            "version": version,
            "proposal": version.proposal,
            "rfp": version.proposal.rfp,
            "received_aoe": deadlines.format_in_zone(version.received_at, "AoE").text,
            "received_utc": deadlines.format_in_zone(version.received_at, "UTC").text,
            "verify_url": verify_url(),
            "signature": signature,
            "signed_receipt_name": signed_receipt_name(version),
            "keys_url": receipt_signing.keys_url(),
        },
        attachments=attachments,
    )


def verify_url() -> str:
    """The public verification page's absolute address, as printed on receipts."""
    return settings.SITE_URL + reverse("verify_receipt")


def store_receipt_pdf(version_id: int) -> str:
    """Render and store the version's receipt PDF unless it is stored; returns its name.

    Idempotent and safe to run twice at once: the version row is locked (not changed) while the
    file is written, so one file results.
    """
    version = SubmissionVersion.objects.select_related("proposal__rfp").get(pk=version_id)
    name = receipt_pdf_name(version)
    if default_storage.exists(name):
        return name
    data = render_receipt_pdf(version)
    with transaction.atomic():
        SubmissionVersion.objects.select_for_update().filter(pk=version.pk).exists()
        if not default_storage.exists(name):
            saved = default_storage.save(name, ContentFile(data))
            if saved != name:  # the storage renamed it: never serve a second copy
                default_storage.delete(saved)
                raise RuntimeError(f"receipt stored under an unexpected name: {saved}")
    return name


@dataclass(frozen=True)
class Verification:
    found: bool
    rfp_title: str = ""
    received_at: datetime | None = None
    on_time: bool = False
    file_checked: bool = False
    file_matches: bool = False
    withdrawn: bool = False
    # The zone the RFP's deadline is written in (AoE unless staff chose another).
    deadline_zone: str = deadlines.AOE_ZONE_NAME

    @property
    def received_views(self) -> list[deadlines.ZonedTime]:
        """When it was received, for people: in UTC, and in the deadline's zone, so that it can
        be read against the deadline as the RFP states it."""
        if self.received_at is None:
            return []
        zones = [deadlines.UTC_ZONE_NAME]
        if deadlines.is_valid_zone(self.deadline_zone):
            zones.append(deadlines.canonical_zone_name(self.deadline_zone))
        return [deadlines.format_in_zone(self.received_at, zone) for zone in dict.fromkeys(zones)]


def verify(
    code: str, document: IO[bytes] | None = None, *, document_sha256: str | None = None
) -> Verification:
    """What /verify/ may say about a receipt code; with a document (or its SHA-256, as the
    page computes it while the upload streams), whether it is exactly the file received."""
    version = (
        SubmissionVersion.objects.select_related("proposal__rfp")
        .filter(receipt_code=code.strip().upper())
        .first()
    )
    if version is None:
        return Verification(found=False)
    rfp = version.proposal.rfp
    result = {
        "found": True,
        "rfp_title": rfp.title,
        "received_at": version.received_at,
        "on_time": deadlines.is_before_deadline(
            version.received_at, rfp.deadline_instant, rfp.grace_seconds
        ),
        "withdrawn": version.proposal.state == Proposal.State.WITHDRAWN,
        "deadline_zone": rfp.deadline_zone,
    }
    if document is not None:
        document_sha256 = pdf_check.sha256_of(document)
    if document_sha256 is not None:
        result["file_checked"] = True
        result["file_matches"] = document_sha256 == version.document_sha256
    return Verification(**result)
