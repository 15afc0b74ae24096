"""A request's way from query text to a verdict, bounded at each step (docs/hardening.md).

1. Text: longer than GRAPHQL_MAX_QUERY_LENGTH characters is refused unread.
2. Parse: graphql-core's parser stops at GRAPHQL_MAX_TOKENS tokens (and as many comments).
3. Limits: depth, aliases and cost (api/limits.py), in one pass over the document, fragments once.
   Variables: at most GRAPHQL_MAX_VARIABLE_VALUES values in all.
4. Validation: graphql-core's rules (and NoSchemaIntrospection unless GRAPHQL_INTROSPECTION), with
   suggestions ("Did you mean ...?") only if GRAPHQL_SUGGESTIONS.

Parsed documents and verdicts are cached in one LRU bounded in bytes (GRAPHQL_DOCUMENT_CACHE_BYTES,
an AST estimated at AST_BYTES_PER_CHARACTER per character of text), not only in entries: strawberry's
ParserCache(512) could hold 512 documents of any size (issue 15: 150 MB per 2.4 MB query, kept).
A refused or unparsable text is not cached. Every error raised here carries a code.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any

from django.conf import settings
from graphql import DocumentNode, GraphQLError, parse, validate
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from .errors import QueryErrorCode, code_of
from .limits import QueryLimits, limit_errors

# Measured with tracemalloc on graphql-core 3.3: 45-110 bytes of AST (with locations) per character
# of query text, denser texts at the top; twice the worst seen, so the bound is not an underestimate.
AST_BYTES_PER_CHARACTER = 200
_ENTRY_OVERHEAD = 1024
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")
# strawberry's scalars (Date, DateTime, Decimal, UUID...) append the Python parser's exception text:
# 'Value cannot represent a Date: "2024-13-45". month must be in 1..12'. The client gets the first part.
_PARSER_TEXT = re.compile(r'(Value cannot represent an? \w+: ".*"\.) (?!Expected a string\.).*$', re.S)


class BoundedCache:
    """A thread-safe LRU whose entries each weigh some bytes; the total stays under `max_bytes`."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.weight = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, weight: int) -> None:
        if weight > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            self._entries[key] = (value, weight)
            self.weight += weight
            while self.weight > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.weight = 0


_cache = BoundedCache(max_bytes=0)  # sized from the settings at first use


def document_cache() -> BoundedCache:
    """The process's cache, resized when GRAPHQL_DOCUMENT_CACHE_BYTES changes."""
    if _cache.max_bytes != settings.GRAPHQL_DOCUMENT_CACHE_BYTES:
        _cache.clear()
        _cache.max_bytes = settings.GRAPHQL_DOCUMENT_CACHE_BYTES
    return _cache


def _weight(query: str) -> int:
    return _ENTRY_OVERHEAD + AST_BYTES_PER_CHARACTER * len(query)


def _coded(error: GraphQLError, code: QueryErrorCode) -> GraphQLError:
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code.value}
    return error


def _parse_error_code(message: str) -> QueryErrorCode:
    # graphql-core's own limits end their message so (tests/test_graphql_hostile.py pins both).
    if not message.endswith("Parsing aborted."):
        return QueryErrorCode.GRAPHQL_PARSE_FAILED
    return QueryErrorCode.QUERY_TOO_DEEP if "nested too deeply" in message else QueryErrorCode.QUERY_TOO_LARGE


def parse_query(query: str, limits: QueryLimits) -> DocumentNode:
    """The parsed document, from the cache when it is there; a GraphQLError with a code if refused."""
    if len(query) > limits.max_length:
        raise GraphQLError(
            f"The query has {len(query):,} characters; the limit is {limits.max_length:,}.",
            extensions={"code": QueryErrorCode.QUERY_TOO_LARGE.value},
        )
    cache, key = document_cache(), ("parse", query, limits.max_tokens)
    document = cache.get(key)
    if document is None:
        try:
            document = parse(query, max_lexical_tokens=limits.max_tokens, max_comments=limits.max_tokens)
        except GraphQLError as error:
            raise _coded(error, _parse_error_code(error.message)) from None
        cache.put(key, document, _weight(query))
    return document


def _validate(schema: Any, document: DocumentNode, rules: tuple, limits: QueryLimits) -> list[GraphQLError]:
    refused = limit_errors(document, limits)
    if refused:
        return refused  # graphql-core's rules are not run on a document that may not run
    if not settings.GRAPHQL_INTROSPECTION:
        rules = (*rules, NoSchemaIntrospectionCustomRule)
    errors = validate(schema, document, (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
                      hide_suggestions=not settings.GRAPHQL_SUGGESTIONS)
    return [_coded(error, QueryErrorCode.GRAPHQL_VALIDATION_FAILED) for error in errors]


def validate_query(schema: Any, query: str | None, document: DocumentNode, rules: tuple,
                   limits: QueryLimits) -> list[GraphQLError]:
    """The document's validation errors (limits first), cached by query text when there is one."""
    if query is None:
        return _validate(schema, document, rules, limits)
    key = ("validate", id(schema), query, rules, limits, settings.GRAPHQL_INTROSPECTION, settings.GRAPHQL_SUGGESTIONS)
    cache = document_cache()
    errors = cache.get(key)
    if errors is None:
        errors = _validate(schema, document, rules, limits)
        cache.put(key, errors, _ENTRY_OVERHEAD + 512 * len(errors))
    return list(errors)


def check_variables(variables: dict | None, max_values: int) -> None:
    """Refuses variables holding more than `max_values` values (counted without recursion, stopping
    at the limit): graphql-core would coerce them all, and a service would get them all."""
    stack: list[Any] = [variables or {}]
    count = 0
    while stack:
        value = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        count += len(children)
        if count > max_values:
            raise GraphQLError(f"The variables hold more than {max_values:,} values.",
                               extensions={"code": QueryErrorCode.TOO_MANY_VARIABLE_VALUES.value})
        stack.extend(child for child in children if isinstance(child, (dict, list)))


def finish_errors(errors: list[GraphQLError], *, suggestions: bool) -> None:
    """Every error shown gets a code (those raised without one: permission checks, variables,
    graphql-core's own refusals), no suggestions when they are off (graphql-core's variable coercion
    suggests enum values), and no Python parser's text."""
    for error in errors:
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": code_of(error)}
        if not suggestions and " Did you mean " in error.message:
            error.message = _SUGGESTION.sub("", error.message)
        if "Value cannot represent a" in error.message:
            error.message = _PARSER_TEXT.sub(r"\1", error.message)


class QueryGuard(SchemaExtension):
    """Steps 1-4 above, in place of strawberry's ParserCache, ValidationCache and limiters."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            finish_errors(result.errors, suggestions=settings.GRAPHQL_SUGGESTIONS)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            context.graphql_document = parse_query(context.query, QueryLimits.from_settings())
        check_variables(context.variables, settings.GRAPHQL_MAX_VARIABLE_VALUES)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = validate_query(
            context.schema._schema, context.query, context.graphql_document,
            tuple(context.validation_rules), QueryLimits.from_settings(),
        )
        yield
