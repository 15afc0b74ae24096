"""Celery entry points of campaigns: take ids, call a service."""

from celery import shared_task

from .measuring import results_compute


@shared_task(name="campaigns.tasks.compute_results", ignore_result=True, acks_late=True)
def compute_results(campaign_id: int) -> None:
    """Recompute one campaign's results (queued, coalesced, by services.results_request)."""
    results_compute(campaign_id=campaign_id)
