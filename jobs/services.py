"""Submitting, executing, cancelling and reaping jobs. The Celery tasks and the GraphQL layer only call these.

A job's life: ``job_submit`` records it QUEUED and publishes its id once the transaction commits;
``job_execute`` claims it QUEUED -> RUNNING in one conditional UPDATE (so a duplicate or re-delivered
message finds nothing to claim), runs the kind and records how it ended. Each claim increments
``attempts``, which doubles as the run's token: progress, heartbeats and the final write of a run only
touch the row while it still holds that token, so a run the reaper has given up on cannot overwrite
its successor. ``jobs_reap`` finds RUNNING jobs whose heartbeat stopped (the worker died) and re-queues
them, or fails them once they have used ``JOB_MAX_ATTEMPTS``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .error_codes import JobFailureCode
from .models import Job, JobStatus
from .registry import (JobCancelled, JobContext, JobFailed, JobParamsError, JobTransientError, get_kind,
                       reap_callbacks)

logger = logging.getLogger(__name__)

# Errors that may pass: the run is released back to QUEUED and Celery retries it with backoff.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (JobTransientError, OperationalError, InterfaceError)


def job_setting(name: str) -> Any:
    defaults = {
        "JOB_MAX_ATTEMPTS": 3,
        "JOB_HEARTBEAT_INTERVAL": 30,
        "JOB_HEARTBEAT_TIMEOUT": 300,
        "JOB_QUEUED_TIMEOUT": 24 * 3600,
        "JOB_REPUBLISH_AFTER": 120,
        "JOB_STATE_WRITE_SECONDS": 60,
    }
    return getattr(settings, name, defaults[name])


class UnknownJobKind(JobParamsError):
    def __init__(self, kind: str):
        super().__init__("kind", f"unknown job kind '{kind}'")


class JobBrokerUnavailable(Exception):
    """The job could not be published; it has been marked FAILED so it never waits forever."""

    def __init__(self, job: Job):
        super().__init__(f"job {job.pk} could not be queued: the broker is unavailable")
        self.job = job


class JobNotFound(Exception):
    pass


class JobAlreadyFinished(Exception):
    def __init__(self, job: Job):
        super().__init__(f"job {job.pk} has already finished ({job.status})")
        self.job = job


class _Superseded(Exception):
    """This run no longer holds the job (the reaper re-queued or failed it): stop without writing."""


# --- submit ----------------------------------------------------------------------------------------


def job_submit(*, kind: str, params: dict[str, Any] | None = None, user=None) -> Job:
    """Validate the parameters, record the job and enqueue it once the transaction commits.

    Raises UnknownJobKind / JobParamsError for bad input, and JobBrokerUnavailable when the job
    could not be published (only detectable here when no outer transaction delays the publish;
    otherwise the job is marked FAILED when the outer transaction commits).
    """
    job_kind = get_kind(kind)
    if job_kind is None:
        raise UnknownJobKind(kind)
    cleaned = job_kind.clean_params(params)
    # A person (a user row); an API key's principal has none, its job is owned by nobody.
    submitted_by = user if user is not None and user.is_authenticated and user.pk is not None else None
    with transaction.atomic():
        job = Job.objects.create(kind=kind, params=cleaned, submitted_by=submitted_by, queued_at=timezone.now())
        transaction.on_commit(partial(job_enqueue, job_id=job.pk))
    job.refresh_from_db()
    if job.status == JobStatus.FAILED and job.error_code == JobFailureCode.BROKER_UNAVAILABLE:
        raise JobBrokerUnavailable(job)
    return job


def job_enqueue(*, job_id: int, fail_if_unpublished: bool = True) -> bool:
    """Publish the job's id to its queue and mark it published (jobs.broker.mark: the reaper re-publishes
    a QUEUED job whose mark the broker lost). On failure the job is marked FAILED, never left QUEUED,
    unless ``fail_if_unpublished`` is False (the reaper's re-publish: the job stays QUEUED for the next)."""
    from .broker import mark, publish
    from .tasks import run_job

    try:
        # A connection per publish with a short timeout (jobs.broker): a broker that went away or hangs is
        # noticed at once. Time limits None: the worker applies its own (JOB_*_TIME_LIMIT where the job runs).
        publish(run_job, args=[job_id], retry_policy=settings.JOB_PUBLISH_RETRY_POLICY, time_limit=None,
                soft_time_limit=None)
    except Exception as exc:  # noqa: BLE001 - whatever the cause, the job was not queued
        logger.warning("job %s could not be published: %r", job_id, exc)
        if fail_if_unpublished:
            Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
                status=JobStatus.FAILED,
                finished_at=timezone.now(),
                error_code=JobFailureCode.BROKER_UNAVAILABLE,
                error_message="The job queue is unavailable; the job was not started. Try again later.",
            )
        return False
    try:
        mark(_published_mark(job_id), job_setting("JOB_QUEUED_TIMEOUT"))
    except Exception as exc:  # noqa: BLE001 - without the mark the reaper may publish it again: harmless
        logger.warning("job %s published but not marked: %r", job_id, exc)
    return True


def _published_mark(job_id: int) -> str:
    return f"job-published:{job_id}"


# --- execute ---------------------------------------------------------------------------------------


def _run_filter(job_id: int, attempt: int):
    return Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt)


def _report(job_id: int, attempt: int):
    def report(fraction: float, message: str) -> None:
        updated = _run_filter(job_id, attempt).update(
            progress=fraction, message=message[:500], heartbeat_at=timezone.now()
        )
        if not updated:
            raise _Superseded()
        if Job.objects.filter(pk=job_id, cancel_requested=True).exists():
            raise JobCancelled()

    return report


class _Heartbeat:
    """Beats in a thread while the run is alive, so a long step without progress is not taken for dead."""

    def __init__(self, job_id: int, attempt: int, interval: float):
        self.job_id, self.attempt, self.interval = job_id, attempt, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"job-{job_id}-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            while not self.stop.wait(self.interval):
                try:
                    _run_filter(self.job_id, self.attempt).update(heartbeat_at=timezone.now())
                except Exception:  # noqa: BLE001 - a missed beat is not fatal; the next one may succeed
                    logger.warning("heartbeat for job %s failed", self.job_id, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def job_execute(
    *, job_id: int, heartbeat_interval: float | None = None, retry_transient: bool = False
) -> Job | None:
    """Run a queued job to its end. Safe to call twice: a job that is not QUEUED is left alone (None).

    ``heartbeat_interval`` starts a heartbeat thread (the worker uses it; not for SQLite in-memory tests).
    ``retry_transient``: on a transient error put the job back to QUEUED and re-raise it for Celery to
    retry with backoff; otherwise (or once JOB_MAX_ATTEMPTS is used) the job fails.
    """
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return None
    job = Job.objects.get(pk=job_id)
    attempt = job.attempts
    finish = partial(_finish, job.pk, attempt)
    job_kind = get_kind(job.kind)
    beat = _Heartbeat(job.pk, attempt, heartbeat_interval) if heartbeat_interval else None
    try:
        if beat:
            beat.__enter__()
        if job_kind is None:
            raise JobFailed(JobFailureCode.UNKNOWN_KIND, f"unknown job kind '{job.kind}'")
        if job.cancel_requested:
            raise JobCancelled()
        result = job_kind.run(JobContext(job_id=job.pk, params=job.params, report=_report(job.pk, attempt)))
    except _Superseded:
        logger.warning("job %s attempt %s was superseded; stopping", job.pk, attempt)
    except JobCancelled:
        finish(status=JobStatus.CANCELLED, message="cancelled")
    except JobFailed as exc:
        finish(status=JobStatus.FAILED, error_code=exc.code, error_message=exc.message)
    except SoftTimeLimitExceeded:
        finish(status=JobStatus.FAILED, error_code=JobFailureCode.TIME_LIMIT,
               error_message=f"The job ran longer than its time limit ({settings.JOB_SOFT_TIME_LIMIT} s).")
    except TRANSIENT_ERRORS as exc:
        if retry_transient and attempt < job_setting("JOB_MAX_ATTEMPTS"):
            logger.warning("job %s attempt %s hit a transient error %r; re-queued", job.pk, attempt, exc)
            _write_state(lambda: _run_filter(job.pk, attempt).update(
                status=JobStatus.QUEUED, queued_at=timezone.now(), message=f"retrying after {type(exc).__name__}"
            ), f"job {job.pk} re-queued")
            raise
        logger.exception("job %s (%s) failed after %s attempts", job.pk, job.kind, attempt)
        finish(status=JobStatus.FAILED, error_code=JobFailureCode.TRANSIENT_ERROR, error_message=_describe(exc))
    except Exception as exc:  # noqa: BLE001 - the job row must never stay RUNNING
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        finish(status=JobStatus.FAILED, error_code=JobFailureCode.INTERNAL_ERROR, error_message=type(exc).__name__)
    else:
        finish(
            status=JobStatus.SUCCEEDED,
            progress=1.0,
            message=result.message,
            result_type=result.result_type,
            result_id=result.result_id,
            result_code=result.result_code,
        )
    finally:
        if beat:
            beat.__exit__(None, None, None)
    return Job.objects.get(pk=job.pk)


def _write_state(write: Any, what: str) -> None:
    """A job-state write that must land even when the database connection just broke (the error that
    ended the run may be that very break): on failure the connection is closed and the write is tried
    again on a fresh one, for up to JOB_STATE_WRITE_SECONDS. If the database stays away the job is left
    RUNNING without heartbeats, and the reaper takes it for dead later."""
    deadline = time.monotonic() + job_setting("JOB_STATE_WRITE_SECONDS")
    pause = 0.2
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + pause > deadline:
                logger.error("job state (%s) could not be written: %r", what, exc)
                raise
            logger.warning("job state (%s) not written (%r); retrying on a fresh connection", what, exc)
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _describe(exc: BaseException) -> str:
    # JobTransientError messages are written for people; database errors may carry internals.
    return str(exc) if isinstance(exc, JobTransientError) else type(exc).__name__


def _finish(job_id: int, attempt: int, *, status: str, **fields: Any) -> None:
    _write_state(lambda: _run_filter(job_id, attempt).update(status=status, finished_at=timezone.now(), **fields),
                 f"job {job_id} {status}")


# --- cancel ----------------------------------------------------------------------------------------


def job_cancel(*, job_id: int) -> Job:
    """Cancel a job: a QUEUED one at once, a RUNNING one at its next progress report."""
    now = timezone.now()
    if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=now, message="cancelled before it started"
    ):
        return Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(cancel_requested=True)
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise JobNotFound(job_id)
    if job.is_finished and job.status != JobStatus.CANCELLED:  # cancelling twice is harmless
        raise JobAlreadyFinished(job)
    return job


# --- reap ------------------------------------------------------------------------------------------


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    republished: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"requeued {self.requeued}, failed {self.failed}, cancelled {self.cancelled}, "
                f"expired (never started) {self.expired}, re-published (lost by the broker) {self.republished}")


def jobs_reap(*, heartbeat_timeout: float | None = None) -> ReapReport:
    """Recover jobs whose worker died: RUNNING without a heartbeat for JOB_HEARTBEAT_TIMEOUT seconds is
    re-queued (or failed with WORKER_LOST after JOB_MAX_ATTEMPTS, or cancelled if that was asked);
    QUEUED for longer than JOB_QUEUED_TIMEOUT fails with NOT_STARTED. Safe to run anywhere, any time
    with the default timeout; ``heartbeat_timeout=0`` takes every RUNNING job for dead (embedded restart)."""
    now = timezone.now()
    report = ReapReport()
    if heartbeat_timeout is None:
        heartbeat_timeout = job_setting("JOB_HEARTBEAT_TIMEOUT")
    stale_before = now - timedelta(seconds=heartbeat_timeout)
    max_attempts = job_setting("JOB_MAX_ATTEMPTS")
    stale = Job.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, started_at__lt=stale_before)
    )
    # A run started longer ago than the hard time limit was killed by it (or is past it): no re-run.
    killed_by_limit_before = now - timedelta(seconds=settings.JOB_HARD_TIME_LIMIT)
    for job in stale.only("id", "attempts", "cancel_requested", "started_at"):
        # Conditional on the same attempt: a run that beat again meanwhile, or another reaper, wins.
        same_run = Job.objects.filter(
            Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True),
            pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts,
        )
        if job.cancel_requested:
            if same_run.update(status=JobStatus.CANCELLED, finished_at=now, message="cancelled (worker lost)"):
                report.cancelled.append(job.pk)
        elif job.started_at and job.started_at < killed_by_limit_before:
            if same_run.update(
                status=JobStatus.FAILED, finished_at=now, error_code=JobFailureCode.TIME_LIMIT,
                error_message=f"The job ran longer than its hard time limit ({settings.JOB_HARD_TIME_LIMIT} s).",
            ):
                report.failed.append(job.pk)
        elif job.attempts >= max_attempts:
            if same_run.update(
                status=JobStatus.FAILED, finished_at=now, error_code=JobFailureCode.WORKER_LOST,
                error_message=f"The worker running this job stopped responding ({job.attempts} attempts).",
            ):
                report.failed.append(job.pk)
        else:
            with transaction.atomic():
                if same_run.update(status=JobStatus.QUEUED, queued_at=now, progress=0.0,
                                   message="re-queued: the worker running it stopped responding"):
                    transaction.on_commit(partial(job_enqueue, job_id=job.pk))
                    report.requeued.append(job.pk)
    report.republished = _republish_lost(now)
    expired_before = now - timedelta(seconds=job_setting("JOB_QUEUED_TIMEOUT"))
    for job_id in list(Job.objects.filter(status=JobStatus.QUEUED, queued_at__lt=expired_before)
                       .values_list("id", flat=True)):
        if Job.objects.filter(pk=job_id, status=JobStatus.QUEUED, queued_at__lt=expired_before).update(
            status=JobStatus.FAILED, finished_at=now, error_code=JobFailureCode.NOT_STARTED,
            error_message="No worker started this job in time.",
        ):
            report.expired.append(job_id)
    for callback in reap_callbacks():
        callback()
    if report.requeued or report.failed or report.cancelled or report.expired or report.republished:
        logger.warning("jobs reaped: %s", report)
    return report


def _republish_lost(now) -> list[int]:
    """QUEUED jobs older than JOB_REPUBLISH_AFTER whose published mark is gone (the broker restarted
    without its data, and the queued message with it) are published again. A duplicate message is
    harmless: the second one finds the job no longer QUEUED."""
    from .broker import marked

    before = now - timedelta(seconds=job_setting("JOB_REPUBLISH_AFTER"))
    waiting = list(Job.objects.filter(status=JobStatus.QUEUED, queued_at__lt=before).values_list("id", flat=True)
                   .order_by("id")[:1000])
    if not waiting:
        return []
    try:
        present = marked([_published_mark(job_id) for job_id in waiting])
    except Exception as exc:  # noqa: BLE001 - the broker is away: nothing can be published now anyway
        logger.warning("could not check the broker for lost jobs: %r", exc)
        return []
    return [job_id for job_id in waiting
            if _published_mark(job_id) not in present and job_enqueue(job_id=job_id, fail_if_unpublished=False)]
