"""Liveness and readiness for load balancers and orchestrators.

- ``/healthz``: the process answers (no dependency is touched).
- ``/readyz``: PostgreSQL answers ``SELECT 1`` and the broker's Redis answers PING (on a connection kept
  per process, two tries of 25 ms), each within a 50 ms budget, so the whole check answers within about
  100 ms; 200 when both do, else 503 naming which did
  not. In the embedded mode (no broker) the broker counts as ready.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from jobs.broker import redis_client

CHECK_TIMEOUT = 0.05


def _database() -> str:
    try:
        with transaction.atomic(), connection.cursor() as cur:
            if connection.vendor == "postgresql":
                cur.execute(f"SET LOCAL statement_timeout = {int(CHECK_TIMEOUT * 1000)}")
            cur.execute("SELECT 1")
            cur.fetchone()
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means not ready
        connection.close()  # the next request opens a fresh connection
        return "unavailable"


def _broker() -> str:
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://")):
        return "in-process"
    try:
        # A kept connection (a probe must not pay a connect each time); two tries at most (one replaces a
        # connection a Redis restart broke), so half the budget each.
        redis_client(url, CHECK_TIMEOUT / 2).ping()
        return "ok"
    except Exception:  # noqa: BLE001
        return "unavailable"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    checks = {"database": _database(), "broker": _broker()}
    ready = all(value in ("ok", "in-process") for value in checks.values())
    body = {"status": "ready" if ready else "unavailable", **checks,
            "ms": round((time.perf_counter() - started) * 1000, 1)}
    return JsonResponse(body, status=200 if ready else 503)
