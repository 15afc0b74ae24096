"""The broker's Redis client is kept per process (issue 16): flags, marks and the readiness probe reuse
one connection instead of opening one per call (a connect, HELLO and CLIENT SETINFO each time was about a
fifth of an ``ingestEvents`` call), and a kept connection that a Redis restart broke is replaced on the
next call. Real redis-servers of the test's own, so that the count of connections is ours alone."""

from __future__ import annotations

import pytest
import redis

from config.celery import app as celery_app
from jobs import broker
from tests.faults import PrivateRedis

pytestmark = [pytest.mark.requires_redis]


@pytest.fixture
def private_broker():
    server = PrivateRedis()
    server.start()
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = server.url, False
    try:
        yield server
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        server.stop()


def _connections_received(url: str) -> int:
    with redis.Redis.from_url(url) as observer:
        return int(observer.info("stats")["total_connections_received"]) - 1  # not counting the observer's


def test_flags_and_marks_reuse_one_connection(private_broker):
    before = _connections_received(private_broker.url)
    for n in range(10):
        assert broker.claim_flag(f"reuse-{n}", 5)
        broker.mark(f"mark-{n}", 5)
        broker.release_flag(f"reuse-{n}")
    assert broker.marked([f"mark-{n}" for n in range(10)]) == {f"mark-{n}" for n in range(10)}
    assert _connections_received(private_broker.url) - before - 1 <= 1  # 31 calls, one connection


def test_a_connection_broken_by_a_redis_restart_is_replaced_on_the_next_call(private_broker):
    assert broker.claim_flag("restart", 60)
    private_broker.stop()
    private_broker.start()  # without its data: the flag is gone, and the kept connection is dead
    assert broker.claim_flag("restart", 60)  # answered, not raised as "broker unavailable"


@pytest.mark.django_db
def test_readiness_reuses_one_connection(client, settings, private_broker):
    settings.CELERY_BROKER_URL = private_broker.url
    before = _connections_received(private_broker.url)
    for _ in range(10):
        assert client.get("/readyz").json()["broker"] == "ok"
    assert _connections_received(private_broker.url) - before - 1 <= 1


@pytest.mark.django_db
def test_readiness_with_a_hung_redis_says_unavailable_at_once(client, settings, private_broker):
    """A SIGSTOPped Redis accepts connections and never answers: the probe's own timeouts answer for it."""
    import os
    import signal

    settings.CELERY_BROKER_URL = private_broker.url
    assert client.get("/readyz").json()["broker"] == "ok"  # a kept connection exists
    os.kill(private_broker.proc.pid, signal.SIGSTOP)
    try:
        response = client.get("/readyz")
    finally:
        os.kill(private_broker.proc.pid, signal.SIGCONT)
    assert response.status_code == 503 and response.json()["broker"] == "unavailable"
    assert response.json()["ms"] < 1000  # two tries of 25 ms, not redis-py's default retries with backoff
