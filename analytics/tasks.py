"""Celery tasks of the analytics app (default queue)."""

from celery import shared_task

from .services import rollups_refresh_pending


@shared_task(name="analytics.tasks.refresh_rollups", ignore_result=True)
def refresh_rollups() -> int:
    """Bring the rollups up to date for every pending window, in one refresh; enqueued after each deferred
    batch commits and scheduled by beat as a safety net (see CELERY_BEAT_SCHEDULE)."""
    return rollups_refresh_pending()
