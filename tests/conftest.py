"""Shared fixtures and the service markers.

A test that needs PostgreSQL, Redis or a worker carries a marker; where the service is missing it
is skipped with the reason printed (-ra), and with REQUIRE_SERVICES=1 (set by .ci/run) it fails
instead, so CI can never pass without the real services.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false", "False")


def redis_available() -> str | None:
    """None when the configured Redis answers, else why not."""
    url = settings.REDIS_URL or os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {url} does not answer: {exc}"
    return None


def postgres_available() -> str | None:
    if connection.vendor != "postgresql":
        return f"needs PostgreSQL, the database is {connection.vendor} (set DATABASE_URL=postgres://...)"
    return None


def browser_available() -> str | None:
    """None when the browser tests can run: Chromium, Playwright and the npm bundles (scripts/setup)."""
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        return f"needs Chromium at {chromium} (apt-get install chromium, or set CHROMIUM_PATH)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "needs playwright (pip install -r requirements.txt)"
    if not (settings.BASE_DIR / "static" / "vendor" / "echarts" / "dist" / "echarts.min.js").exists():
        return "needs the front-end bundles in static/vendor (scripts/setup runs npm ci)"
    return None


def _missing_service(item: pytest.Item) -> str | None:
    names = {m.name for m in item.iter_markers()}
    if "requires_browser" in names:
        reason = browser_available()
        if reason:
            return reason
    if names & {"requires_postgres", "requires_worker"}:
        reason = postgres_available()
        if reason:
            return reason
    if names & {"requires_redis", "requires_worker"}:
        reason = redis_available()
        if reason:
            return reason
    return None


@pytest.fixture(autouse=True)
def _service_guard(request):
    reason = _missing_service(request.node)
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Model artifacts and exports go to a throw-away folder per test."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def make_staff(username: str = "analyst", perms: tuple[str, ...] = ()) -> Any:
    user = get_user_model().objects.create_user(username=username, password="pw", is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # fresh instance: no stale permission cache


class GraphQLClient:
    """Posts to /graphql/ through Django's test client, optionally logged in or with a Bearer credential
    (an API key's full text or a customer token)."""

    def __init__(self, client, user=None, *, bearer: str | None = None):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer}"} if bearer else {}
        if user is not None:
            client.force_login(user)

    def __call__(self, query: str, variables: dict | None = None, *, expect_errors: bool = False) -> dict:
        response = self.client.post(
            "/graphql/", {"query": query, "variables": variables or {}}, content_type="application/json",
            **self.headers,
        )
        assert response.status_code == 200, response.content
        body = response.json()
        if not expect_errors:
            assert "errors" not in body, body.get("errors")
        return body


@pytest.fixture
def gql(client):
    return GraphQLClient(client)


def make_api_key(*scopes: str, rate_limit: int | None = None) -> str:
    """A new API key with `scopes`; returns its full text (for `GraphQLClient(client, bearer=...)`)."""
    from access.services import api_key_create

    return api_key_create(name="test key", scopes=list(scopes), rate_limit_per_minute=rate_limit)[1]


@pytest.fixture
def staff_gql(client, db):
    user = make_staff(
        "staff",
        perms=("behavior.view_customer", "behavior.view_event", "behavior.add_event", "behavior.change_customer",
               "behavior.add_customer", "catalog.add_product", "catalog.change_product", "catalog.add_category",
               "catalog.change_category"),
    )
    return GraphQLClient(client, user)


# --- Celery (jobs) ------------------------------------------------------------------------------
# Tasks run in-process (eagerly) in every test, even when REDIS_URL is set, unless the test is marked
# requires_worker and starts a real worker with the `celery_worker` fixture (tests/jobs/workers.py).
from tests.jobs.workers import celery_worker, shared_celery_worker  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _celery_eager(request):
    from config.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = request.node.get_closest_marker("requires_worker") is None
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def broker_mode():
    """Tasks published instead of run in-process, as in a deployment with a worker."""
    from config.celery import app

    from jobs.broker import clear_flags

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = saved
    clear_flags()
