from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from behavior.models import EventKind
from tests import factories
from tests.conftest import GraphQLClient, make_staff

CUSTOMERS = "query($first: Int, $filters: CustomerFilter) { customers(first: $first, filters: $filters) { totalCount edges { node { externalId country } } } }"
CUSTOMER_EVENTS = """
query($ext: String!, $first: Int, $after: String) {
  customer(externalId: $ext) {
    externalId
    events(first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { eventId kind quantity occurredAt product { sku } } }
    }
  }
}
"""


@pytest.fixture
def history(db):
    alice = factories.customer("alice", country="United Kingdom")
    factories.customer("bob", country="France")
    mug = factories.product("MUG-1")
    start = timezone.now() - timedelta(days=10)
    for day, kind in enumerate([EventKind.VIEW, EventKind.ADD_TO_CART, EventKind.PURCHASE, EventKind.REVIEW]):
        factories.event(customer=alice, product=mug, kind=kind, occurred_at=start + timedelta(days=day),
                        event_id=f"a{day}", rating=4 if kind == EventKind.REVIEW else None)
    return alice


class TestPermissions:
    def test_anonymous_gets_a_permission_error_not_data(self, gql, history):
        body = gql(CUSTOMERS, expect_errors=True)
        assert body["data"] is None
        assert "permission" in body["errors"][0]["message"].lower()
        body = gql(CUSTOMER_EVENTS, {"ext": "alice"}, expect_errors=True)
        assert body["data"]["customer"] is None
        assert "permission" in body["errors"][0]["message"].lower()

    def test_staff_without_the_view_permission_is_refused(self, client, history):
        gql = GraphQLClient(client, make_staff("noperm"))
        body = gql(CUSTOMERS, expect_errors=True)
        assert body["data"] is None and "permission" in body["errors"][0]["message"].lower()

    def test_non_staff_with_the_permission_is_refused(self, client, history):
        user = make_staff("customerish", perms=("behavior.view_customer",))
        user.is_staff = False
        user.save()
        body = GraphQLClient(client, user)(CUSTOMERS, expect_errors=True)
        assert body["data"] is None

    def test_events_need_their_own_view_permission(self, client, history):
        gql = GraphQLClient(client, make_staff("custonly", perms=("behavior.view_customer",)))
        body = gql(CUSTOMER_EVENTS, {"ext": "alice"}, expect_errors=True)
        assert "permission" in body["errors"][0]["message"].lower()


def test_customers_filter_by_country(staff_gql, history):
    body = staff_gql(CUSTOMERS, {"filters": {"country": {"exact": "France"}}})
    assert body["data"]["customers"] == {"totalCount": 1, "edges": [{"node": {"externalId": "bob", "country": "France"}}]}


def test_customer_events_newest_first_and_paginated(staff_gql, history):
    first = staff_gql(CUSTOMER_EVENTS, {"ext": "alice", "first": 3})["data"]["customer"]["events"]
    assert first["totalCount"] == 4
    assert [e["node"]["eventId"] for e in first["edges"]] == ["a3", "a2", "a1"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = staff_gql(CUSTOMER_EVENTS, {"ext": "alice", "first": 3, "after": first["pageInfo"]["endCursor"]})
    assert [e["node"]["eventId"] for e in rest["data"]["customer"]["events"]["edges"]] == ["a0"]


def test_customers_page_costs_the_same_queries_at_10_and_100(staff_gql, db):
    for i in range(110):
        factories.customer(f"c{i:03d}", country="UK")

    def count(first):
        with CaptureQueriesContext(connection) as ctx:
            body = staff_gql(CUSTOMERS, {"first": first})
        assert len(body["data"]["customers"]["edges"]) == first
        return len(ctx.captured_queries)

    assert count(10) == count(100)


def test_customer_events_page_costs_the_same_queries_at_10_and_100(staff_gql, db):
    alice = factories.customer("alice")
    products = [factories.product(f"P{i}") for i in range(30)]
    for i in range(110):
        factories.event(customer=alice, product=products[i % 30], kind=EventKind.VIEW)

    def count(first):
        with CaptureQueriesContext(connection) as ctx:
            body = staff_gql(CUSTOMER_EVENTS, {"ext": "alice", "first": first})
        assert len(body["data"]["customer"]["events"]["edges"]) == first
        return len(ctx.captured_queries)

    assert count(10) == count(100)
