"""Celery entry points: take ids and primitive values, call a service, nothing else."""

import logging

from celery import shared_task
from django.conf import settings

from .services import TRANSIENT_ERRORS, job_execute, job_submit, jobs_reap

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="jobs.tasks.run_job",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    # Only errors that may pass are retried; job_execute has already put the job back to QUEUED and
    # caps the total runs with JOB_MAX_ATTEMPTS, so max_retries here is only a backstop.
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=settings.JOB_SOFT_TIME_LIMIT,
    time_limit=settings.JOB_HARD_TIME_LIMIT,
)
def run_job(self, job_id: int) -> None:
    # No heartbeat thread in-process (eager): the caller is waiting, and SQLite test databases are per thread.
    interval = None if self.request.is_eager else settings.JOB_HEARTBEAT_INTERVAL
    job_execute(job_id=job_id, heartbeat_interval=interval, retry_transient=True)


@shared_task(name="jobs.tasks.reap_jobs", ignore_result=True)
def reap_jobs() -> None:
    jobs_reap()


@shared_task(name="jobs.tasks.submit_scheduled_job", ignore_result=True)
def submit_scheduled_job(kind: str, params: dict | None = None, skip_if_active: bool = True) -> int | None:
    """What a PeriodicTask points at: submit a job of ``kind`` with ``params`` (JSON kwargs in the admin).

    With ``skip_if_active`` a new run is not submitted while one of the same kind is still queued or
    running, so a schedule shorter than the job does not pile runs up.
    """
    from .models import Job, JobStatus

    if skip_if_active and Job.objects.filter(kind=kind, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        logger.info("scheduled %s skipped: one is already queued or running", kind)
        return None
    job = job_submit(kind=kind, params=params or {})
    return job.pk
