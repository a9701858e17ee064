"""Thin Celery tasks for the evaluation."""

from celery import shared_task

from evaluation import exports


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
