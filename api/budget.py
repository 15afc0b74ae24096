"""A time budget for one GraphQL request: PostgreSQL's statement_timeout while it runs.

Each statement the request makes may run for GRAPHQL_STATEMENT_TIMEOUT_MS at most (0: no budget);
a statement stopped by it reaches the client as QUERY_TIMEOUT (api/build.py). Session-level and
reset afterwards, since connections are reused (CONN_MAX_AGE) by requests and jobs that have other
budgets. SQLite has no such setting: the embedded mode runs without a budget.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection


@contextmanager
def statement_time_budget(milliseconds: int) -> Iterator[None]:
    if milliseconds <= 0 or connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(milliseconds)}")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET statement_timeout = DEFAULT")
        except DatabaseError:
            pass  # an aborted transaction or a lost connection: Django discards or rolls it back
