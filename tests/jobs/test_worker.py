"""A real Celery worker over Redis and PostgreSQL runs, cancels, times out and recovers jobs.

Waits are generous (other work may share the CPU); what is asserted tightly is what the system
guarantees: a dead run is re-queued within the heartbeat timeout plus the reaper's next pass.

The worker is `celery -A config worker -Q reaper,ml,default -c 1 --pool=prefork` on the test database (see
tests/jobs/workers.py); the jobs are the diagnostic kind jobs.selfcheck, which the worker can import.
Every wait is bounded.
"""

import os
import signal
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
    raise AssertionError(f"timed out after {timeout} s waiting for {what}: {list(Job.objects.values())}")


def snapshot(job_id: int) -> Job:
    return Job.objects.get(pk=job_id)


def finished(job_id: int, timeout: float) -> Job:
    return wait_for(lambda: (j := snapshot(job_id)).is_finished and j, timeout, "the job to finish")


def selfcheck(steps: int, step_seconds: float) -> Job:
    job = job_submit(kind="jobs.selfcheck", params={"steps": steps, "step_seconds": step_seconds})
    assert job.status == JobStatus.QUEUED
    return job


def test_submit_runs_with_progress_to_success(shared_celery_worker):
    job = selfcheck(6, 0.25)
    running = wait_for(lambda: (j := snapshot(job.pk)).status == JobStatus.RUNNING and 0 < j.progress < 1 and j,
                       20, "RUNNING with partial progress")
    assert running.message.startswith("step ")
    done = finished(job.pk, 30)
    assert (done.status, done.progress, done.attempts, done.error_code) == (JobStatus.SUCCEEDED, 1.0, 1, "")
    # it ran in the worker's pool process, not here
    assert f"pid {shared_celery_worker.pool_pids()[0]}" in done.message
    assert done.started_at < done.heartbeat_at <= done.finished_at


def test_cancel_a_running_job(shared_celery_worker):
    job = selfcheck(100, 0.1)
    wait_for(lambda: snapshot(job.pk).progress > 0, 20, "progress")
    job_cancel(job_id=job.pk)
    cancelled = finished(job.pk, 10)
    assert (cancelled.status, cancelled.message, cancelled.error_code) == (JobStatus.CANCELLED, "cancelled", "")
    assert 0 < cancelled.progress < 0.5


def test_the_soft_time_limit_fails_the_job_with_time_limit(shared_celery_worker):
    job = selfcheck(40, 0.25)  # 10 s of work; the shared worker's soft limit is 6 s
    done = finished(job.pk, 30)
    assert (done.status, done.error_code, done.error_message) == (
        JobStatus.FAILED, "TIME_LIMIT", "The job ran longer than its time limit (6 s).")
    assert 0 < done.progress < 1


def test_a_killed_pool_process_is_redelivered_harmlessly_and_the_job_rerun(shared_celery_worker, settings):
    # given a job running in the worker's pool process
    settings.JOB_HEARTBEAT_TIMEOUT = 1.5
    worker = shared_celery_worker
    job = selfcheck(8, 0.2)
    wait_for(lambda: snapshot(job.pk).progress >= 0.25, 20, "progress")
    # when only that process dies, Celery hands the message back and a new pool process gets it
    (pool_pid,) = worker.pool_pids()
    os.kill(pool_pid, signal.SIGKILL)
    wait_for(lambda: (pids := worker.pool_pids()) and pids != [pool_pid], 20, "a new pool process")
    # then the re-delivered message does not start a second run over the first...
    time.sleep(0.5)
    assert (snapshot(job.pk).status, snapshot(job.pk).attempts) == (JobStatus.RUNNING, 1)
    # ...and the reaper re-runs it once its heartbeat is stale
    assert wait_for(lambda: jobs_reap().requeued, 5, "the reaper") == [job.pk]
    done = finished(job.pk, 30)
    assert (done.status, done.attempts) == (JobStatus.SUCCEEDED, 2)
    assert f"pid {pool_pid}" not in done.message
