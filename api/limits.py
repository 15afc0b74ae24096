"""What one request may ask for, measured on the parsed document before anything runs.

`measure` walks an operation once and each fragment once: a fragment spread reuses the fragment's
measure (memoised), so 30 fragments that each spread the next twice cost 30 steps, not 2**30, and
the answer (depth, aliases, cost as if every spread were expanded) is exact. strawberry's
QueryDepthLimiter and MaxAliasesLimiter re-walk a fragment at every spread, which is exponential in
the nesting of fragments (issue 15: 18 fragments took 10 s); they are not used.

Width: graphql-core's validation compares the fields of one selection set pairwise (overlapping
fields), so 250 copies of one root field took 300 ms to validate; a selection set may hold
GRAPHQL_MAX_FIELDS fields at most, fragments expanded.

Cost: every field costs 1, and the fields under a field with a page size (`first`, `last`, `limit`)
cost that many times over; a page size given by a variable counts as GRAPHQL_MAX_PAGE_SIZE, since a
document's verdict is cached whatever the variables. A page size is never taken from the text beyond
nine digits (`int()` of a 5,000-digit literal is itself a cost, and raises).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

from .errors import QueryErrorCode

PAGE_SIZE_ARGUMENTS = frozenset({"first", "last", "limit"})
_COST_CEILING = 10**12  # costs above any limit are all "too much"; keeps the integers small


@dataclass(frozen=True)
class QueryLimits:
    """The limits in force, read from the settings per request (a changed setting takes effect)."""

    max_length: int  # characters of query text
    max_tokens: int  # lexical tokens (graphql-core's parser stops counting there)
    max_depth: int
    max_aliases: int
    max_cost: int
    max_fields: int  # fields in one selection set (validation compares them pairwise)
    page_size: int  # what a page size given by a variable counts as

    @classmethod
    def from_settings(cls) -> QueryLimits:
        return cls(
            max_length=settings.GRAPHQL_MAX_QUERY_LENGTH,
            max_tokens=settings.GRAPHQL_MAX_TOKENS,
            max_depth=settings.GRAPHQL_MAX_DEPTH,
            max_aliases=settings.GRAPHQL_MAX_ALIASES,
            max_cost=settings.GRAPHQL_MAX_COST,
            max_fields=settings.GRAPHQL_MAX_FIELDS,
            page_size=settings.GRAPHQL_MAX_PAGE_SIZE,
        )


@dataclass(frozen=True)
class Measure:
    depth: int  # nested selection sets below the operation (`{ a { b } }` is 1)
    aliases: int
    cost: int
    width: int  # fields in this selection set, fragments expanded
    breadth: int  # the largest width of any selection set in it (this one included)


_NOTHING = Measure(0, 0, 0, 0, 0)


class _Walk:
    """One document's walk: each fragment measured once, its measure reused at every spread."""

    def __init__(self, document: DocumentNode, page_size: int):
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.page_size = page_size
        self.memo: dict[str, Measure] = {}
        self.in_progress: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Measure:
        depth = aliases = cost = width = breadth = 0
        for selection in node.selections if node else ():
            if isinstance(selection, FieldNode):
                part = self.field(selection)
            elif isinstance(selection, InlineFragmentNode):
                part = self.selection_set(selection.selection_set)
            else:
                part = self.spread(selection)
            depth = max(depth, part.depth)
            aliases += part.aliases
            cost = min(cost + part.cost, _COST_CEILING)
            width = min(width + part.width, _COST_CEILING)
            breadth = max(breadth, part.breadth)
        return Measure(depth, aliases, cost, width, max(breadth, width))

    def field(self, node: FieldNode) -> Measure:
        alias = 1 if node.alias else 0
        if node.selection_set is None:
            return Measure(0, alias, 1, 1, 0)
        below = self.selection_set(node.selection_set)
        cost = min(1 + self.page_size_of(node) * below.cost, _COST_CEILING)
        return Measure(below.depth + 1, below.aliases + alias, cost, 1, below.breadth)

    def spread(self, node: FragmentSpreadNode) -> Measure:
        name = node.name.value
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.in_progress:
            return _NOTHING  # unknown fragments and cycles are validation's to report
        self.in_progress.add(name)
        self.memo[name] = self.selection_set(fragment.selection_set)
        self.in_progress.discard(name)
        return self.memo[name]

    def page_size_of(self, node: FieldNode) -> int:
        size = 1
        for argument in node.arguments or ():
            if argument.name.value not in PAGE_SIZE_ARGUMENTS:
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                size = max(size, self.page_size)
            elif isinstance(value, IntValueNode):
                digits = value.value.lstrip("-")
                size = max(size, int(digits) if len(digits) <= 9 else _COST_CEILING)
        return size


def measure(document: DocumentNode, *, page_size: int) -> dict[str, Measure]:
    """Each operation's measure, by name ("" for an anonymous one)."""
    walk = _Walk(document, page_size)
    return {
        (d.name.value if d.name else ""): walk.selection_set(d.selection_set)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def _refusal(code: QueryErrorCode, message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code.value})


def limit_errors(document: DocumentNode, limits: QueryLimits) -> list[GraphQLError]:
    """Why the document may not run, if it may not: at most one error per limit."""
    found = measure(document, page_size=limits.page_size).values()
    errors = []
    if (depth := max((m.depth for m in found), default=0)) > limits.max_depth:
        errors.append(_refusal(QueryErrorCode.QUERY_TOO_DEEP,
                               f"The query is nested {depth} levels deep; the limit is {limits.max_depth}."))
    if (aliases := max((m.aliases for m in found), default=0)) > limits.max_aliases:
        errors.append(_refusal(QueryErrorCode.TOO_MANY_ALIASES,
                               f"{aliases} aliases found; the limit is {limits.max_aliases}."))
    if (breadth := max((m.breadth for m in found), default=0)) > limits.max_fields:
        errors.append(_refusal(QueryErrorCode.QUERY_TOO_COMPLEX,
                               f"A selection set has {breadth:,} fields; the limit is {limits.max_fields:,}."))
    if (cost := max((m.cost for m in found), default=0)) > limits.max_cost:
        shown = f"{cost:,}" if cost < _COST_CEILING else f"over {_COST_CEILING:,}"
        errors.append(_refusal(QueryErrorCode.QUERY_TOO_COMPLEX,
                               f"The query's cost is {shown}; the limit is {limits.max_cost:,}."))
    return errors
