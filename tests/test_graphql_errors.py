"""What a client reads of an error: a ClientError's message with its code in extensions.code; nothing else.

ValueError is no longer shown: a refusal meant for the client is a ClientError (api/errors.py) or an app's
own error turned into one (analytics' AnalyticsError), so a ValueError's text from anywhere below (a
parser, a library, a bug) cannot leak.
"""

from unittest import mock

import pytest

from tests import factories
from tests.conftest import GraphQLClient, make_staff


@pytest.fixture
def analyst(client, db):
    return GraphQLClient(client, make_staff("analyst", perms=("behavior.view_event",)))


def _error(body: dict) -> tuple[str, str | None]:
    error = body["errors"][0]
    return error["message"], (error.get("extensions") or {}).get("code")


@pytest.mark.django_db
def test_a_value_error_from_below_is_masked(gql):
    with mock.patch("catalog.schema.Category.objects.all", side_effect=ValueError("secret internals")):
        body = gql("{ categories { name } }", expect_errors=True)
    assert _error(body) == ("Unexpected error.", "INTERNAL_ERROR")


def test_analytics_refusals_carry_their_codes(analyst):
    backwards = analyst('{ salesSummary(from: "2024-02-01", to: "2024-01-01") { revenue } }', expect_errors=True)
    too_long = analyst('{ funnel(from: "2000-01-01", to: "2024-01-01") { views } }', expect_errors=True)
    too_many = analyst('{ topProducts(from: "2024-01-01", to: "2024-01-31", first: 0) { sku } }', expect_errors=True)
    unknown = analyst('{ funnel(from: "2024-01-01", to: "2024-01-31", productSku: "nope") { views } }',
                      expect_errors=True)
    category = analyst('{ funnel(from: "2024-01-01", to: "2024-01-31", categoryId: "root") { views } }',
                       expect_errors=True)
    assert _error(backwards) == ("`to` is before `from`.", "DATE_RANGE_REVERSED")
    assert _error(too_long) == ("The range is limited to ten years.", "DATE_RANGE_TOO_LONG")
    assert _error(too_many) == ("first must be between 1 and 100.", "INVALID_FIRST")
    assert _error(unknown) == ("No product with SKU 'nope'.", "UNKNOWN_PRODUCT")
    assert _error(category) == ("categoryId must be a category's database id.", "INVALID_ID")


@pytest.mark.django_db
def test_recommendation_arguments_carry_their_codes(gql):
    query = "query($first: Int!, $cat: ID) { recommendations(first: $first, categoryId: $cat) { strategy } }"
    assert _error(gql(query, {"first": 0}, expect_errors=True)) == ("first must be from 1 to 100", "INVALID_PAGE_SIZE")
    assert _error(gql(query, {"first": 3, "cat": "abc"}, expect_errors=True)) == (
        "categoryId must be a category's database id", "INVALID_ID")


@pytest.mark.django_db
def test_a_product_filter_on_a_category_that_is_not_an_id_is_explained(gql):
    factories.product("P-1")
    body = gql('{ products(filters: {category: "shoes"}) { totalCount } }', expect_errors=True)
    assert _error(body) == ("category must be a category's database id.", "INVALID_ID")


def test_graphql_cores_own_errors_are_still_shown(analyst):
    body = analyst("query($first: Int) { products(first: $first) { totalCount } }", {"first": "many"},
                   expect_errors=True)
    assert body["errors"][0]["message"] == "Variable '$first' has invalid value: Int cannot represent non-integer " \
                                           "value: 'many'"
    # a scalar whose parser raises ValueError: graphql-core reports it as its own error
    body = analyst("query($day: Date!) { funnel(from: $day, to: $day) { views } }", {"day": "2024-13-01"},
                   expect_errors=True)
    assert body["errors"][0]["message"].startswith("Variable '$day' has invalid value")


@pytest.mark.django_db
@pytest.mark.parametrize("digits", ["9" * 19, "9" * 20, "9" * 5000])
def test_an_id_beyond_any_row_is_no_such_row(client, digits):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "a-long-password-1")
    gql = GraphQLClient(client, admin)
    body = gql('query($id: ID!) { segment(id: $id) { label } job(id: $id) { id } }', {"id": digits})
    assert body == {"data": {"segment": None, "job": None}}


@pytest.mark.django_db
def test_a_scalar_parser_error_does_not_reach_the_client(gql):
    body = gql('query($d: Date!) { salesSummary(from: $d, to: "2024-01-02") { revenue } }', {"d": "2024-13-45"},
               expect_errors=True)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert error["message"].endswith('Value cannot represent a Date: "2024-13-45".')
    literal = gql('{ salesSummary(from: "2024-13-45", to: "2024-01-02") { revenue } }', expect_errors=True)
    assert literal["errors"][0]["message"] == 'Value cannot represent a Date: "2024-13-45".'
