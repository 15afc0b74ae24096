"""The root GraphQL schema, assembled from each app's ``schema.Query`` and ``schema.Mutation``."""

from importlib import import_module

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types
from strawberry_django.optimizer import DjangoOptimizerExtension

# Order matters only for the order of fields in the schema's documentation.
SCHEMA_APPS = ["catalog", "behavior", "analytics", "jobs", "recommender", "segments", "forecasting"]


def _collect(name: str) -> tuple[type, ...]:
    found = []
    for app in SCHEMA_APPS:
        try:
            module = import_module(f"{app}.schema")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.schema":
                raise
            continue
        if hasattr(module, name):
            found.append(getattr(module, name))
    return tuple(found)


def _is_expected(error: GraphQLError) -> bool:
    """Errors whose message is meant for the client; anything else is masked (no internals leak)."""
    original = error.original_error
    return original is None or isinstance(original, (PermissionDenied, ValidationError, ValueError, GraphQLError))


Query = merge_types("Query", _collect("Query"))
_mutations = _collect("Mutation")
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    # Factories, so each request gets fresh extension instances (the caches are shared anyway).
    extensions=[
        lambda: QueryDepthLimiter(max_depth=settings.GRAPHQL_MAX_DEPTH),
        lambda: MaxAliasesLimiter(max_alias_count=settings.GRAPHQL_MAX_ALIASES),
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: MaskErrors(should_mask_error=lambda error: not _is_expected(error)),
        DjangoOptimizerExtension,
    ],
)
