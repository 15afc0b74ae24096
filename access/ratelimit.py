"""Per-key request counting: at most N requests in a window of 60 s that starts at the window's first one.

On Redis (REDIS_URL) the count is shared by every web process; embedded (no Redis) it is per process.
If Redis does not answer, requests are let through (a limit must not take the API down) and it is logged.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60
_local_lock = threading.Lock()
_local_windows: dict[str, tuple[float, int]] = {}


def _client(url: str):
    from jobs.broker import redis_client

    return redis_client(url, 0.5)


def _redis_hit(url: str, name: str) -> tuple[int, int]:
    """(requests in the current window including this one, seconds until it ends)."""
    key = f"access:ratelimit:{name}"
    pipe = _client(url).pipeline()
    pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    return int(count), max(1, int(ttl))


def _local_hit(name: str) -> tuple[int, int]:
    now = time.monotonic()
    with _local_lock:
        started, count = _local_windows.get(name, (now, 0))
        if now - started >= WINDOW_SECONDS:
            started, count = now, 0
        _local_windows[name] = (started, count + 1)
    return count + 1, max(1, int(WINDOW_SECONDS - (now - started)))


def over_limit(name: str, limit: int) -> int | None:
    """Count one request for `name`; the seconds to wait when it is over `limit`, else None."""
    url = settings.REDIS_URL
    try:
        count, remaining = _redis_hit(url, name) if url.startswith(("redis://", "rediss://")) else _local_hit(name)
    except Exception:  # noqa: BLE001 - Redis down or slow: fail open
        logger.warning("access: rate limit not counted (Redis unavailable)")
        return None
    return remaining if count > limit else None
