"""A real Celery worker over Redis and PostgreSQL runs, cancels and recovers jobs.

Each test starts `celery -A config worker -Q ml,default -c 1 --pool=prefork` on the test database and
uses the diagnostic kind jobs.selfcheck (which the worker can import). Every wait is bounded.
"""

import time

import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_cancel, job_submit, jobs_reap

pytestmark = [pytest.mark.requires_worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}: {Job.objects.values().first()}")


def snapshot(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


def test_submit_runs_with_progress_to_success(celery_worker):
    worker = celery_worker()
    job = job_submit(kind="jobs.selfcheck", params={"steps": 6, "step_seconds": 0.25})
    assert job.status == JobStatus.QUEUED
    running = wait_for(lambda: (j := snapshot(job.pk)).status == JobStatus.RUNNING and 0 < j.progress < 1 and j,
                       10, "RUNNING with partial progress")
    assert running.message.startswith("step ")
    done = wait_for(lambda: (j := snapshot(job.pk)).is_finished and j, 10, "the end")
    assert (done.status, done.progress, done.attempts, done.error_code) == (JobStatus.SUCCEEDED, 1.0, 1, "")
    # it ran in the worker's pool process, not here
    assert "pid " in done.message and f"pid {worker.proc.pid}" not in done.message
    assert done.started_at < done.heartbeat_at <= done.finished_at


def test_cancel_a_running_job(celery_worker):
    celery_worker()
    job = job_submit(kind="jobs.selfcheck", params={"steps": 100, "step_seconds": 0.1})
    wait_for(lambda: snapshot(job.pk).progress > 0, 10, "progress")
    job_cancel(job_id=job.pk)
    cancelled = wait_for(lambda: (j := snapshot(job.pk)).is_finished and j, 5, "the cancel")
    assert (cancelled.status, cancelled.message, cancelled.error_code) == (JobStatus.CANCELLED, "cancelled", "")
    assert 0 < cancelled.progress < 0.5


def test_a_killed_worker_is_detected_and_the_job_rerun(celery_worker, settings):
    # given a job running on a worker that beats every 0.5 s
    settings.JOB_HEARTBEAT_TIMEOUT = 2
    worker = celery_worker()
    job = job_submit(kind="jobs.selfcheck", params={"steps": 12, "step_seconds": 0.25})
    wait_for(lambda: snapshot(job.pk).progress >= 0.25, 10, "progress")
    # when the worker and its pool process die at once (SIGKILL, like a lost machine)
    worker.kill()
    killed_at = time.monotonic()
    stuck = snapshot(job.pk)
    assert (stuck.status, stuck.attempts) == (JobStatus.RUNNING, 1)
    # then it is not re-queued while its heartbeat is fresh...
    assert jobs_reap().requeued == []
    # ...and once the heartbeat is stale the reaper re-queues it, and a new worker runs it to the end
    celery_worker()
    requeued = wait_for(lambda: jobs_reap().requeued, 5, "the reaper to notice the dead worker")
    assert requeued == [job.pk]
    done = wait_for(lambda: (j := snapshot(job.pk)).is_finished and j, 15, "the re-run")
    assert (done.status, done.attempts, done.progress) == (JobStatus.SUCCEEDED, 2, 1.0)
    assert time.monotonic() - killed_at < 25
