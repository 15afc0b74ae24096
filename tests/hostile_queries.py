"""Hostile requests (issue 15 and their cousins), kept as data for tests/test_graphql_hostile.py and
bench/hostile.py. Each is (query, variables, the error code it must be refused with)."""

from __future__ import annotations


def fragment_bomb(fragments: int) -> str:
    """Each fragment spreads the next twice: 2**fragments fields once expanded, ~1 KB of text."""
    lines = ["query { categories { ...F0 } }"]
    lines += [f"fragment F{i} on Category {{ name ...F{i + 1} ...F{i + 1} }}" for i in range(fragments)]
    lines.append(f"fragment F{fragments} on Category {{ name }}")
    return "\n".join(lines)


def _many(text: str, times: int) -> str:
    return "{" + " ".join(text.replace("#", str(i)) for i in range(times)) + "}"


HOSTILE: dict[str, tuple[str, dict | None, str]] = {
    # issue 15: 30 fragments each spreading the next twice (no answer after 120 s)
    "fragment_bomb_30": (fragment_bomb(30), None, "QUERY_TOO_COMPLEX"),
    # issue 15: 2.4 MB of __typename (8-20 s, +150 MB kept by the parser cache)
    "typename_220k": (_many("__typename", 220_000), None, "QUERY_TOO_LARGE"),
    # issue 15: 20,000 copies of one root field (5 s)
    "root_field_20k": (_many("products(first: 1) { totalCount }", 20_000), None, "QUERY_TOO_LARGE"),
    # the same, within the text and token limits: 200 copies (validation compares them pairwise)
    "root_field_200": (_many("products(first: 1) { totalCount }", 200), None, "QUERY_TOO_COMPLEX"),
    # field duplication one level down
    "duplicated_leaf_1500": ("{ products(first: 1) { totalCount" + " totalCount" * 1_500 + " } }", None,
                             "QUERY_TOO_COMPLEX"),
    # many aliases, each a distinct root query
    "aliases_20k": (_many("a#: products(first: 1) { totalCount }", 20_000), None, "QUERY_TOO_LARGE"),
    "aliases_100": (_many("a#: products(first: 1) { totalCount }", 100), None, "TOO_MANY_ALIASES"),
    # a page of pages: 100 customers with 100 events each
    "nested_pages": ("{ customers(first: 100) { edges { node { externalId events(first: 100) { edges { node {"
                     " occurredAt } } } } } } }", None, "QUERY_TOO_COMPLEX"),
    "deep_nesting_20": ("{ categories { " + "children { " * 20 + "name" + " }" * 20 + " } }", None,
                        "QUERY_TOO_DEEP"),
    "deep_nesting_400": ("{ categories { " + "children { " * 400 + "name" + " }" * 400 + " } }", None,
                         "QUERY_TOO_DEEP"),
    # huge lists: in the text and as a variable
    "list_literal_50k": ("{ products(first: 1, ordering: [" + "{ sku: ASC } " * 50_000 + "]) { totalCount } }",
                         None, "QUERY_TOO_LARGE"),
    "list_variable_100k": ("query($o: [ProductOrder!]!) { products(first: 1, ordering: $o) { totalCount } }",
                          {"o": [{"sku": "ASC"}] * 100_000}, "TOO_MANY_VARIABLE_VALUES"),
    # a flood of directives and of comments
    "directives_5k": ("{ __typename" + " @include(if: true)" * 5_000 + " }", None, "QUERY_TOO_LARGE"),
    "comments_3k": ("#\n" * 3_000 + "{ __typename }", None, "QUERY_TOO_LARGE"),
}
