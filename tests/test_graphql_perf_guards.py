"""The speed layer (api/fast) and the service schema's set-up (api/build.py) keep answers and limits exactly
as they were.

Each test compares the service schema with the same types built with GRAPHQL_FAST_PATH off (strawberry's
executor, DjangoOptimizerExtension as middleware, no fast resolvers), or checks a cache/limit directly.
The suite also runs with the switch off (.ci/run): the service schema is then the stock one, the
comparisons hold trivially, and the few tests about the fast path's own machinery skip, saying so.
"""

from decimal import Decimal
from unittest import mock

import pytest
import strawberry
from django.conf import settings
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from strawberry.django.context import StrawberryDjangoContext
from strawberry_django.optimizer import DjangoOptimizerExtension

from api.build import build_schema
from catalog.models import Product
from config import schema as service
from tests import factories

fast_path_only = pytest.mark.skipif(not settings.GRAPHQL_FAST_PATH,
                                    reason="about the fast path's own machinery; GRAPHQL_FAST_PATH is off")

PAGE = """
query($first: Int, $after: String, $filters: ProductFilter) {
  products(first: $first, after: $after, filters: $filters) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id pk sku name description price currency stock attributes isActive brand
                          createdAt updatedAt category { id name slug parent { id name } } } }
  }
}
"""


@pytest.fixture
def stock_schema():
    return build_schema(query=service.Query, mutation=service.Mutation, fast_path=False)


@pytest.fixture
def bare_schema():
    """Without the service's error masking: graphql-core's own messages."""
    return strawberry.Schema(query=service.Query, mutation=service.Mutation, extensions=[DjangoOptimizerExtension])


def _run(schema, query, variables=None, user=None):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().post("/graphql/")
    request.user = user or AnonymousUser()
    return schema.execute_sync(query, variable_values=variables,
                               context_value=StrawberryDjangoContext(request=request, response=None))


@pytest.fixture
def shop(db):
    root = factories.category("Root")
    leaf = factories.category("Leaf", parent=root)
    factories.product("P-1", name="Alpha", price="1.50", category=leaf, brand="Acme", attributes={"a": [1, None]})
    factories.product("P-2", name="Beta", price="2.00", category=root, brand="")  # category without parent
    factories.product("P-3", name="Gamma", price="0.00", category=None, is_active=False)  # no category
    return {"root": root, "leaf": leaf}


def test_products_page_is_identical_to_the_stock_schema(shop, stock_schema):
    for variables in ({"first": 2}, {"first": 10}, {"first": 1, "after": "YXJyYXljb25uZWN0aW9uOjA="},
                      {"filters": {"category": str(shop["root"].pk)}}):
        fast = _run(service.schema, PAGE, variables)
        stock = _run(stock_schema, PAGE, variables)
        assert fast.errors is None and stock.errors is None
        assert fast.data == stock.data
    assert fast.data["products"]["totalCount"] == 2


@fast_path_only
def test_fast_paths_are_installed_where_expected():
    product = service.schema._schema.type_map["Product"].fields
    assert product["sku"].resolve.fast_path == "column"
    assert product["category"].resolve.fast_path == "foreign key"
    assert product["id"].resolve.fast_path == "node id"
    assert not hasattr(product["pk"].resolve, "fast_path")  # has its own resolver
    customer = service.schema._schema.type_map["Customer"].fields
    assert not hasattr(customer["events"].resolve, "fast_path")  # a connection with arguments


@fast_path_only
def test_deferred_column_falls_back_to_the_field_resolver(shop):
    # A value that is not loaded (deferred) is fetched by strawberry-django's own resolver.
    product = Product.objects.only("id").get(sku="P-1")
    resolve = service.schema._schema.type_map["Product"].fields["name"].resolve
    assert "name" not in product.__dict__
    assert resolve(product, None) == "Alpha"


def test_nullable_relations_and_fields_match_stock(shop, stock_schema):
    q = "{ products(first: 5) { edges { node { sku category { name parent { name } } } } } }"
    assert _run(service.schema, q).data == _run(stock_schema, q).data


def test_page_costs_two_queries_without_a_window_function(shop):
    with CaptureQueriesContext(connection) as ctx:
        body = _run(service.schema, PAGE, {"first": 2})
    assert body.errors is None
    sql = [q["sql"] for q in ctx.captured_queries]
    assert len(sql) == 2
    assert not any("OVER" in s.upper() for s in sql)
    assert any("COUNT(*)" in s for s in sql)


def test_validation_runs_once_per_document(db):
    query = "query Once { categories { name } }"
    with mock.patch("api.guard.validate", wraps=__import__("graphql").validate) as validate:
        for _ in range(3):
            assert _run(service.schema, query).errors is None
    assert validate.call_count <= 1  # 0 if an earlier test already validated this text


def test_limits_are_still_enforced_from_the_validation_cache(db):
    deep = "{ categories { " + "children { " * 12 + "name" + " }" * 12 + " } }"
    for _ in range(2):  # the second answer comes from the cache
        result = _run(service.schema, deep)
        assert result.errors[0].extensions == {"code": "QUERY_TOO_DEEP"}
    aliases = "{ " + " ".join(f"a{i}: categories {{ name }}" for i in range(16)) + " }"
    for _ in range(2):
        assert _run(service.schema, aliases).errors[0].extensions == {"code": "TOO_MANY_ALIASES"}


def test_changed_limit_settings_take_effect(db, settings):
    settings.GRAPHQL_MAX_DEPTH = 2
    result = _run(service.schema, "{ categories { children { children { name } } } }")
    assert result.errors[0].message == "The query is nested 3 levels deep; the limit is 2."


def test_unexpected_errors_are_still_masked(db):
    with mock.patch("catalog.schema.Category.objects.all", side_effect=RuntimeError("secret internals")):
        result = _run(service.schema, "{ categories { name } }")
    assert result.errors[0].message == "Unexpected error."


def test_permissions_still_apply_to_fast_columns(db):
    factories.customer("C1", country="GB")
    result = _run(service.schema, "{ customers(first: 1) { edges { node { externalId country } } } }")
    assert result.data is None or result.data.get("customers") is None
    assert result.errors


@pytest.mark.django_db
def test_prices_keep_two_decimals():
    factories.product("D-1", price="3.10")
    result = _run(service.schema, "{ products(first: 1) { edges { node { price } } } }")
    assert result.data["products"]["edges"][0]["node"]["price"] == "3.10"
    assert Product.objects.get(sku="D-1").price == Decimal("3.10")


# --- related objects completed inside the executor plan, optimizer hints cached ----------------------

FAST_PAGE = """
query($first: Int) {
  products(first: $first) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id sku name price brand isActive attributes createdAt
                          category { id name slug parent { id name parent { id name } } } } }
  }
}
"""

SHAPES = [
    FAST_PAGE,
    # aliases, the same field twice (merged), fragments (named and inline), __typename at every level
    """query($first: Int) { products(first: $first) { edges { node { ...P ... on Product { n2: name }
         category { __typename name } } } } } fragment P on Product { __typename id s: sku sku category { id } }""",
    # a field with its own resolver (pk) among the planned ones: the node goes through graphql-core
    "{ products(first: 10) { edges { node { pk sku category { name } } } } }",
    # categories as a plain list, their parent by the optimizer's select_related
    "{ categories { id name parent { id name parent { name } } } }",
    # a single product from a custom resolver: no select_related, the relation is fetched by its resolver
    '{ product(sku: "P-1") { id name category { name parent { name } } } }',
    '{ product(sku: "P-3") { id name category { name parent { name } } } }',
]


def _sql(schema, query, variables=None):
    with CaptureQueriesContext(connection) as ctx:
        result = _run(schema, query, variables)
    return result, [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("query", SHAPES)
def test_planned_objects_match_stock_in_answers_and_sql(shop, stock_schema, query):
    variables = {"first": 10} if "$first" in query else None
    for _ in range(2):  # the second time from the plan's and the optimizer's caches
        fast, fast_sql = _sql(service.schema, query, variables)
        stock, stock_sql = _sql(stock_schema, query, variables)
        assert fast.errors is None and stock.errors is None
        assert fast.data == stock.data
        assert fast_sql == stock_sql


def test_response_keys_keep_the_selection_order(shop):
    query = "{ products(first: 1) { edges { node { name category { parent { name } name } id sku } } } }"
    node = _run(service.schema, query).data["products"]["edges"][0]["node"]
    assert list(node) == ["name", "category", "id", "sku"]
    assert list(node["category"]) == ["parent", "name"]


def _graphql_core_fields(query, variables=None):
    from graphql.execution.executor import Executor

    with mock.patch.object(Executor, "execute_field", autospec=True, side_effect=Executor.execute_field) as spy:
        result = _run(service.schema, query, variables)
    assert result.errors is None
    return spy.call_count


@fast_path_only
def test_rows_and_their_related_objects_do_not_go_through_graphql_core(db):
    parent = factories.category("Parent")
    child = factories.category("Child", parent=parent)
    for i in range(6):
        factories.product(f"R-{i}", category=child if i % 2 else None)
    # products and totalCount are resolved by graphql-core; every row, node, category and parent is planned
    assert _graphql_core_fields(FAST_PAGE, {"first": 1}) == _graphql_core_fields(FAST_PAGE, {"first": 6}) == 2


def test_a_failed_check_gives_graphql_cores_own_error(shop, stock_schema):
    # is_type_of refusing the category: graphql-core's error, path and nulls, exactly as the stock schema
    query = "{ products(first: 3) { edges { node { sku category { name parent { name } } } } } }"
    results = []
    for schema in (service.schema, stock_schema):
        category_type = schema._schema.type_map["Category"]
        with mock.patch.object(category_type, "is_type_of", lambda obj, info: False):
            results.append(_run(schema, query))
    fast, stock = results
    assert fast.data == stock.data
    assert [(e.message, e.path) for e in fast.errors] == [(e.message, e.path) for e in stock.errors]
    assert "Expected value of type 'Category'" in fast.errors[0].message


def test_a_null_in_a_non_null_planned_field_gives_graphql_cores_error(shop, stock_schema, bare_schema):
    query = "{ products(first: 3) { edges { node { sku name } } } }"
    original = Product.from_db.__func__

    def nameless(cls, db, field_names, values):
        instance = original(cls, db, field_names, values)
        if instance.sku == "P-2":
            instance.__dict__["name"] = None
        return instance

    with mock.patch.object(Product, "from_db", classmethod(nameless)):
        fast, stock, bare = _run(service.schema, query), _run(stock_schema, query), _run(bare_schema, query)
    assert fast.data == stock.data == bare.data
    assert [e.path for e in fast.errors] == [e.path for e in stock.errors] == [e.path for e in bare.errors] == [
        ["products", "edges", 1, "node", "name"]]
    assert bare.errors[0].message == "Cannot return null for non-nullable field Product.name."
    assert fast.errors[0].message == stock.errors[0].message == "Unexpected error."  # the service masks it, as before


def _hint_walks(query, variables=None):
    from strawberry_django import optimizer as django_optimizer

    walk = mock.Mock(wraps=django_optimizer._get_model_hints)
    with mock.patch("api.fast.optimizer._get_model_hints", walk), mock.patch.object(
            django_optimizer, "_get_model_hints", walk):
        result = _run(service.schema, query, variables)
    assert result.errors is None
    return walk.call_count, result


@fast_path_only
def test_optimizer_hints_are_cached_per_document(shop):
    query = "query Cached { products(first: 2) { edges { node { sku category { name parent { name } } } } } }"
    _hint_walks(query)
    walks, result = _hint_walks(query)
    assert walks == 0
    assert len(result.data["products"]["edges"]) == 2


def test_documents_with_directives_are_optimized_every_time(shop, stock_schema):
    query = """query($c: Boolean!) { products(first: 3) { edges { node { sku
                 category @include(if: $c) { name parent { name } } } } } }"""
    for include in (True, False, True):
        walks, fast = _hint_walks(query, {"c": include})
        assert walks > 0
        _, fast_sql = _sql(service.schema, query, {"c": include})
        stock, stock_sql = _sql(stock_schema, query, {"c": include})
        assert fast.data == stock.data and fast_sql == stock_sql


def test_prefetching_hints_are_not_cached(shop, stock_schema):
    query = "query Prefetch { categories { name children { name children { name } } } }"
    for _ in range(2):
        walks, fast = _hint_walks(query)
        assert walks > 0
        assert fast.data == _run(stock_schema, query).data
