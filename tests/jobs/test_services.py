"""Executing, cancelling, retrying and reaping jobs in-process, with the test kind tests.publish."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from jobs.models import Job, JobStatus
from jobs.services import job_cancel, job_execute, job_submit, jobs_reap
from jobs.tasks import run_job
from tests.jobs.conftest import HOOKS, transient_then

pytestmark = pytest.mark.django_db


def submit(**params) -> Job:
    return job_submit(kind="tests.publish", params=params)


def test_success_records_progress_result_and_puts_the_result_in_service(publish_kind):
    job = submit(version=2, steps=3)
    seen = []
    HOOKS["before_step"] = lambda ctx, step: seen.append(Job.objects.values_list("progress", "message").get())
    job = job_execute(job_id=job.pk)
    assert seen == [(0.0, ""), (0.25, "step 1/3"), (0.5, "step 2/3")]
    assert (job.status, job.progress, job.message, job.attempts) == (JobStatus.SUCCEEDED, 1.0, "published", 1)
    assert (job.result_type, job.result_id, job.error_code) == ("tests.version", 2, "")
    assert job.started_at <= job.finished_at
    assert publish_kind == {"version": 2}


def test_a_duplicate_or_late_message_does_nothing(publish_kind):
    job = submit(version=2)
    assert job_execute(job_id=job.pk).status == JobStatus.SUCCEEDED
    finished_at = Job.objects.get().finished_at
    assert job_execute(job_id=job.pk) is None
    run_job.delay(job.pk)  # the task itself, eagerly
    job.refresh_from_db()
    assert (job.status, job.attempts, job.finished_at) == (JobStatus.SUCCEEDED, 1, finished_at)


def test_a_named_failure_leaves_the_previous_result_in_service(publish_kind):
    job = job_execute(job_id=submit(version=2, steps=3, fail_at_step=3).pk)
    assert (job.status, job.error_code, job.error_message) == (
        JobStatus.FAILED, "NOT_ENOUGH_DATA", "step 3 found too little data")
    assert (job.progress, job.result_type, job.result_id) == (0.5, "", None)
    assert publish_kind == {"version": 1}


def test_an_unexpected_error_fails_with_a_code_and_no_internals(publish_kind):
    def boom(ctx, step):
        raise KeyError("secret internal detail")

    HOOKS["before_step"] = boom
    job = job_execute(job_id=submit(version=2).pk)
    assert (job.status, job.error_code, job.error_message) == (JobStatus.FAILED, "INTERNAL_ERROR", "KeyError")
    assert publish_kind == {"version": 1}


def test_cancel_while_running_stops_at_the_next_progress_and_leaves_service_untouched(publish_kind):
    job = submit(version=2, steps=3)
    HOOKS["before_step"] = lambda ctx, step: step == 2 and job_cancel(job_id=ctx.job_id)
    job = job_execute(job_id=job.pk)
    assert (job.status, job.message, job.cancel_requested, job.progress) == (
        JobStatus.CANCELLED, "cancelled", True, 0.5)
    assert job.finished_at is not None
    assert publish_kind == {"version": 1}


def test_transient_errors_are_retried_then_succeed(publish_kind):
    # given a kind that hits a transient error on its first two runs, when the task runs (eagerly)
    HOOKS["before_step"] = transient_then(2)
    job = submit(version=3)
    run_job.delay(job.pk)
    # then the third attempt succeeds
    job.refresh_from_db()
    assert (job.status, job.attempts, publish_kind) == (JobStatus.SUCCEEDED, 3, {"version": 3})


def test_transient_errors_fail_after_max_attempts(publish_kind, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    HOOKS["before_step"] = transient_then(5)
    job = submit(version=3)
    run_job.delay(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error_code, job.error_message) == (
        JobStatus.FAILED, 2, "TRANSIENT_ERROR", "the feature store was briefly unavailable")
    assert publish_kind == {"version": 1}


def test_transient_error_outside_a_task_fails_at_once(publish_kind):
    HOOKS["before_step"] = transient_then(1)
    job = job_execute(job_id=submit().pk)
    assert (job.status, job.attempts, job.error_code) == (JobStatus.FAILED, 1, "TRANSIENT_ERROR")


def _running(job: Job, *, beat_ago: float, attempts: int = 1, cancel: bool = False) -> Job:
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=attempts, started_at=now,
                                         heartbeat_at=now - timedelta(seconds=beat_ago), progress=0.5,
                                         cancel_requested=cancel)
    return Job.objects.get(pk=job.pk)


def test_reaper_requeues_a_dead_run_which_then_runs_to_the_end(publish_kind, settings,
                                                               django_capture_on_commit_callbacks):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    dead = _running(submit(version=2), beat_ago=61)
    alive = _running(submit(version=9), beat_ago=5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = jobs_reap()
        assert Job.objects.get(pk=dead.pk).status == JobStatus.QUEUED  # not published before commit
    assert (report.requeued, report.failed, report.cancelled, report.expired) == ([dead.pk], [], [], [])
    assert len(callbacks) == 1
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, publish_kind) == (JobStatus.SUCCEEDED, 2, {"version": 2})
    assert Job.objects.get(pk=alive.pk).status == JobStatus.RUNNING


def test_reaper_fails_a_dead_run_after_max_attempts_and_honours_cancel(publish_kind, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    settings.JOB_MAX_ATTEMPTS = 3
    spent = _running(submit(), beat_ago=3600, attempts=3)
    cancelled = _running(submit(), beat_ago=3600, cancel=True)
    report = jobs_reap()
    assert (report.requeued, report.failed, report.cancelled) == ([], [spent.pk], [cancelled.pk])
    spent.refresh_from_db()
    assert (spent.status, spent.error_code) == (JobStatus.FAILED, "WORKER_LOST")
    assert spent.error_message == "The worker running this job stopped responding (3 attempts)."
    assert Job.objects.get(pk=cancelled.pk).status == JobStatus.CANCELLED
    assert jobs_reap().failed == []  # nothing left to do
    assert publish_kind == {"version": 1}


def test_reaper_fails_a_run_older_than_the_hard_time_limit_without_rerunning_it(publish_kind, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = 60
    settings.JOB_HARD_TIME_LIMIT = 600
    job = _running(submit(), beat_ago=120)
    Job.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(seconds=601))
    assert jobs_reap().failed == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.error_code, job.attempts) == (JobStatus.FAILED, "TIME_LIMIT", 1)


def test_reaper_fails_jobs_nobody_started_in_time(publish_kind, settings):
    settings.JOB_QUEUED_TIMEOUT = 3600
    old = submit()
    Job.objects.filter(pk=old.pk).update(queued_at=timezone.now() - timedelta(seconds=3601))
    recent = submit()
    out = StringIO()
    call_command("reap_jobs", stdout=out)
    assert f"expired (never started) [{old.pk}]" in out.getvalue()
    old.refresh_from_db()
    assert (old.status, old.error_code) == (JobStatus.FAILED, "NOT_STARTED")
    assert Job.objects.get(pk=recent.pk).status == JobStatus.QUEUED


def test_a_run_the_reaper_gave_up_on_cannot_overwrite_its_successor(publish_kind, settings):
    # given a run whose heartbeat looks dead, reaped (re-queued) while it is in fact still going
    settings.JOB_HEARTBEAT_TIMEOUT = 60

    def reaped_meanwhile(ctx, step):
        if step == 2:
            Job.objects.filter(pk=ctx.job_id).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
            assert jobs_reap().requeued == [ctx.job_id]

    HOOKS["before_step"] = reaped_meanwhile
    job = job_execute(job_id=submit(version=2).pk)
    # then the old run stops at its next progress report without writing or publishing anything
    assert (job.status, job.attempts, job.progress, job.finished_at) == (JobStatus.QUEUED, 1, 0.0, None)
    assert publish_kind == {"version": 1}


@pytest.mark.django_db(transaction=True)
def test_broker_unreachable_at_submit_is_a_typed_error_and_the_job_fails(publish_kind, client):
    from tests.conftest import GraphQLClient, make_staff

    # given a broker that does not answer (nothing listens on port 1)
    saved = (celery_app.conf.broker_url, celery_app.conf.task_always_eager)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    try:
        started = timezone.now()
        body = GraphQLClient(client, make_staff("runner", perms=("jobs.add_job",)))(
            "mutation { runSelfCheck { job { pk status error { code } } errors { field code message } } }"
        )["data"]["runSelfCheck"]
        elapsed = (timezone.now() - started).total_seconds()
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
    # then the client gets BROKER_UNAVAILABLE at once and the job is FAILED, not waiting forever
    assert body["errors"] == [{"field": None, "code": "BROKER_UNAVAILABLE",
                               "message": "The job queue is unavailable; the job was not started. Try again later."}]
    assert body["job"]["status"] == "FAILED" and body["job"]["error"] == {"code": "BROKER_UNAVAILABLE"}
    job = Job.objects.get()
    assert (job.status, job.error_code, job.finished_at is not None) == (JobStatus.FAILED, "BROKER_UNAVAILABLE", True)
    assert elapsed < 10


def test_scheduled_submit_task_submits_and_skips_while_one_is_active(publish_kind, django_capture_on_commit_callbacks):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    # given a periodic task as staff would create it in the admin
    every_day = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.DAYS)
    entry = PeriodicTask.objects.create(name="nightly publish", task="jobs.tasks.submit_scheduled_job", interval=every_day,
                                        kwargs=json.dumps({"kind": "tests.publish", "params": {"version": 4}}))
    # when beat fires it (twice, the first job still queued)
    task = celery_app.tasks[entry.task]
    first = task.apply(kwargs=json.loads(entry.kwargs)).get()
    second = task.apply(kwargs=json.loads(entry.kwargs)).get()
    # then one job is submitted, the second fire skipped
    assert second is None
    assert list(Job.objects.values_list("pk", "kind", "params", "submitted_by")) == [
        (first, "tests.publish", {"version": 4, "steps": 3, "fail_at_step": 0}, None)]
    job_execute(job_id=first)
    third = task.apply(kwargs=json.loads(entry.kwargs)).get()
    assert Job.objects.count() == 2 and third is not None


@pytest.mark.django_db(transaction=True)  # the scheduler closes stale connections, as beat does
def test_beat_installs_the_reaper_schedule_in_the_database():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    DatabaseScheduler(app=celery_app)
    reaper = PeriodicTask.objects.get(task="jobs.tasks.reap_jobs")
    assert (reaper.enabled, reaper.interval.every, reaper.interval.period, reaper.queue) == (
        True, 60, "seconds", "reaper")


def test_reap_command_with_zero_timeout_recovers_every_running_job(publish_kind, settings):
    # given an embedded server that died mid-job a moment ago (heartbeat fresh, nobody left to run it)
    settings.JOB_MAX_ATTEMPTS = 1
    job = _running(submit(), beat_ago=1)
    call_command("reap_jobs", stdout=StringIO())
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # the default timeout keeps it
    out = StringIO()
    call_command("reap_jobs", "--heartbeat-timeout", "0", stdout=out)
    assert f"failed [{job.pk}]" in out.getvalue()
    assert Job.objects.get(pk=job.pk).error_code == "WORKER_LOST"
