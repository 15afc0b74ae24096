"""Private recommendations (issue 15): only a credential allowed to read a customer may name them; anyone
else gets, for any id, the answer for an unknown id: same shape, strategy, items and SQL statements."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from catalog.models import Category
from jobs.models import JobStatus
from tests.conftest import GraphQLClient, make_api_key, make_staff

from .conftest import train

RECOMMEND = """
query($who: String, $exclude: Boolean!, $cat: ID) {
  recommendations(customerExternalId: $who, first: 5, excludePurchased: $exclude, categoryId: $cat) {
    strategy modelVersionId items { score product { sku } }
  }
}"""
ISSUE = "mutation($who: String!) { issueCustomerToken(customerExternalId: $who) { token expiresAt } }"
UNKNOWN = "NO-SUCH-CUSTOMER"


@pytest.fixture
def trained(shop):
    assert train().status == JobStatus.SUCCEEDED
    return shop


def _ask(gql, who, exclude=True, cat=None) -> dict:
    return gql(RECOMMEND, {"who": who, "exclude": exclude, "cat": cat})["data"]["recommendations"]


@pytest.mark.parametrize("exclude", [True, False])
def test_anonymous_naming_a_customer_gets_the_unknown_customers_answer(trained, client, exclude):
    who = trained.customers[3].external_id
    anonymous = GraphQLClient(client)
    backend = GraphQLClient(client, bearer=make_api_key("recommendations:read"))
    category = str(trained.tops[0].pk)
    for cat in (None, category):
        # given what the backend (allowed to read the customer) gets for them and for an unknown id
        personal, unknown = _ask(backend, who, exclude, cat), _ask(backend, UNKNOWN, exclude, cat)
        assert personal["strategy"] == "PERSONALIZED" and unknown["strategy"] == "POPULAR"
        # when an anonymous caller names the customer, then it gets exactly the unknown id's answer
        assert _ask(anonymous, who, exclude, cat) == unknown == _ask(anonymous, UNKNOWN, exclude, cat)
        assert _ask(anonymous, None, exclude, cat) == unknown


def test_anonymous_requests_run_the_same_statements_whether_the_id_exists_or_not(trained, client):
    anonymous = GraphQLClient(client)
    who = trained.customers[3].external_id
    _ask(anonymous, UNKNOWN)  # warm the model and popular caches
    statements = []
    for name in (who, UNKNOWN):
        with CaptureQueriesContext(connection) as ctx:
            _ask(anonymous, name)
        statements.append([q["sql"] for q in ctx.captured_queries])
    assert statements[0] == statements[1]
    assert not any(who in sql for sql in statements[0])  # the customer is never looked up


def test_staff_need_view_customer_to_name_a_customer(trained, client):
    who = trained.customers[3].external_id
    assert _ask(GraphQLClient(client, make_staff("plain")), who)["strategy"] == "POPULAR"
    client.logout()
    assert _ask(GraphQLClient(client, make_staff("crm", perms=("behavior.view_customer",))), who)["strategy"] \
        == "PERSONALIZED"


def test_a_key_without_recommendations_read_is_answered_as_anonymous(trained, client):
    who = trained.customers[3].external_id
    assert _ask(GraphQLClient(client, bearer=make_api_key("events:write", "analytics:read")), who)["strategy"] \
        == "POPULAR"


def test_a_customer_token_reads_its_own_customer_and_no_other(trained, client):
    who, other = trained.customers[3].external_id, trained.customers[4].external_id
    backend = GraphQLClient(client, bearer=make_api_key("recommendations:read"))
    # given a token the backend issued for one customer
    issued = backend(ISSUE, {"who": who})["data"]["issueCustomerToken"]
    assert issued["token"].startswith("ct_") and who not in issued["token"].split(":")[-1]
    browser = GraphQLClient(client, bearer=issued["token"])
    # then the browser reads that customer's recommendations (with the id, or with the id left out)
    mine = _ask(backend, who)
    assert _ask(browser, who) == mine == _ask(browser, None)
    # and for anyone else it gets the unknown id's answer
    assert _ask(browser, other) == _ask(backend, UNKNOWN)
    # and nothing that needs staff
    query = '{ customer(externalId: "%s") { externalId } }' % who
    denied = browser(query, expect_errors=True)
    assert denied["data"] == {"customer": None} and denied["errors"] == GraphQLClient(client)(query, expect_errors=True)["errors"]


def test_tokens_are_issued_only_through_a_key_with_the_scope_or_staff(trained, client):
    for gql in (GraphQLClient(client), GraphQLClient(client, bearer=make_api_key("events:write"))):
        body = gql(ISSUE, {"who": "X"}, expect_errors=True)
        assert body["errors"][0]["extensions"] == {"code": "PERMISSION_DENIED"}
    token = GraphQLClient(client, bearer=make_api_key("recommendations:read"))(ISSUE, {"who": "X"})
    browser = GraphQLClient(client, bearer=token["data"]["issueCustomerToken"]["token"])
    # a token cannot issue tokens (it would renew itself for ever)
    assert browser(ISSUE, {"who": "X"}, expect_errors=True)["errors"][0]["extensions"] == {"code": "PERMISSION_DENIED"}


def test_an_expired_or_altered_token_is_refused(trained, client):
    backend = GraphQLClient(client, bearer=make_api_key("recommendations:read"))
    token = backend(ISSUE, {"who": trained.customers[3].external_id})["data"]["issueCustomerToken"]["token"]
    altered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")
    response = client.post("/graphql/", {"query": "{ categories { id } }"}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {altered}")
    assert response.status_code == 401
    with override_settings(CUSTOMER_TOKEN_MAX_AGE=1):
        time.sleep(2.1)
        response = client.post("/graphql/", {"query": "{ categories { id } }"}, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_similar_products_and_the_catalogue_stay_public(trained, client):
    anonymous = GraphQLClient(client)
    assert len(anonymous("{ categories { id } }")["data"]["categories"]) == Category.objects.count()
    similar = anonymous('{ similarProducts(sku: "%s", first: 3) { product { sku } } }' % trained.products[0].sku)
    assert len(similar["data"]["similarProducts"]) == 3
