"""Hostile queries are refused before they run, each with a code (api/guard.py, api/limits.py).

The requests are issue 15's and their cousins (tests/hostile_queries.py; bench/hostile.py times them).
These tests assert answers, not timings: the fragment bomb would not finish if fragments were walked
at every spread.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection, transaction
from graphql import GraphQLError, parse

from api.budget import statement_time_budget
from api.build import ShopMaskErrors
from api.guard import BoundedCache, check_variables, document_cache
from api.limits import Measure, measure
from tests.hostile_queries import HOSTILE


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_request_gets_a_typed_refusal(client, name):
    # given a request from the hostile set
    query, variables, code = HOSTILE[name]
    # when it is posted anonymously
    response = client.post("/graphql/", {"query": query, "variables": variables}, content_type="application/json")
    # then nothing ran and the refusal carries the expected code
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]][:1] == [code]


def test_fragments_are_measured_once_each_with_the_expanded_answer():
    # given 30 fragments, each spreading the next twice (2**30 expansions)
    document = parse(HOSTILE["fragment_bomb_30"][0])
    # when measured
    found = measure(document, page_size=100)
    # then the answer is the expanded one: 2**31 - 1 `name` fields plus `categories`
    assert found == {"": Measure(depth=1, aliases=0, cost=1 + 2**31 - 1, width=1, breadth=2**31 - 1)}


def test_depth_aliases_and_cost_follow_page_sizes_and_variables():
    document = parse(
        "query Q($n: Int) { a: products(first: 3) { edges { node { sku } } }"
        " customers(first: $n) { edges { node { ...C } } } }"
        " fragment C on Customer { externalId e: events(first: 2) { totalCount } }"
    )
    # products: 1 + 3 * (edges 1 + node (1 + sku 1)) = 10; customers: 1 + 100 * (1 + (1 + 1 + (1 + 2 * 1))) = 601
    assert measure(document, page_size=100) == {"Q": Measure(depth=4, aliases=2, cost=611, width=2, breadth=2)}


def test_a_page_size_of_thousands_of_digits_counts_as_too_many():
    document = parse("{ products(first: %s) { totalCount } }" % ("9" * 5000))
    assert measure(document, page_size=100)[""].cost > 10**11


def test_a_fragment_cycle_is_left_to_validation(gql, db):
    body = gql("{ categories { ...A } } fragment A on Category { name ...B } fragment B on Category { ...A }",
               expect_errors=True)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert "Cannot spread fragment 'A' within itself via 'B'." in body["errors"][0]["message"]


def test_the_cache_stays_under_its_bytes_least_recently_used_first():
    # given a cache of 100 bytes holding a (40) and b (40), a read last
    cache = BoundedCache(max_bytes=100)
    cache.put("a", 1, 40)
    cache.put("b", 2, 40)
    assert cache.get("a") == 1
    # when c (40) comes, and then an entry bigger than the whole cache
    cache.put("c", 3, 40)
    cache.put("huge", 4, 101)
    # then b went, huge was never kept, and the weight is within the bound
    assert (cache.get("a"), cache.get("b"), cache.get("c"), cache.get("huge")) == (1, None, 3, None)
    assert cache.weight == 80


@pytest.mark.django_db
def test_a_refused_text_is_not_cached_and_a_parsed_one_is(gql, settings):
    cache = document_cache()
    cache.clear()
    gql(HOSTILE["typename_220k"][0], expect_errors=True)
    gql(HOSTILE["comments_3k"][0], expect_errors=True)
    assert len(cache) == 0
    gql("{ __typename }")
    assert len(cache) == 2  # the document and its verdict
    assert 0 < cache.weight <= settings.GRAPHQL_DOCUMENT_CACHE_BYTES


@pytest.mark.django_db
def test_the_limits_follow_the_settings(gql, settings):
    settings.GRAPHQL_MAX_QUERY_LENGTH = 10
    assert gql("{ __typename }", expect_errors=True)["errors"] == [
        {"message": "The query has 14 characters; the limit is 10.", "extensions": {"code": "QUERY_TOO_LARGE"}}]
    settings.GRAPHQL_MAX_QUERY_LENGTH = 1000
    settings.GRAPHQL_MAX_TOKENS = 2
    body = gql("{ __typename }", expect_errors=True)
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_LARGE"}
    assert "Document contains more than 2 tokens. Parsing aborted." in body["errors"][0]["message"]
    settings.GRAPHQL_MAX_TOKENS = 2000
    assert gql("{ __typename }") == {"data": {"__typename": "Query"}}


@pytest.mark.django_db
def test_a_syntax_error_has_its_code(gql):
    body = gql("{ products(", expect_errors=True)
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


@pytest.mark.django_db
def test_queries_within_the_limits_run(gql):
    body = gql("{ products(first: 100) { totalCount edges { node { sku category { name } } } } }")
    assert body["data"]["products"]["totalCount"] == 0


def test_variables_are_counted_without_recursion_and_stop_at_the_limit():
    deep: dict = {}
    node = deep
    for _ in range(50_000):  # deeper than Python's recursion limit
        node["AND"] = {}
        node = node["AND"]
    with pytest.raises(GraphQLError) as refused:
        check_variables({"f": deep}, 10_000)
    assert refused.value.extensions == {"code": "TOO_MANY_VARIABLE_VALUES"}
    fifty_one = {"events": [{"a": 1, "b": [1, 2]}] * 10}  # events 1, its items 10, a and b 20, b's items 20
    check_variables(fifty_one, 51)
    with pytest.raises(GraphQLError):
        check_variables(fifty_one, 50)


@pytest.mark.requires_postgres
@pytest.mark.django_db
def test_a_statement_past_the_time_budget_is_stopped_and_typed():
    # given a budget of 50 ms
    with pytest.raises(OperationalError) as stopped:
        with statement_time_budget(50), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
    # then the statement was cancelled, the client reads QUERY_TIMEOUT, and the budget is gone afterwards
    masked = ShopMaskErrors().anonymise_error(GraphQLError("boom", original_error=stopped.value))
    assert masked.extensions == {"code": "QUERY_TIMEOUT"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"
