"""A worker killed outright (SIGKILL of the whole worker, like a lost machine): the job is re-run.

In its own module so no other worker (the shared one in test_worker.py) can take the job.
"""

import time

import pytest

from jobs.models import JobStatus
from jobs.services import jobs_reap
from tests.jobs.test_worker import finished, selfcheck, snapshot, wait_for

pytestmark = [pytest.mark.requires_worker, pytest.mark.django_db(transaction=True)]


def test_a_killed_worker_is_detected_and_the_job_rerun(celery_worker, settings):
    # given two workers (beating every 0.3 s) and a job running on one of them
    settings.JOB_HEARTBEAT_TIMEOUT = 1.5
    workers = [celery_worker(wait=False), celery_worker(wait=False)]
    for worker in workers:
        worker.wait_ready()
    job = selfcheck(8, 0.2)
    running = wait_for(lambda: (j := snapshot(job.pk)).progress >= 0.25 and j, 20, "progress")
    pid = int(running.message.rsplit("pid ", 1)[1])
    (doomed,) = [w for w in workers if pid in w.pool_pids()]
    # when that worker and its pool process die at once (SIGKILL, like a lost machine)
    doomed.kill()
    killed_at = time.monotonic()
    stuck = snapshot(job.pk)
    assert (stuck.status, stuck.attempts) == (JobStatus.RUNNING, 1)
    # then it is not re-queued while its heartbeat is fresh...
    assert jobs_reap().requeued == []
    # ...and once the heartbeat is stale (1.5 s) the reaper re-queues it...
    requeued = wait_for(lambda: jobs_reap().requeued, 5, "the reaper to notice the dead worker")
    assert requeued == [job.pk]
    assert time.monotonic() - killed_at < 1.5 + 2.0
    # ...and the other worker runs it to the end
    done = finished(job.pk, 30)
    assert (done.status, done.attempts, done.progress) == (JobStatus.SUCCEEDED, 2, 1.0)
    assert f"pid {pid}" not in done.message
