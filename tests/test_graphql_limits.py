"""One request cannot ask for unbounded work: depth, alias and page-size limits (each a setting)."""

import pytest

from tests import factories


@pytest.mark.django_db
def test_query_deeper_than_the_limit_is_refused(gql, settings):
    nested = "name " + "".join("children { " for _ in range(12)) + "name" + " }" * 12
    body = gql("{ categories { %s } }" % nested, expect_errors=True)
    assert body["data"] is None
    assert body["errors"] == [{"message": "The query is nested 13 levels deep; the limit is 10.",
                               "extensions": {"code": "QUERY_TOO_DEEP"}}]


@pytest.mark.django_db
def test_query_within_the_depth_limit_runs(gql):
    body = gql("{ categories { children { children { name } } } }")
    assert body["data"] == {"categories": []}


@pytest.mark.django_db
def test_too_many_aliases_are_refused(gql):
    aliases = " ".join(f"a{i}: categories {{ name }}" for i in range(16))
    body = gql("{ %s }" % aliases, expect_errors=True)
    assert body["data"] is None
    assert body["errors"] == [{"message": "16 aliases found; the limit is 15.",
                               "extensions": {"code": "TOO_MANY_ALIASES"}}]


@pytest.mark.django_db
def test_fifteen_aliases_are_allowed(gql):
    aliases = " ".join(f"a{i}: categories {{ name }}" for i in range(15))
    assert len(gql("{ %s }" % aliases)["data"]) == 15


PRODUCTS = "query($first: Int) { products(first: $first) { edges { node { sku } } } }"
CUSTOMERS = "query($first: Int) { customers(first: $first) { edges { node { externalId } } } }"


@pytest.mark.django_db
def test_the_page_size_cap_follows_the_setting(gql, staff_gql, settings):
    # given three products, three customers and a cap of two rows a page
    for i in range(3):
        factories.product(f"P-{i}")
        factories.customer(f"C-{i}")
    settings.GRAPHQL_MAX_PAGE_SIZE = 2
    # when more rows are asked for, or none said
    refused = gql(PRODUCTS, {"first": 3}, expect_errors=True)
    refused_customers = staff_gql(CUSTOMERS, {"first": 3}, expect_errors=True)
    unsaid = gql(PRODUCTS)
    # then the cap is the setting's, for every connection, with a code
    assert refused["errors"][0]["message"] == "Argument 'first' cannot be higher than 2."
    assert refused["errors"][0]["extensions"] == {"code": "INVALID_PAGE_SIZE"}
    assert refused_customers["errors"][0]["message"] == "Argument 'first' cannot be higher than 2."
    assert len(unsaid["data"]["products"]["edges"]) == 2
    # and a larger setting lets the same request through
    settings.GRAPHQL_MAX_PAGE_SIZE = 3
    assert len(gql(PRODUCTS, {"first": 3})["data"]["products"]["edges"]) == 3
    assert len(staff_gql(CUSTOMERS, {"first": 3})["data"]["customers"]["edges"]) == 3
