"""Asking for a staff export: the checks, the Export row, its audit event, and queueing the render.

The render itself is evaluation.exports' work, done by the run_export task (evaluation.tasks).
The task is queued once the request commits; if the broker cannot be reached the export stays
"queued" (which it is) and the export sweeper queues it later (evaluation.tasks.sweep_exports).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from evaluation import tasks
from evaluation.models import Export
from proposals import rules as proposal_rules
from proposals.models import RFP
from rfp_portal import audit
from rfp_portal.audit import AuditAction
from rfp_portal.queueing import enqueue_on_commit


class ExportRefused(Exception):
    pass


@transaction.atomic
def request_export(*, rfp: RFP, kind: str, user, now: datetime, request=None) -> Export:
    if proposal_rules.is_sealed(rfp):
        raise ExportRefused(_("Proposals are sealed until the deadline; nothing can be exported."))
    if kind not in Export.Kind.values:
        raise ExportRefused(_("Unknown export."))
    export = Export.objects.create(rfp=rfp, kind=kind, requested_by=user, created_at=now)
    audit.record(
        action=AuditAction.EXPORT_REQUESTED,
        actor=user,
        obj=rfp,
        request=request,
        at=now,
        details={"export": export.pk, "kind": kind},
    )
    enqueue_on_commit(tasks.run_export, export.pk)
    return export
