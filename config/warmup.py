"""Warm a new web worker before it takes requests (gunicorn's ``post_worker_init`` hook calls ``warm``).

A fresh worker (at start, and each time ``max_requests`` recycles one) would otherwise make its first
requests pay for loading the URL configuration with the whole GraphQL schema, the first trip through the
middleware, the active recommender model's arrays and the broker client's imports: about 0.7 s on an idle
2-core machine and several seconds under load, which was the whole p99 of the load benchmark's soak. Here
that happens before the worker accepts a connection, while its siblings keep serving. Nothing in it is
required: a failure is logged and the worker serves anyway (lazily, as before).
"""

from __future__ import annotations

import io
import logging
import time

logger = logging.getLogger(__name__)


def _host() -> str:
    """A host name the settings accept (the first of ALLOWED_HOSTS; a ".example.com" entry as its domain)."""
    from django.conf import settings

    for entry in settings.ALLOWED_HOSTS:
        if entry and entry != "*":
            return entry.lstrip(".")
    return "localhost"


def _request(application, path: str) -> None:
    """One GET through the whole WSGI stack (middleware, URL resolving, the view), in-process."""
    environ = {
        "HTTP_HOST": _host(),
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "warmup",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": io.StringIO(), "wsgi.version": (1, 0),
        "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "REMOTE_ADDR": "127.0.0.1",
    }
    result = application(environ, lambda status, headers, exc_info=None: None)
    try:
        for _ in result:
            pass
    finally:
        if hasattr(result, "close"):
            result.close()


def warm(application=None) -> float:
    """Load what the first requests would load; returns the seconds it took."""
    started = time.perf_counter()
    steps = [("URL configuration and GraphQL schema", _urls), ("recommender model", _model),
             ("broker client", _broker)]
    if application is not None:
        steps.insert(1, ("one request through the stack", lambda: _request(application, "/healthz")))
    for name, step in steps:
        try:
            step()
        except Exception:  # noqa: BLE001 - warming is an optimisation; the worker must start regardless
            logger.warning("warm-up: %s failed; it loads on first use instead", name, exc_info=True)
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close_if_unusable_or_obsolete()
    return time.perf_counter() - started


def _urls() -> None:
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every app's URLs, views and the GraphQL schema


def _model() -> None:
    from recommender.serving import loaded_model

    loaded_model()


def _broker() -> None:
    """Publishing imports Celery's and kombu's Redis transport on first use."""
    import kombu.transport.redis  # noqa: F401
    from celery import current_app

    current_app.amqp  # noqa: B018 - builds the app's publishing machinery
