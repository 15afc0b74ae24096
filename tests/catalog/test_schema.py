from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories

PRODUCTS = """
query($first: Int, $after: String, $filters: ProductFilter, $ordering: [ProductOrder!]) {
  products(first: $first, after: $after, filters: $filters, ordering: $ordering) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id sku name price brand isActive category { id name parent { id name } } } }
  }
}
"""


@pytest.fixture
def catalogue(db):
    home = factories.category("Home")
    kitchen = factories.category("Kitchen", parent=home)
    mugs = factories.category("Mugs", parent=kitchen)
    garden = factories.category("Garden")
    factories.product("MUG-1", name="Red mug", price="4.50", category=mugs, brand="Acme")
    factories.product("MUG-2", name="Blue mug", price="5.00", category=mugs, brand="Bolt", is_active=False)
    factories.product("PAN-1", name="Frying pan", price="25.00", category=kitchen, brand="Acme")
    factories.product("RAKE-1", name="Garden rake", price="12.00", category=garden, brand="Bolt")
    return {"home": home, "kitchen": kitchen, "mugs": mugs, "garden": garden}


def skus(body):
    return [e["node"]["sku"] for e in body["data"]["products"]["edges"]]


def test_category_filter_includes_descendants(gql, catalogue):
    body = gql(PRODUCTS, {"filters": {"category": str(catalogue["home"].pk)}, "ordering": [{"name": "ASC"}]})
    assert skus(body) == ["MUG-2", "PAN-1", "MUG-1"]
    assert body["data"]["products"]["totalCount"] == 3


def test_brand_price_range_active_and_search_filters(gql, catalogue):
    bolt = gql(PRODUCTS, {"filters": {"brand": {"exact": "Bolt"}}, "ordering": [{"price": "ASC"}]})
    assert skus(bolt) == ["MUG-2", "RAKE-1"]
    body = gql(PRODUCTS, {"filters": {"price": {"range": {"start": "4.00", "end": "12.00"}}},
                          "ordering": [{"price": "DESC"}]})
    assert skus(body) == ["RAKE-1", "MUG-2", "MUG-1"]
    assert skus(gql(PRODUCTS, {"filters": {"isActive": {"exact": False}}})) == ["MUG-2"]
    assert skus(gql(PRODUCTS, {"filters": {"search": "mug"}, "ordering": [{"price": "ASC"}]})) == ["MUG-1", "MUG-2"]
    assert skus(gql(PRODUCTS, {"filters": {"search": "rake-"}})) == ["RAKE-1"]


def test_ordering_by_price_and_created(gql, catalogue):
    assert skus(gql(PRODUCTS, {"ordering": [{"price": "DESC"}]})) == ["PAN-1", "RAKE-1", "MUG-2", "MUG-1"]
    assert skus(gql(PRODUCTS, {"ordering": [{"createdAt": "ASC"}]})) == ["MUG-1", "MUG-2", "PAN-1", "RAKE-1"]


def test_cursor_pagination_walks_every_product_once(gql, catalogue):
    seen, after = [], None
    while True:
        body = gql(PRODUCTS, {"first": 3, "after": after, "ordering": [{"price": "ASC"}]})
        page = body["data"]["products"]
        seen += skus(body)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["MUG-1", "MUG-2", "RAKE-1", "PAN-1"]


def test_page_size_is_capped(gql, catalogue):
    body = gql(PRODUCTS, {"first": 101}, expect_errors=True)
    assert "cannot be higher than 100" in body["errors"][0]["message"]


def test_product_by_sku_and_by_id(gql, catalogue):
    q = "query($sku: String, $id: ID) { product(sku: $sku, id: $id) { id sku price } }"
    by_sku = gql(q, {"sku": "PAN-1"})["data"]["product"]
    assert by_sku["price"] == "25.00"
    assert gql(q, {"id": by_sku["id"]})["data"]["product"]["sku"] == "PAN-1"
    assert gql(q, {"sku": "NOPE"})["data"]["product"] is None


def test_categories_tree(gql, catalogue):
    body = gql("{ categories(rootsOnly: true) { name children { name children { name } } } }")
    assert body["data"]["categories"] == [
        {"name": "Garden", "children": []},
        {"name": "Home", "children": [{"name": "Kitchen", "children": [{"name": "Mugs"}]}]},
    ]


def _count_queries(gql, first):
    with CaptureQueriesContext(connection) as ctx:
        body = gql(PRODUCTS, {"first": first})
    assert len(body["data"]["products"]["edges"]) == first
    return len(ctx.captured_queries)


def test_products_page_costs_the_same_queries_at_10_and_100(gql, db):
    parents = [factories.category(f"Root {i}") for i in range(5)]
    cats = [factories.category(f"Cat {i}", parent=parents[i % 5]) for i in range(20)]
    for i in range(120):
        factories.product(f"S{i:04d}", category=cats[i % 20], price=Decimal(i + 1))
    assert _count_queries(gql, 10) == _count_queries(gql, 100)
