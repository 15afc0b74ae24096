"""A real Celery worker in a subprocess, pointed at the pytest-django test database and the test Redis.

Use with ``@pytest.mark.requires_worker`` and ``@pytest.mark.django_db(transaction=True)`` (the worker
only sees committed rows)::

    def test_x(shared_celery_worker):   # one worker for the module, already answering pings
        ...
    def test_y(celery_worker):
        worker = celery_worker()          # a worker of this test's own, started and answering pings
        worker.kill()                     # SIGKILL the whole worker (main process and pool children)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
STARTUP_TIMEOUT = 60.0


def _database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("a real worker needs PostgreSQL (it cannot share an in-memory SQLite database)")
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def _purge_queues() -> None:
    from config.celery import app

    from jobs.broker import clear_flags

    clear_flags()  # a flag left by an earlier test would hold refreshes back
    with app.connection_for_write() as conn:
        for queue in ("reaper", "ml", "default"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # noqa: BLE001 - a queue that does not exist yet is empty
                pass


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.name = f"test-{uuid.uuid4().hex[:8]}@%h"
        self.log_path = log_path
        self.broker_url = env["CELERY_BROKER_URL"]
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "reaper,ml,default", "-c", "1",
             "--pool=prefork", "-n", self.name, "-l", "info", "--without-gossip", "--without-mingle"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def hostname(self) -> str:
        import socket

        return self.name.replace("%h", socket.gethostname())

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        from config.celery import app

        deadline = time.monotonic() + timeout
        # Pinged through the worker's own broker (a drill may point it at a private Redis).
        with app.connection_for_write(self.broker_url) as conn:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{self.output()}")
                if app.control.ping(destination=[self.hostname], timeout=0.5, connection=conn):
                    return
        raise RuntimeError(f"the worker did not answer within {timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def pool_pids(self) -> list[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as when a machine or container dies."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGQUIT)  # cold shutdown: do not wait for a running job
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # any pool child left behind
        except ProcessLookupError:
            pass
        self.log.close()


class WorkerFactory:
    """Starts workers on the test database and Redis; ``stop_all`` at teardown."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.started: list[Worker] = []
        _purge_queues()
        self.base_env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CONN_MAX_AGE": "0",
            # A dead worker is noticed in seconds rather than minutes.
            "JOB_HEARTBEAT_INTERVAL": "0.3",
            "PYTHONUNBUFFERED": "1",
        }

    def __call__(self, wait: bool = True, **env: str) -> Worker:
        worker = Worker({**self.base_env, **env}, self.log_dir / f"worker-{uuid.uuid4().hex[:6]}.log")
        self.started.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def celery_worker(django_db_setup, tmp_path):
    """A factory: ``celery_worker(**env)`` starts a worker and waits until it answers (unless wait=False);
    every worker it started is stopped at teardown. For tests that kill or reconfigure workers."""
    factory = WorkerFactory(tmp_path)
    yield factory
    factory.stop_all()


@pytest.fixture(scope="module")
def shared_celery_worker(django_db_setup, tmp_path_factory):
    """One worker for a whole test module (starting one costs seconds): soft time limit 6 s, hard 10 s."""
    # Module fixtures run before the function-level service guard: check the services here too.
    from tests.conftest import REQUIRE_SERVICES, postgres_available, redis_available

    reason = postgres_available() or redis_available()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but {reason}")
        pytest.skip(reason)
    factory = WorkerFactory(tmp_path_factory.mktemp("workers"))
    worker = factory(JOB_SOFT_TIME_LIMIT="6", JOB_HARD_TIME_LIMIT="10")
    yield worker
    factory.stop_all()
