"""What the fault tests share: a free port, a private redis-server (so the shared one is never stopped),
and terminating the test database's other sessions as a PostgreSQL restart would."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import redis
from django.db import connection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence (a restart loses its data)."""

    def __init__(self):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._answers():
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url).ping())
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@contextmanager
def maintenance_connection() -> Iterator[psycopg.Connection]:
    """An autocommit connection to the server's `postgres` database (the test database can be locked out
    from there, not from itself)."""
    info = connection.settings_dict
    with psycopg.connect(dbname="postgres", user=info["USER"] or None, host=info["HOST"] or None,
                         port=info["PORT"] or None, autocommit=True) as admin:
        yield admin


def terminate_other_sessions(admin: psycopg.Connection) -> int:
    """Terminate every session on the test database but this test's own, as a restart does; how many."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        mine = cur.fetchone()[0]
    return admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                         "AND pid <> %s", [connection.settings_dict["NAME"], mine]).fetchone()[0]
