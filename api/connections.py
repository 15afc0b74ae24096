"""List connections for the apps' schemas: pages capped at settings.GRAPHQL_MAX_PAGE_SIZE.

strawberry's relay connections cap `first`/`last` at the schema's `relay_max_results` and refuse more
with a ValueError. Here the cap is the setting, read per request (a changed setting takes effect), and
the refusal is a `ClientError` with strawberry's own text, so the client reads it (a ValueError would
be masked). The schema's `relay_max_results` is set from the same setting when the schema is built;
strawberry-django reads it when it prefetches a nested connection.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from django.conf import settings
from django.db.models import QuerySet
from strawberry import relay
from strawberry_django.queryset import get_queryset_config
from strawberry_django.relay import DjangoListConnection

from .errors import ClientError, InputErrorCode


def page_size_cap(max_results: int | None = None) -> int:
    """The most rows a page may have: the setting, or a field's own lower `max_results`."""
    cap = settings.GRAPHQL_MAX_PAGE_SIZE
    return cap if max_results is None else min(cap, max_results)


def check_page_size(*, first: int | None, last: int | None, cap: int) -> None:
    for name, value in (("first", first), ("last", last)):
        if not isinstance(value, int):
            continue
        if value < 0:
            raise ClientError(InputErrorCode.INVALID_PAGE_SIZE, f"Argument '{name}' must be a non-negative integer.")
        if value > cap:
            raise ClientError(InputErrorCode.INVALID_PAGE_SIZE, f"Argument '{name}' cannot be higher than {cap}.")


@strawberry.type(name="Connection", description="A connection to a list of items.")
class CappedListConnection(DjangoListConnection[relay.NodeType]):
    """strawberry-django's `DjangoListConnection` with the service's page cap (same GraphQL types)."""

    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Any,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ) -> Any:
        cap = page_size_cap(max_results)
        check_page_size(first=first, last=last, cap=cap)
        return super().resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, max_results=cap, **kwargs
        )


@strawberry.type(name="Connection", description="A connection to a list of items.")
class CountedListConnection(CappedListConnection[relay.NodeType]):
    """A capped connection whose `totalCount` is a plain `COUNT(*)` instead of a window function.

    With the optimizer on, strawberry-django adds `COUNT(1) OVER ()` to the page query when
    `totalCount` is selected. That saves a round trip but makes PostgreSQL build every matching row,
    joins included, before it can return the first page: on 5,000 products the page query went from
    0.3 ms to 6-40 ms. A separate `SELECT COUNT(*)` (no joins, no ordering) plus a `LIMIT`ed page
    that can walk the ordering index is far cheaper, and still two queries at every page size.
    The schema is unchanged (same type name and fields). Nested connections that the optimizer
    prefetches, and `last` without `before`, keep strawberry-django's own handling. A type, not
    part of the fast path: it serves both paths (docs/performance.md, item 6).
    """

    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Any,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ) -> Any:
        cap = page_size_cap(max_results)
        check_page_size(first=first, last=last, cap=cap)
        if (
            not isinstance(nodes, QuerySet)
            or get_queryset_config(nodes).optimized_by_prefetching
            or ((last or 0) > 0 and before is None)
        ):
            return super().resolve_connection(
                nodes, info=info, before=before, after=after, first=first, last=last, max_results=cap, **kwargs
            )
        # relay.ListConnection's slicing (first + 1 rows for hasNextPage), without the window annotation;
        # DjangoListConnection.total_count then falls back to nodes.count().
        conn = super(DjangoListConnection, cls).resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, max_results=cap, **kwargs
        )
        if inspect.isawaitable(conn):

            async def with_nodes() -> Any:
                resolved = await conn
                resolved.nodes = nodes
                return resolved

            return with_nodes()
        conn.nodes = nodes
        return conn
