"""The reaper after faults (issue 16): a killed segmentation's run is marked FAILED and its rows dropped;
a QUEUED job whose message the broker lost (Redis restarted without its data) is published again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone

from jobs.models import Job, JobStatus
from jobs.services import jobs_reap
from segments.models import RunStatus, Segment, SegmentationRun


def _job(status: str, *, beat_ago: float = 0) -> Job:
    now = timezone.now()
    return Job.objects.create(kind="segments.run", params={}, status=status, attempts=1, started_at=now,
                              queued_at=now, heartbeat_at=now - timedelta(seconds=beat_ago))


def _building_run(job: Job) -> SegmentationRun:
    run = SegmentationRun.objects.create(job=job, algorithm="kmeans", as_of=date(2024, 5, 1), customers=3, k=1)
    Segment.objects.create(run=run, cluster=0, label="Loyal", size=3, recency=1, frequency=2, monetary=3, r_score=3,
                           f_score=3, m_score=3, revenue_share=1)
    return run


@pytest.mark.django_db
def test_a_killed_segmentation_marks_its_run_failed_and_drops_its_rows(settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    settings.JOB_MAX_ATTEMPTS = 1
    killed = _building_run(_job(JobStatus.RUNNING, beat_ago=120))  # its worker died two minutes ago
    alive = _building_run(_job(JobStatus.RUNNING, beat_ago=1))  # still writing
    report = jobs_reap()
    assert report.failed == [killed.job_id]
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED and killed.finished_at is not None
    assert not Segment.objects.filter(run=killed).exists()
    assert SegmentationRun.objects.get(pk=alive.pk).status == RunStatus.BUILDING
    assert Segment.objects.filter(run=alive).count() == 1


@pytest.mark.django_db
def test_a_requeued_segmentation_leaves_no_building_run_behind(settings, django_capture_on_commit_callbacks):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    run = _building_run(_job(JobStatus.RUNNING, beat_ago=120))
    with django_capture_on_commit_callbacks(execute=False):
        assert jobs_reap().requeued == [run.job_id]
    assert SegmentationRun.objects.get(pk=run.pk).status == RunStatus.FAILED


@pytest.mark.requires_redis
@pytest.mark.django_db(transaction=True)
def test_a_queued_job_lost_by_the_broker_is_published_again(broker_mode, settings):
    from jobs.services import job_submit

    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.flushdb()
    job = job_submit(kind="jobs.selfcheck", params={"steps": 1})
    assert client.llen("ml") == 1
    settings.JOB_REPUBLISH_AFTER = 0
    assert jobs_reap().republished == []  # its message is still queued
    client.flushdb()  # what a Redis restart without persistence does
    assert jobs_reap().republished == [job.pk]
    assert client.llen("ml") == 1 and Job.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert jobs_reap().republished == []  # published (and marked) once
    client.flushdb()
