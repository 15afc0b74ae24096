"""The GraphQL fields: names, compact shapes, permissions, argument errors."""

import pytest

from tests.conftest import GraphQLClient, make_staff

from .test_handmade import handmade  # noqa: F401  (fixture)

QUERY = """
query ($sku: String, $cat: ID) {
  salesSummary(from: "2024-03-04", to: "2024-03-10", categoryId: $cat) {
    from to revenue orders units customers averageOrderValue conversionRate returnedValue
    previous { revenue orders units customers averageOrderValue conversionRate }
    previousFrom previousTo
  }
  salesSeries(from: "2024-03-09", to: "2024-03-11", interval: DAY, productSku: $sku) {
    interval dates revenue units orders
  }
  funnel(from: "2024-03-04", to: "2024-03-10", productSku: $sku) {
    views addToCarts purchases viewToCartRate cartToPurchaseRate viewToPurchaseRate
  }
  topProducts(from: "2024-03-04", to: "2024-03-10", by: UNITS, first: 1) { sku revenue units views }
  categoryShare(from: "2024-03-04", to: "2024-03-10") { totalRevenue categories { name revenue share } }
  newVsReturningCustomers(from: "2024-02-26", to: "2024-03-10", interval: WEEK) {
    dates new returning totalNew totalReturning
  }
  cohortRetention(from: "2024-02-01", to: "2024-03-31") { cohortMonths sizes customers rates }
}
"""


@pytest.fixture
def analyst(client, db):
    return GraphQLClient(client, make_staff("analyst", perms=("behavior.view_event",)))


def test_every_query_answers_with_exact_figures(handmade, analyst):  # noqa: F811
    # when
    data = analyst(QUERY, {"sku": "A"})["data"]
    # then
    assert data["salesSummary"] == {
        "from": "2024-03-04", "to": "2024-03-10", "revenue": "52.50", "orders": 4, "units": 7, "customers": 2,
        "averageOrderValue": "13.13", "conversionRate": 0.5, "returnedValue": "10.00",
        "previous": {"revenue": "35.00", "orders": 2, "units": 4, "customers": 2, "averageOrderValue": "17.50",
                     "conversionRate": 0.1},
        "previousFrom": "2024-02-26", "previousTo": "2024-03-03",
    }
    assert data["salesSeries"] == {"interval": "DAY", "dates": ["2024-03-09", "2024-03-10", "2024-03-11"],
                                   "revenue": ["0.00", "0.00", "10.00"], "units": [0, 0, 1], "orders": [0, 0, 1]}
    assert data["funnel"] == {"views": 6, "addToCarts": 3, "purchases": 2, "viewToCartRate": 0.5,
                              "cartToPurchaseRate": 2 / 3, "viewToPurchaseRate": 1 / 3}
    assert data["topProducts"] == [{"sku": "A", "revenue": "30.00", "units": 3, "views": 6}]
    assert data["categoryShare"] == {"totalRevenue": "52.50",
                                     "categories": [{"name": "Root", "revenue": "45.00", "share": 45 / 52.5}]}
    assert data["newVsReturningCustomers"] == {"dates": ["2024-02-26", "2024-03-04"], "new": [2, 1],
                                               "returning": [0, 1], "totalNew": 3, "totalReturning": 0}
    assert data["cohortRetention"] == {"cohortMonths": ["2024-02-01", "2024-03-01"], "sizes": [1, 2],
                                       "customers": [[1, 1], [2]], "rates": [[1.0, 1.0], [1.0]]}


def test_category_filter_through_the_api(handmade, analyst):  # noqa: F811
    # when
    data = analyst(QUERY, {"cat": str(handmade["root"].pk)})["data"]
    # then
    assert (data["salesSummary"]["revenue"], data["salesSummary"]["orders"]) == ("45.00", 3)


@pytest.mark.django_db
def test_needs_staff_with_view_event(client):
    # given: a staff user without the permission, and nobody
    anonymous = GraphQLClient(client)
    # when / then
    body = anonymous('{ funnel(from: "2024-01-01", to: "2024-01-31") { views } }', expect_errors=True)
    assert body["data"] is None and body["errors"]
    client.force_login(make_staff("nobody"))
    body = GraphQLClient(client)('{ funnel(from: "2024-01-01", to: "2024-01-31") { views } }', expect_errors=True)
    assert body["errors"][0]["message"] != "Unexpected error."


@pytest.mark.django_db
def test_bad_arguments_are_explained(analyst):
    # when
    unknown = analyst('{ funnel(from: "2024-01-01", to: "2024-01-31", productSku: "nope") { views } }',
                      expect_errors=True)
    backwards = analyst('{ salesSummary(from: "2024-02-01", to: "2024-01-01") { revenue } }', expect_errors=True)
    too_many = analyst('{ topProducts(from: "2024-01-01", to: "2024-01-31", first: 1000) { sku } }',
                       expect_errors=True)
    # then
    assert unknown["errors"][0]["message"] == "No product with SKU 'nope'."
    assert backwards["errors"][0]["message"] == "`to` is before `from`."
    assert too_many["errors"][0]["message"] == "first must be between 1 and 100."


def test_top_products_costs_the_same_queries_at_any_size(handmade, analyst):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for first in (1, 3):
        # when
        with CaptureQueriesContext(connection) as queries:
            data = analyst('query ($n: Int!) { topProducts(from: "2024-02-01", to: "2024-03-10", first: $n) '
                           '{ sku } }', {"n": first})["data"]
        counts.append(len(queries))
        # then
        assert len(data["topProducts"]) == first
    assert counts[0] == counts[1]
