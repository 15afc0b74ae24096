"""The service schema from the root Query and Mutation, on the fast path or the stock one.

Both paths have the same types, limits, caches and error masking; they differ only in how a request
is executed. Fast (`GRAPHQL_FAST_PATH`, the default): `api.fast`. Stock: strawberry's executor with
strawberry-django's `DjangoOptimizerExtension`, no custom execution context and no replaced
resolvers: what to run when upgrading strawberry, strawberry-django or graphql-core, and what the
guard tests compare the fast path with.
"""

from __future__ import annotations

import strawberry
from django.conf import settings
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry_django.optimizer import DjangoOptimizerExtension

from .errors import RETRY_LATER_MESSAGE, ServiceErrorCode, is_retryable, is_shown_to_client
from .limits import RequestLimits


class ShopMaskErrors(MaskErrors):
    """Masks what is not meant for the client as "Unexpected error.", except a retryable failure (a
    deadlock, a lost database connection), which gets a message and the code RETRY_LATER to branch on."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not is_retryable(error):
            return super().anonymise_error(error)
        return GraphQLError(message=RETRY_LATER_MESSAGE, nodes=error.nodes, source=error.source,
                            positions=error.positions, path=error.path,
                            extensions={"code": ServiceErrorCode.RETRY_LATER.value})


def _mask_errors() -> MaskErrors:
    return ShopMaskErrors(should_mask_error=lambda error: not is_shown_to_client(error))


def build_schema(*, query: type, mutation: type | None, fast_path: bool) -> strawberry.Schema:
    # Factories, so each request gets fresh extension instances (the caches are shared anyway).
    extensions: list = [
        RequestLimits,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        _mask_errors,
    ]
    config = StrawberryConfig(relay_max_results=settings.GRAPHQL_MAX_PAGE_SIZE)
    if not fast_path:
        return strawberry.Schema(query=query, mutation=mutation, config=config,
                                 extensions=[*extensions, DjangoOptimizerExtension])
    # Imported only here: with the switch off, nothing that depends on the libraries' internals is loaded.
    from .fast.execution import FastExecutionContext
    from .fast.optimizer import FieldOptimizer
    from .fast.resolvers import use_fast_resolvers

    schema = strawberry.Schema(query=query, mutation=mutation, config=config, extensions=[*extensions, FieldOptimizer],
                               execution_context_class=FastExecutionContext)
    use_fast_resolvers(schema)
    return schema
