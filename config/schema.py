"""The root GraphQL schema, assembled from each app's ``schema.Query`` and ``schema.Mutation``."""

from functools import cache
from importlib import import_module

import strawberry
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from .graphql_speed import FastExecutionContext, FieldOptimizer, use_fast_resolvers

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


@cache
def _limit_rules(max_depth: int, max_aliases: int) -> tuple:
    """The depth and alias validation rules, built once per limit.

    QueryDepthLimiter and MaxAliasesLimiter build a new rule class each time they are instantiated;
    as per-request factories that made every request's rule tuple unique, so ValidationCache never
    hit and validation (~2 ms) ran on every request. Built once, the rules are part of a stable
    cache key, and a document is validated (limits included) once, then served from the cache.
    """
    return (
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    )


class RequestLimits(AddValidationRules):
    """Depth and alias limits (settings.GRAPHQL_MAX_DEPTH / GRAPHQL_MAX_ALIASES) as cacheable rules."""

    def __init__(self) -> None:
        super().__init__(list(_limit_rules(settings.GRAPHQL_MAX_DEPTH, settings.GRAPHQL_MAX_ALIASES)))


Query = merge_types("Query", _collect("Query"))
_mutations = _collect("Mutation")
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    # Factories, so each request gets fresh extension instances (the caches are shared anyway).
    extensions=[
        RequestLimits,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: MaskErrors(should_mask_error=lambda error: not _is_expected(error)),
        FieldOptimizer,
    ],
    execution_context_class=FastExecutionContext,
)
use_fast_resolvers(schema)
