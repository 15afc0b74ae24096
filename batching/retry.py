"""Bounded retries of a write that lost a race with another client (unlike ``batching/__init__``, this
module uses Django's database layer).

Concurrent batches lock rows in key order (see ``behavior.bulk`` and the upserts), so they queue behind
each other instead of deadlocking. What can still happen is retried here, a few times with jittered
backoff, as a whole transaction:

* a deadlock or a serialization failure (SQLSTATE 40P01, 40001);
* a unique violation (23505) in an upsert that read "absent" just before another writer inserted the
  same key (upserts take ``lock_keys`` first, so only a batch of events creating the customer can):
  on the retry it reads the row and updates it;
* a lost connection (class 08, or 57P01 administrator shutdown during a restart): Django's connection
  is closed so that the retry opens a fresh one.

A retry happens only outside any enclosing transaction (inside one, the transaction is already aborted:
the error goes up to whoever owns it). What still fails reaches a GraphQL client as ``RETRY_LATER``
(``api.errors``): nothing of that call was stored, and sending it again is safe.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connection

T = TypeVar("T")

DB_CONFLICT_RETRIES = 4  # attempts in all, the first included
BACKOFF_SECONDS = 0.05  # doubled per attempt, with jitter
UNIQUE_VIOLATION = "23505"
_CONFLICTS = {"40001", "40P01"}
_CONNECTION_LOST = {"57P01", "57P02", "57P03"}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django wraps the driver's error as ``__cause__``)."""
    seen = 0
    while exc is not None and seen < 5:
        code = getattr(exc, "sqlstate", None)
        if code:
            return code
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def is_connection_lost(exc: BaseException) -> bool:
    code = sqlstate(exc)
    if code is not None:
        return code.startswith("08") or code in _CONNECTION_LOST
    # psycopg reports a connection that died between statements without a SQLSTATE.
    text = str(exc).lower()
    return any(s in text for s in ("connection is closed", "server closed the connection", "connection failed",
                                   "terminating connection", "connection refused", "consuming input failed"))


def is_retryable(exc: BaseException) -> bool:
    """A failure that says nothing about the request: sending the same request again may well succeed."""
    if not isinstance(exc, DatabaseError):
        return False
    return sqlstate(exc) in _CONFLICTS or is_connection_lost(exc)


LOCK_BUCKETS = 256  # keys share this many advisory locks per namespace (the lock table is small)


def lock_keys(namespace: int, keys: list[str]) -> None:
    """Takes transaction-scoped advisory locks covering ``keys`` (PostgreSQL; elsewhere writers are
    serialised anyway), in one order for everyone: two upserts sharing keys then run one after the other,
    so neither inserts a key the other has just read as absent. Keys are hashed into ``LOCK_BUCKETS``
    locks, so that a bulk import of a million keys holds at most that many (unrelated keys in one bucket
    only wait for each other). ``namespace`` tells tables apart."""
    if connection.vendor != "postgresql" or not keys:
        return
    with connection.cursor() as cur:
        cur.execute("SELECT count(pg_advisory_xact_lock(%s, b)) FROM "
                    "(SELECT DISTINCT hashtext(k) & %s AS b FROM unnest(%s::text[]) k ORDER BY 1) s",
                    [namespace, LOCK_BUCKETS - 1, keys])


def retry_on_conflict(fn: Callable[[], T], *, attempts: int | None = None, unique_violation: bool = False,
                      sleep: Callable[[float], None] = time.sleep) -> T:
    """Runs ``fn`` (which opens its own transaction) again when it fails retryably; ``unique_violation``:
    a 23505 counts as retryable too (an upsert that raced another's insert). ``attempts``: default
    ``DB_CONFLICT_RETRIES``."""
    attempts = attempts or DB_CONFLICT_RETRIES
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DatabaseError as exc:
            retry = is_retryable(exc) or (unique_violation and sqlstate(exc) == UNIQUE_VIOLATION)
            if not retry or attempt == attempts or connection.in_atomic_block:
                raise
            if is_connection_lost(exc):
                connection.close()
            sleep(BACKOFF_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random()))
    raise AssertionError("unreachable")
