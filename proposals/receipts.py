"""Public receipt verification: does a code (and optionally a file) match a timely submission?

It answers only that, the RFP's title and the receipt time: never the proposal or the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import IO

from proposals import pdf
from proposals.models import SubmissionVersion
from rfp_portal import deadlines


@dataclass(frozen=True)
class Verification:
    found: bool
    rfp_title: str = ""
    received_at: datetime | None = None
    on_time: bool = False
    file_checked: bool = False
    file_matches: bool = False
    withdrawn: bool = False


def verify(code: str, document: IO[bytes] | None = None) -> Verification:
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
        "withdrawn": version.proposal.state == "withdrawn",
    }
    if document is not None:
        result["file_checked"] = True
        result["file_matches"] = pdf.sha256_of(document) == version.document_sha256
    return Verification(**result)
