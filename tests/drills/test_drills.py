"""Fault drills (issue 16) with a real worker, real PostgreSQL and real Redis:

* the database goes away for a moment while a job runs (the worker's connections are terminated and
  new ones refused, as in a restart): the job is re-queued on a fresh connection and finishes, never
  left RUNNING;
* Redis restarts (without persistence) while a job waits in its queue: the reaper publishes it again
  and a worker runs it.

The worker SIGKILL drill is tests/jobs/test_worker_lost.py. The Redis drill runs a private
redis-server, so the shared one is never restarted.
"""

from __future__ import annotations

import time

import pytest
import redis
from django.db import connection

from config.celery import app as celery_app
from jobs.models import Job, JobStatus
from jobs.services import job_submit, jobs_reap
from tests.faults import PrivateRedis, maintenance_connection, terminate_other_sessions

pytestmark = [pytest.mark.requires_worker, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout: float, what: str, worker=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s" + (f"\n{worker.output()}" if worker else ""))


def _database_outage(seconds: float) -> None:
    """Refuse new connections to the test database and terminate every session on it but this test's own
    (the worker's), for ``seconds``."""
    name = connection.settings_dict["NAME"]
    with maintenance_connection() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            terminate_other_sessions(admin)
            time.sleep(seconds)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_database_outage_mid_job_requeues_it_and_it_finishes(celery_worker):
    worker = celery_worker()
    job = job_submit(kind="jobs.selfcheck", params={"steps": 30, "step_seconds": 0.2})
    _wait_for(lambda: Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING, progress__gt=0).exists(), 30,
              "the job did not start", worker)
    _database_outage(1.5)
    # Retried after Celery's backoff (retry_backoff 5 s, with jitter); the run takes 6 s.
    _wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 60, "the job did not finish", worker)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, (job.status, job.error_code, job.message, worker.output())
    assert job.attempts == 2


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    celery_app.conf.task_always_eager = False
    yield server
    celery_app.conf.broker_url = saved
    server.stop()


def test_redis_restart_loses_a_queued_job_and_the_reaper_publishes_it_again(private_redis, celery_worker, settings):
    job = job_submit(kind="jobs.selfcheck", params={"steps": 1, "step_seconds": 0})
    assert redis.Redis.from_url(private_redis.url).llen("ml") == 1
    private_redis.stop()  # a restart without persistence: the queue and the marks are gone
    private_redis.start()
    worker = celery_worker(REDIS_URL=private_redis.url, CELERY_BROKER_URL=private_redis.url)
    time.sleep(1)
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED  # nothing left in the broker to run
    settings.JOB_REPUBLISH_AFTER = 0
    assert jobs_reap().republished == [job.pk]
    _wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, 30, "the re-published job did not run", worker)
    assert Job.objects.get(pk=job.pk).status == JobStatus.SUCCEEDED
    assert jobs_reap().republished == []  # finished jobs are left alone
