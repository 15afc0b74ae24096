"""Rollup refreshes after ingestEvents (issue 16): coalesced to one queued task, published with a short
broker timeout so that a down or hung Redis never holds a request up, and beat's entries keep their expiry.
Real Redis (the configured one, and a private redis-server for the hung case); no worker."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from django.conf import settings

from analytics.models import PendingRefresh
from analytics.tasks import refresh_rollups
from behavior.services import events_ingest
from config.celery import app as celery_app
from jobs.broker import clear_flags
from jobs.error_codes import JobFailureCode
from jobs.models import Job, JobStatus
from jobs.services import JobBrokerUnavailable, job_submit
from tests import factories
from tests.faults import PrivateRedis

pytestmark = [pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]


def _event(i: int) -> dict:
    return {"event_id": f"c{i}", "product_sku": "COAL-1", "kind": "purchase", "unit_price": "2.00",
            "occurred_at": f"2024-05-{1 + i % 28:02d}T10:00:00Z"}


@pytest.fixture
def queue(broker_mode):
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("default", "reaper", "ml")
    clear_flags()
    factories.product("COAL-1")
    yield client
    client.delete("default", "reaper", "ml")


def test_many_batches_queue_one_refresh_task_until_it_starts(queue):
    for i in range(20):
        assert events_ingest(events=[_event(i)]).stored == 1
    assert PendingRefresh.objects.count() == 20
    assert queue.llen("default") == 1  # one task drains all twenty windows
    # the task, as a worker runs it: it releases the flag first, then drains every pending window
    assert refresh_rollups() == 20
    assert not PendingRefresh.objects.exists()
    events_ingest(events=[_event(99)])
    assert queue.llen("default") == 2  # a batch after the task started needs (and gets) a new one


@pytest.fixture
def hung_broker(queue):
    """A private redis-server, stopped with SIGSTOP (it accepts connections but never answers), as the broker."""
    server = PrivateRedis()
    server.start()
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = server.url
    os.kill(server.proc.pid, signal.SIGSTOP)
    yield server.url
    celery_app.conf.broker_url = saved
    os.kill(server.proc.pid, signal.SIGCONT)
    server.stop()


def test_a_hung_broker_does_not_hold_up_ingest_or_submit(hung_broker):
    started = time.monotonic()
    assert events_ingest(events=[_event(1)]).stored == 1
    ingest_seconds = time.monotonic() - started
    assert PendingRefresh.objects.count() == 1  # left pending: beat's periodic refresh drains it
    started = time.monotonic()
    with pytest.raises(JobBrokerUnavailable):
        job_submit(kind="jobs.selfcheck", params={"steps": 1})
    submit_seconds = time.monotonic() - started
    job = Job.objects.get()
    assert (job.status, job.error_code) == (JobStatus.FAILED, JobFailureCode.BROKER_UNAVAILABLE)
    # Bounded by CELERY_PUBLISH_TIMEOUT (0.5 s per try), far from the 10 s socket timeout they took before.
    assert ingest_seconds < 4 and submit_seconds < 4, (ingest_seconds, submit_seconds)


def test_beat_entries_keep_their_expiry_and_the_reaper_has_its_own_queue():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    DatabaseScheduler(app=celery_app, lazy=True).setup_schedule()
    reaper = PeriodicTask.objects.get(task="jobs.tasks.reap_jobs")
    refresh = PeriodicTask.objects.get(task="analytics.tasks.refresh_rollups")
    assert (reaper.queue, reaper.expire_seconds) == ("reaper", settings.JOB_REAP_INTERVAL)
    assert (refresh.queue, refresh.expire_seconds) == ("default", 60)
    assert celery_app.amqp.router.route({}, "jobs.tasks.reap_jobs")["queue"].name == "reaper"
