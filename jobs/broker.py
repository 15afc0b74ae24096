"""Talking to the broker without ever holding up a request: short timeouts, and flags for coalescing.

Every publish from a web request (a job submit, the rollup refresh after ``ingestEvents``) goes through
``publish``: a fresh broker connection whose connect, read and write timeouts are
``CELERY_PUBLISH_TIMEOUT`` seconds (0.5 by default), so a broker that is down or hung (SIGSTOP) costs a
request at most about that long per try instead of the socket's 10 s. The caller decides what a failed
publish means (a job fails with BROKER_UNAVAILABLE; a refresh stays pending for beat).

``claim_flag``/``release_flag`` keep at most one task of a kind waiting in the queue (SET NX with a TTL
in the broker's Redis): a publisher that cannot claim the flag knows one is already queued and skips.
With no Redis (the embedded in-process mode) every claim succeeds.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

_FLAG_PREFIX = "shopanalytics:flag:"


def publish_timeout() -> float:
    return float(getattr(settings, "CELERY_PUBLISH_TIMEOUT", 0.5))


def _connection():
    from celery import current_app
    from kombu import Connection

    timeout = publish_timeout()
    options = {**(current_app.conf.broker_transport_options or {}),
               "socket_timeout": timeout, "socket_connect_timeout": timeout}
    return Connection(current_app.conf.broker_url, connect_timeout=timeout, transport_options=options)


def publish(task: Any, *, args: list | None = None, retry_policy: dict | None = None, **options: Any) -> None:
    """Publish ``task`` with ``args`` on a short-timeout connection (raises when the broker does not take
    it). In-process mode (``task_always_eager``) runs it here instead."""
    from celery import current_app

    if current_app.conf.task_always_eager:
        task.apply_async(args=args or [], **options)
        return
    with _connection() as conn:
        task.apply_async(args=args or [], connection=conn, retry=retry_policy is not None,
                         retry_policy=retry_policy or {}, **options)


def _redis(*, even_eager: bool = False):
    from celery import current_app

    url = current_app.conf.broker_url or ""
    if (current_app.conf.task_always_eager and not even_eager) or not url.startswith(("redis://", "rediss://")):
        return None
    return redis_client(url, publish_timeout())


@cache
def redis_client(url: str, timeout: float):
    """One client (with its connection pool) per URL and timeout in each process, reused by every call:
    a fresh client per call costs a connect, a HELLO and a CLIENT SETINFO round trip each time (about a
    fifth of an ``ingestEvents`` call of 100 events). redis-py's pool notices a fork and reconnects, so
    gunicorn's and Celery's forked workers each get their own sockets.

    One immediate retry (no backoff): a kept connection that a Redis restart broke is replaced at once,
    while a hung Redis costs at most two timeouts (redis-py's default would back off for seconds)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 1))


def claim_flag(name: str, ttl: float) -> bool:
    """True when this caller set the flag ``name`` (nobody held it); it expires after ``ttl`` seconds.
    Raises when Redis does not answer (the caller treats that as a failed publish)."""
    client = _redis()
    if client is None:
        return True
    return bool(client.set(_FLAG_PREFIX + name, "1", nx=True, px=max(1, int(ttl * 1000))))


def release_flag(name: str) -> None:
    client = _redis()
    if client is None:
        return
    try:
        client.delete(_FLAG_PREFIX + name)
    except Exception as exc:  # noqa: BLE001 - the flag then expires by its TTL
        logger.warning("could not release flag %s: %r", name, exc)


def mark(name: str, ttl: float) -> None:
    """Set the mark ``name`` for ``ttl`` seconds (a fact about the broker's contents that vanishes with
    them when Redis restarts without its data, e.g. "job 12's message was published")."""
    client = _redis()
    if client is None:
        return
    client.set(_FLAG_PREFIX + name, "1", px=max(1, int(ttl * 1000)))


def marked(names: list[str]) -> set[str]:
    """Which of the marks ``names`` are set (all of them in the embedded mode, which has no broker)."""
    client = _redis()
    if client is None:
        return set(names)
    values = client.mget([_FLAG_PREFIX + n for n in names]) if names else []
    return {n for n, v in zip(names, values, strict=True) if v is not None}


def clear_flags() -> None:
    """Drop every flag (tests and benchmarks that purge the queues: a flag whose task was purged would
    hold that kind of task back until its TTL)."""
    client = _redis(even_eager=True)
    if client is None:
        return
    keys = list(client.scan_iter(_FLAG_PREFIX + "*"))
    if keys:
        client.delete(*keys)
