"""Submitting and executing jobs. The Celery task and the GraphQL layer only call these."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Job, JobStatus
from .registry import JobCancelled, JobContext, JobFailed, JobParamsError, get_kind

logger = logging.getLogger(__name__)


class UnknownJobKind(JobParamsError):
    def __init__(self, kind: str):
        super().__init__("kind", f"unknown job kind '{kind}'")


def job_submit(*, kind: str, params: dict[str, Any] | None = None, user=None) -> Job:
    """Validate the parameters, record the job and enqueue it once the transaction commits."""
    job_kind = get_kind(kind)
    if job_kind is None:
        raise UnknownJobKind(kind)
    cleaned = job_kind.clean_params(params)
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=cleaned, submitted_by=user if user and user.is_authenticated else None)
        transaction.on_commit(lambda: _enqueue(job.pk))
    job.refresh_from_db()
    return job


def _enqueue(job_id: int) -> None:
    from .tasks import run_job

    run_job.delay(job_id)


def _report(job_id: int):
    def report(fraction: float, message: str) -> None:
        now = timezone.now()
        Job.objects.filter(pk=job_id).update(progress=fraction, message=message[:500], heartbeat_at=now)
        if Job.objects.filter(pk=job_id, cancel_requested=True).exists():
            raise JobCancelled()

    return report


def job_execute(*, job_id: int) -> Job | None:
    """Run a queued job to its end. Safe to call twice: a finished or running job is left alone."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    job_kind = get_kind(job.kind)
    try:
        if job_kind is None:
            raise JobFailed("UNKNOWN_KIND", f"unknown job kind '{job.kind}'")
        if job.cancel_requested:
            raise JobCancelled()
        result = job_kind.run(JobContext(job_id=job.pk, params=job.params, report=_report(job.pk)))
    except JobCancelled:
        _finish(job.pk, status=JobStatus.CANCELLED, message="cancelled")
    except JobFailed as exc:
        _finish(job.pk, status=JobStatus.FAILED, error_code=exc.code, error_message=exc.message)
    except Exception as exc:  # noqa: BLE001 - the job row must never stay RUNNING
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        _finish(job.pk, status=JobStatus.FAILED, error_code="INTERNAL_ERROR", error_message=type(exc).__name__)
    else:
        _finish(
            job.pk,
            status=JobStatus.SUCCEEDED,
            progress=1.0,
            message=result.message,
            result_type=result.result_type,
            result_id=result.result_id,
        )
    return Job.objects.get(pk=job.pk)


def _finish(job_id: int, *, status: str, **fields: Any) -> None:
    Job.objects.filter(pk=job_id).update(status=status, finished_at=timezone.now(), **fields)
