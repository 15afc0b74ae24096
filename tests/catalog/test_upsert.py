"""upsertCategories / upsertProducts / upsertCustomers: created vs updated, errors by index and code."""

from decimal import Decimal

from behavior.models import Customer
from catalog.models import Category, Product
from catalog.services import BATCH_LIMIT, products_upsert
from tests import factories
from tests.conftest import GraphQLClient, make_staff

CATEGORIES = """mutation($c: [CategoryInput!]!) { upsertCategories(categories: $c) {
  created updated errors { index field code message } } }"""
PRODUCTS = """mutation($p: [ProductInput!]!) { upsertProducts(products: $p) {
  created updated errors { index field code } } }"""
CUSTOMERS = """mutation($c: [CustomerInput!]!) { upsertCustomers(customers: $c) {
  created updated errors { index field code } } }"""


def test_categories_form_a_tree_in_one_batch_and_cycles_are_refused(staff_gql):
    body = staff_gql(CATEGORIES, {"c": [
        {"slug": "kitchen-mugs", "name": "Mugs", "parentSlug": "kitchen"},  # parent later in the batch
        {"slug": "kitchen", "name": "Kitchen"},
        {"slug": "bad slug", "name": "Bad"},
        {"slug": "orphan", "name": "Orphan", "parentSlug": "nowhere"},
        {"slug": "kitchen", "name": "Again"},
    ]})["data"]["upsertCategories"]
    assert (body["created"], body["updated"]) == (2, 0)
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (2, "INVALID_SLUG"), (3, "UNKNOWN_PARENT"), (4, "DUPLICATE_IN_BATCH")]
    mugs = Category.objects.get(slug="kitchen-mugs")
    assert mugs.parent.slug == "kitchen"
    cycle = staff_gql(CATEGORIES, {"c": [{"slug": "kitchen", "name": "Kitchen", "parentSlug": "kitchen-mugs"}]})
    assert [e["code"] for e in cycle["data"]["upsertCategories"]["errors"]] == ["PARENT_CYCLE"]
    assert Category.objects.get(slug="kitchen").parent is None


def test_products_are_created_then_updated_and_left_out_fields_are_kept(staff_gql):
    kitchen = factories.category("Kitchen")
    first = staff_gql(PRODUCTS, {"p": [
        {"sku": "MUG-1", "name": "Mug", "price": "8.5", "categoryId": str(kitchen.pk), "brand": "Acme", "stock": 3},
        {"sku": "BAD-1", "name": "Bad", "price": "-1"},
        {"sku": "BAD-2", "name": "Bad", "price": "1", "categoryId": "999999"},
        {"sku": "BAD-3", "name": "Bad", "price": "1", "currency": "euro"},
    ]})["data"]["upsertProducts"]
    assert (first["created"], first["updated"]) == (1, 0)
    assert [(e["index"], e["field"], e["code"]) for e in first["errors"]] == [
        (1, "price", "INVALID_PRICE"), (2, "categoryId", "UNKNOWN_CATEGORY"), (3, "currency", "INVALID_CURRENCY")]
    second = staff_gql(PRODUCTS, {"p": [{"sku": "MUG-1", "name": "Big mug", "price": "9.00"}]})
    assert second["data"]["upsertProducts"] == {"created": 0, "updated": 1, "errors": []}
    mug = Product.objects.get(sku="MUG-1")
    assert (mug.name, mug.price, mug.brand, mug.stock, mug.category_id) == ("Big mug", Decimal("9.00"), "Acme", 3,
                                                                            kitchen.pk)
    assert Product.objects.count() == 1


def test_customers_upsert(staff_gql):
    factories.customer("alice", country="France")
    body = staff_gql(CUSTOMERS, {"c": [{"externalId": "alice", "country": "Spain"}, {"externalId": "bob"},
                                       {"externalId": "x" * 65}]})["data"]["upsertCustomers"]
    assert (body["created"], body["updated"]) == (1, 1)
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(2, "VALUE_TOO_LONG")]
    assert dict(Customer.objects.values_list("external_id", "country")) == {"alice": "Spain", "bob": ""}


def test_upserts_need_both_the_add_and_the_change_permission(client, db):
    adder = GraphQLClient(client, make_staff("adder", perms=("catalog.add_product",)))
    body = adder(PRODUCTS, {"p": [{"sku": "A", "name": "A", "price": "1"}]}, expect_errors=True)
    assert body["data"] is None and "permission" in body["errors"][0]["message"].lower()
    assert not Product.objects.exists()


def test_the_batch_limit_is_enforced_and_a_full_batch_is_accepted(db):
    items = [{"sku": f"S{i}", "name": "n", "price": "1"} for i in range(BATCH_LIMIT)]
    assert products_upsert(products=items).created == BATCH_LIMIT
    too_many = products_upsert(products=items + [{"sku": "X", "name": "n", "price": "1"}])
    assert [(e.index, e.code) for e in too_many.errors] == [(-1, "TOO_MANY_ITEMS")]
