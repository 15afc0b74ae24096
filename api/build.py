"""The service schema from the root Query and Mutation, on the fast path or the stock one.

Both paths have the same types, limits, caches and error masking; they differ only in how a request
is executed. Fast (`GRAPHQL_FAST_PATH`, the default): `api.fast`. Stock: strawberry's executor with
strawberry-django's `DjangoOptimizerExtension`, no custom execution context and no replaced
resolvers: what to run when upgrading strawberry, strawberry-django or graphql-core, and what the
guard tests compare the fast path with.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.config import StrawberryConfig
from strawberry_django.optimizer import DjangoOptimizerExtension

from .errors import (RETRY_LATER_MESSAGE, TIMEOUT_MESSAGE, QueryErrorCode, ServiceErrorCode, is_retryable,
                     is_shown_to_client, is_timeout)
from .guard import QueryGuard
from .logs import log_errors


class ShopMaskErrors(MaskErrors):
    """Masks what is not meant for the client as "Unexpected error.", except a retryable failure (a
    deadlock, a lost database connection), which gets a message and the code RETRY_LATER to branch on,
    and a statement stopped by the request's time budget (QUERY_TIMEOUT, api/budget.py)."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if is_timeout(error):
            return _replaced(error, TIMEOUT_MESSAGE, QueryErrorCode.QUERY_TIMEOUT)
        if is_retryable(error):
            return _replaced(error, RETRY_LATER_MESSAGE, ServiceErrorCode.RETRY_LATER)
        return _replaced(error, self.error_message, ServiceErrorCode.INTERNAL_ERROR)


def _replaced(error: GraphQLError, message: str, code: Enum) -> GraphQLError:
    return GraphQLError(message=message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, extensions={"code": code.value})


class ShopSchema(strawberry.Schema):
    """Failed requests are logged without their query text, variables or exception text (api/logs.py)."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        log_errors(errors, execution_context)


def _mask_errors() -> MaskErrors:
    return ShopMaskErrors(should_mask_error=lambda error: not is_shown_to_client(error))


def build_schema(*, query: type, mutation: type | None, fast_path: bool) -> strawberry.Schema:
    # Factories, so each request gets fresh extension instances (the caches are shared anyway).
    extensions: list = [QueryGuard, _mask_errors]
    config = StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE)
    if not fast_path:
        return ShopSchema(query=query, mutation=mutation, config=config,
                          extensions=[*extensions, DjangoOptimizerExtension])
    # Imported only here: with the switch off, nothing that depends on the libraries' internals is loaded.
    from .fast.execution import FastExecutionContext
    from .fast.optimizer import FieldOptimizer
    from .fast.resolvers import use_fast_resolvers

    schema = ShopSchema(query=query, mutation=mutation, config=config, extensions=[*extensions, FieldOptimizer],
                        execution_context_class=FastExecutionContext)
    use_fast_resolvers(schema)
    return schema
