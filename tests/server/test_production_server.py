"""The production server (issue 16): gunicorn as scripts/serve starts it, with static files served by
WhiteNoise, health and readiness endpoints, and database connections that survive a PostgreSQL restart
(CONN_HEALTH_CHECKS). Real gunicorn, real PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults import free_port, maintenance_connection, terminate_other_sessions
from tests.jobs.workers import _database_url

BASE_DIR = Path(settings.BASE_DIR)


def _get(url: str, *, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def server(tmp_path, django_db_setup, django_db_blocker):
    """gunicorn with 2 workers on the test database, DEBUG off, static files collected to a temp folder."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL,
           "CELERY_BROKER_URL": settings.CELERY_BROKER_URL, "DEBUG": "false", "SECRET_KEY": "s" * 50,
           "ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "2", "PORT": str(port),
           "STATIC_ROOT": str(tmp_path / "static"), "GUNICORN_ACCESS_LOG": "", "CONN_MAX_AGE": "600"}
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=BASE_DIR, env=env,
                   check=True)
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"], cwd=BASE_DIR,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if _get(base + "/healthz")[0] == 200:
                break
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
        time.sleep(0.1)
    yield base
    proc.terminate()
    proc.wait(20)
    log.close()


pytestmark = [pytest.mark.requires_postgres, pytest.mark.requires_redis, pytest.mark.django_db(transaction=True)]

ANSWER = b'{"data":{"products":{"totalCount":0}}}'
QUERY = json.dumps({"query": "{ products(first: 1) { totalCount } }"}).encode()


def test_health_readiness_static_files_and_graphql(server):
    assert _get(server + "/healthz") == (200, b'{"status": "ok"}')
    status, body = _get(server + "/readyz")
    ready = json.loads(body)
    assert status == 200 and (ready["database"], ready["broker"]) == ("ok", "ok"), ready
    assert ready["ms"] >= 0  # its time is measured by `scripts/bench load` (a goal, not a unit test)
    status, css = _get(server + "/static/admin/css/base.css")
    assert status == 200 and b"body" in css  # WhiteNoise, with DEBUG off
    assert _get(server + "/graphql/", data=QUERY) == (200, ANSWER)


def test_every_worker_recovers_after_a_database_restart(server):
    for _ in range(6):  # both workers hold a persistent connection (CONN_MAX_AGE)
        assert _get(server + "/graphql/", data=QUERY)[0] == 200
    with maintenance_connection() as admin:
        killed = terminate_other_sessions(admin)  # what a restart does to the server's sessions
    assert killed >= 1
    answers = [_get(server + "/graphql/", data=QUERY) for _ in range(8)]
    assert answers == [(200, ANSWER)] * 8


def test_readiness_says_which_dependency_is_missing(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    response = client.get("/readyz")
    assert response.status_code == 503
    assert (response.json()["database"], response.json()["broker"]) == ("ok", "unavailable")


def test_each_worker_is_warmed_before_it_takes_requests(server, tmp_path):
    """gunicorn's post_worker_init hook (config/warmup.py) ran in both workers (tmp_path is the fixture's)."""
    assert _get(server + "/healthz")[0] == 200  # answered by a worker that has warmed
    deadline = time.monotonic() + 60  # the other may still be warming (seconds on a busy machine)
    while (log := (tmp_path / "gunicorn.log").read_text()).count("warmed in") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert log.count("warmed in") == 2, log
    assert "warm-up:" not in log, log  # no step failed
