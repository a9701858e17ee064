"""Keeping the dashboard's read model (evaluation.ranking_snapshot) up to date: a change the
ranking depends on bumps its RFP's snapshot version in the writer's transaction and, once that
commits, claims and queues one rebuild (evaluation.tasks.rebuild_ranking); see
evaluation/ranking_snapshot.py for the whole protocol. The receivers (evaluation/receivers.py)
call `changed` / `changed_where`; the dashboard view calls `request_rebuild` when it shows a
stale snapshot (in case the queued rebuild was lost).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from evaluation import tasks
from evaluation.models import RankingSnapshot
from proposals.models import Proposal
from rfp_portal.queueing import enqueue


def changed(rfp_ids) -> None:
    """The ranking of these RFPs changed: bump their versions now (in the caller's transaction)
    and queue a rebuild once it commits. Nothing when an RFP has no snapshot yet (its first view
    builds one)."""
    ids = sorted({int(i) for i in rfp_ids if i is not None})
    if not ids:
        return
    bumped = RankingSnapshot.objects.filter(rfp_id__in=ids).update(version=F("version") + 1)
    if bumped:
        transaction.on_commit(lambda: request_rebuild(ids))


def changed_where(**lookups) -> None:
    """`changed` for the RFPs of the proposals matching `lookups` (the receivers name a review,
    an assignment or a proposal without loading the chain up to the RFP)."""
    changed(Proposal.objects.filter(**lookups).values_list("rfp_id", flat=True).distinct())


# A claimed rebuild that has not finished after this long is taken to have died (a worker lost):
# the next change or view claims it again.
STUCK_AFTER = timedelta(minutes=10)


def request_rebuild(rfp_ids, *, now: datetime | None = None) -> list[int]:
    """Claim and queue a rebuild for each stale RFP with none in flight; the ids queued."""
    now = now or timezone.now()
    queued = []
    for rfp_id in sorted(set(rfp_ids)):
        claimed = (
            RankingSnapshot.objects.filter(rfp_id=rfp_id, version__gt=F("built_version"))
            .filter(Q(rebuilding_since__isnull=True) | Q(rebuilding_since__lt=now - STUCK_AFTER))
            .update(rebuilding_since=now)
        )
        if claimed:
            enqueue(tasks.rebuild_ranking, rfp_id)
            queued.append(rfp_id)
    return queued
