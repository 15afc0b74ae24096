"""Publishing to a real Redis (no worker): the job id goes to the `ml` queue, only after the commit."""

import base64
import json

import pytest
import redis
from django.conf import settings
from django.db import transaction

from config.celery import app as celery_app
from jobs.models import JobStatus
from jobs.services import job_submit

pytestmark = [pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.REDIS_URL)
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    client.delete("ml", "default")
    yield client
    client.delete("ml", "default")
    celery_app.conf.task_always_eager = saved


def test_the_job_id_is_published_to_the_ml_queue_after_commit(broker):
    with transaction.atomic():
        job = job_submit(kind="jobs.selfcheck", params={"steps": 1})
        assert broker.llen("ml") == 0  # nothing is published while the row may still roll back
    assert broker.llen("ml") == 1 and broker.llen("default") == 0
    message = json.loads(broker.lindex("ml", 0))
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (message["headers"]["task"], args, kwargs) == ("jobs.tasks.run_job", [job.pk], {})
    # the worker's own time limits apply, not the submitter's
    assert message["headers"]["timelimit"] == [None, None]
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED


def test_a_rolled_back_submit_publishes_nothing(broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        job_submit(kind="jobs.selfcheck", params={})
        raise RuntimeError("the surrounding business action failed")
    assert broker.llen("ml") == 0
