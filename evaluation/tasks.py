"""Thin Celery tasks for the evaluation."""

from celery import shared_task
from django.utils import timezone

from evaluation import exports, ranking_snapshot, reminders
from rfp_portal import deadlines
from rfp_portal.queueing import enqueue


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=10,
    max_retries=3,
    soft_time_limit=900,
    time_limit=960,
)
def run_export(self, export_id: int) -> str:
    """Render an export; safe to run again after a crash (one file results)."""
    return exports.run(export_id).state


@shared_task(acks_late=True)
def sweep_exports() -> int:
    """Queue again the exports whose task could not be queued (requested while the broker was
    down): each then renders under run_export's time limits and retries."""
    stranded = exports.stranded_ids(now=timezone.now())
    for export_id in stranded:
        enqueue(run_export, export_id)
    return len(stranded)


@shared_task(acks_late=True)
def send_reminders(at: str | None = None) -> int:
    """Due deadline and review reminders; a duplicate run sends nothing more.

    `at` (ISO 8601 UTC) replays a sweep as of that moment; beat passes nothing.
    """
    now = deadlines.parse_utc_iso(at) if at else timezone.now()
    return reminders.send_all_due(now=now)


@shared_task(acks_late=True, soft_time_limit=900, time_limit=960)
def rebuild_ranking(rfp_id: int) -> int:
    """Rebuild the dashboard's read model of an RFP until it is as of its latest change (one in
    flight per RFP: evaluation.ranking_updates claims it); the number of builds it took."""
    return ranking_snapshot.rebuild(rfp_id)
