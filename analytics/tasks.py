"""Celery tasks of the analytics app (default queue)."""

from celery import shared_task

from .services import rollups_refresh_pending, rollups_refresh_started


@shared_task(name="analytics.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Bring the rollups up to date for every pending window, in one refresh; enqueued after each deferred
    batch commits (at most one waits in the queue at a time) and scheduled by beat as a safety net (see
    CELERY_BEAT_SCHEDULE)."""
    rollups_refresh_started()
    return rollups_refresh_pending()
