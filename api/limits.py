"""Depth and alias limits (settings.GRAPHQL_MAX_DEPTH / GRAPHQL_MAX_ALIASES) as cacheable validation rules."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from strawberry.extensions import AddValidationRules, MaxAliasesLimiter, QueryDepthLimiter


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
    """The limits of the current settings, read per request (a changed setting takes effect)."""

    def __init__(self) -> None:
        super().__init__(list(_limit_rules(settings.GRAPHQL_MAX_DEPTH, settings.GRAPHQL_MAX_ALIASES)))
