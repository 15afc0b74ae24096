"""Serving's hand-written reads and caches: the same rows as the ORM, never stale products, category
masks dropped when the tree or the version changes, and the sparse next-basket and discovery blends equal to the
dense formulas."""

from decimal import Decimal

import numpy as np
import pytest
import scipy.sparse as sp
from django.db import connection
from django.test.utils import CaptureQueriesContext

from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product
from recommender import engine, serving, serving_sql
from recommender.models import ModelVersion
from recommender.selectors import recommendations_for, similar_products
from recommender.services import model_version_activate

from .conftest import train


@pytest.fixture
def trained(shop, settings):
    job = train()
    assert job.status == "SUCCEEDED", job.error_message
    # the arrays stay held for the whole test unless something drops them
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 3600
    return shop


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_active_products_are_the_rows_the_orm_reads(shop):
    given = shop.products[:6]
    Product.objects.filter(pk=given[1].pk).update(is_active=False)
    Product.objects.filter(pk=given[2].pk).update(category=None, attributes={"colour": "red"},
                                                   description="a long one", price=Decimal("12.34"))
    ids = [p.pk for p in given] + [987654321]
    found = serving_sql.active_products(ids)
    expected = {p.pk: p for p in Product.objects.select_related("category").filter(pk__in=ids, is_active=True)}
    assert set(found) == set(expected) == {p.pk for p in given} - {given[1].pk}
    for pk, product in found.items():
        assert _fields(product) == _fields(expected[pk])
        assert type(product.price) is Decimal and product.attributes == expected[pk].attributes
    with CaptureQueriesContext(connection) as ctx:  # the category came with the product
        assert found[given[0].pk].category.name == expected[given[0].pk].category.name
        assert found[given[2].pk].category is None
    assert len(ctx.captured_queries) == 0


def test_customer_with_purchases_matches_the_events(shop):
    customer = shop.customers[2]
    Customer.objects.filter(pk=customer.pk).update(attributes={"tier": "gold"})
    (pk, country, attributes), purchases, latest = serving_sql.customer_with_purchases(customer.external_id)
    assert (pk, country, attributes) == (customer.pk, customer.country, {"tier": "gold"})
    expected = Event.objects.filter(customer=customer, kind=EventKind.PURCHASE).values_list("product_id", "occurred_at")
    assert sorted(purchases) == sorted(expected)
    assert latest == Event.objects.order_by("-occurred_at").values_list("occurred_at", flat=True)[0]
    assert serving_sql.customer_with_purchases("no-such-customer") is None
    Customer.objects.create(external_id="EMPTY", country="France")
    assert serving_sql.customer_with_purchases("EMPTY")[1] == []


def test_product_by_sku_and_category_tree(shop):
    product = shop.products[5]
    assert serving_sql.product_by_sku(product.sku) == (product.pk, product.category_id, product.brand, product.price)
    assert serving_sql.product_by_sku("NOPE") is None
    assert serving_sql.category_tree() == tuple(Category.objects.order_by("id").values_list("id", "parent_id"))


def test_a_product_deactivated_or_repriced_is_seen_by_the_next_request(trained):
    who = trained.customers[0].external_id
    model = serving.loaded_model()
    before = recommendations_for(customer_external_id=who, first=5)
    top = before.items[0].product
    Product.objects.filter(pk=before.items[1].product.pk).update(price=Decimal("99.50"), name="Renamed")
    Product.objects.filter(pk=top.pk).update(is_active=False)  # no save(): updated_at does not move
    after = recommendations_for(customer_external_id=who, first=5)
    assert serving.loaded_model() is model  # the arrays were not reloaded...
    assert top.pk not in {r.product.pk for r in after.items}  # ...yet the deactivation shows at once
    assert len(after.items) == 5
    assert after.items[0].product.pk == before.items[1].product.pk
    assert (after.items[0].product.price, after.items[0].product.name) == (Decimal("99.50"), "Renamed")
    assert [r.product.pk for r in after.items[:4]] == [r.product.pk for r in before.items[1:]]
    assert top.pk not in {r.product.pk for r in similar_products(sku=before.items[1].product.sku, first=20)}


def test_more_deactivated_candidates_than_asked_for_are_read_from_the_spares(trained):
    who = trained.customers[4].external_id
    before = recommendations_for(customer_external_id=who, first=8)
    gone = [r.product.pk for r in before.items[:3]]
    Product.objects.filter(pk__in=gone).update(is_active=False)
    with CaptureQueriesContext(connection) as ctx:
        after = recommendations_for(customer_external_id=who, first=8)
    assert [r.product.pk for r in after.items[:5]] == [r.product.pk for r in before.items[3:]]
    assert len(after.items) == 8 and not set(gone) & {r.product.pk for r in after.items}
    assert len(ctx.captured_queries) == 3  # the customer, the 8 best, then the spare candidates


def test_category_masks_are_reused_until_the_tree_changes(trained):
    shop = trained
    model = serving.loaded_model()
    top1, moved = shop.tops[1], shop.subs[2][0]
    tree = serving_sql.category_tree()
    assert model.category_mask(top1.pk, tree) is model.category_mask(top1.pk, serving_sql.category_tree())

    result = recommendations_for(customer_external_id=None, first=30, category_id=top1.pk)
    assert {r.product.category_id for r in result.items} <= {s.pk for s in shop.subs[1]}
    # a subcategory moves under another top category (a queryset update: nothing is notified)
    Category.objects.filter(pk=moved.pk).update(parent=top1)
    result = recommendations_for(customer_external_id=None, first=30, category_id=top1.pk)
    assert moved.pk in {r.product.category_id for r in result.items}
    assert {r.product.category_id for r in result.items} <= {s.pk for s in shop.subs[1]} | {moved.pk}
    left = recommendations_for(customer_external_id=shop.customers[2].external_id, first=10,
                               category_id=shop.tops[2].pk)
    assert {r.product.category_id for r in left.items} == {shop.subs[2][1].pk}
    # a new category under a top one changes the tree too: the masks are rebuilt, answers stay right
    Category.objects.create(name="New", slug="new", parent=top1)
    assert model.category_mask(top1.pk, serving_sql.category_tree()) is not model.category_mask(top1.pk, tree)


def test_switching_the_active_version_drops_its_category_masks(trained, django_user_model,
                                                               django_capture_on_commit_callbacks):
    shop = trained
    held = serving.loaded_model()
    recommendations_for(customer_external_id=None, first=5, category_id=shop.tops[0].pk)
    assert shop.tops[0].pk in held._category_masks[1]
    second = ModelVersion.objects.get(pk=train({"seed": 5, "activate": False}).result_id)
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=second.pk, user=django_user_model.objects.create_user("ops", is_staff=True))
    swapped = serving.loaded_model()
    assert swapped is not held and swapped._category_masks[1] == {}
    result = recommendations_for(customer_external_id=None, first=5, category_id=shop.tops[0].pk)
    assert result.model_version_id == second.pk
    assert {r.product.category_id for r in result.items} <= {s.pk for s in shop.subs[0]}


def test_sparse_next_basket_blend_equals_the_dense_formula():
    rng = np.random.default_rng(3)
    n = 5000
    model = serving.LoadedModel.__new__(serving.LoadedModel)
    model.blend_alpha, model.history_half_life_days, model.trend_weight = 2.0, 90.0, 0.5
    model.trend = rng.random(n).astype(np.float32)
    scores = rng.normal(size=n).astype(np.float32)
    cols = rng.integers(0, n, 40)
    cols[:10] = cols[10:20]  # repeated purchases of the same items
    ages = rng.uniform(0, 900, 40)
    own = np.zeros(n, dtype=np.float64)
    np.add.at(own, cols, engine.history_weights(ages, model.history_half_life_days))
    dense = engine.standardise_rows(scores) + np.float32(model.blend_alpha) * engine.history_strength(
        own, model.trend, model.trend_weight)
    sparse = engine.next_basket_scores(scores.copy(), cols, ages, blend_alpha=model.blend_alpha,
                                       history_half_life_days=model.history_half_life_days, trend=model.trend,
                                       trend_weight=model.trend_weight)
    assert sparse.dtype == dense.dtype
    assert np.array_equal(sparse, dense)


def test_each_call_makes_only_its_statements(trained):
    shop = trained
    who = shop.customers[1].external_id
    recommendations_for(customer_external_id=who, first=3, category_id=shop.tops[1].pk)  # warm the masks
    calls = {
        "discovery": (lambda: recommendations_for(customer_external_id=who, first=10), 2),
        "next basket": (lambda: recommendations_for(customer_external_id=who, first=10, exclude_purchased=False), 2),
        "in a category": (lambda: recommendations_for(customer_external_id=who, first=10,
                                                      category_id=shop.tops[1].pk), 3),
        "anonymous": (lambda: recommendations_for(customer_external_id=None, first=10), 1),
        "similar products": (lambda: similar_products(sku=shop.products[0].sku, first=10), 2),
    }
    for name, (call, expected) in calls.items():
        with CaptureQueriesContext(connection) as ctx:
            assert call()
        assert len(ctx.captured_queries) == expected, (name, [q["sql"][:80] for q in ctx.captured_queries])


def test_discovery_blend_served_equals_the_dense_formula():
    # given a model with item-to-item weights and a customer's bought items (some bought twice)
    rng = np.random.default_rng(4)
    n, neighbours = 5000, 30
    model = serving.LoadedModel.__new__(serving.LoadedModel)
    model.item_ids = np.arange(n)
    model.discovery_beta = 0.75
    model.item_item = sp.csr_matrix(
        (rng.random(n * neighbours).astype(np.float32), rng.integers(0, n, n * neighbours).astype(np.int32),
         np.arange(0, n * neighbours + 1, neighbours)), shape=(n, n))
    scores = rng.normal(size=n).astype(np.float32)
    cols = rng.integers(0, n, 25)
    cols[:5] = cols[5:10]
    bought = sp.csr_matrix((np.ones(len(cols)), (np.zeros(len(cols), dtype=int), cols)), shape=(1, n))
    dense = engine.discovery_scores(scores[None, :], engine.item_item_terms(bought, model.item_item),
                                    model.discovery_beta)[0]
    # when serving ranks in place and rescales the values it returns
    ranking = scores.copy()
    scale, shift = engine.discovery_in_place(ranking, engine.item_item_term(model.item_item, cols),
                                             model.discovery_beta)
    # then the order and the values are the formula's
    best = engine.top_k_1d(ranking, 10)
    assert best.tolist() == engine.top_k_1d(dense, 10).tolist()
    assert ranking[best] * scale + shift == pytest.approx(dense[best], rel=1e-5, abs=1e-5)


def test_an_artifact_from_before_the_item_to_item_term_serves_the_model_alone():
    rng = np.random.default_rng(5)
    arrays = {
        "user_ids": np.arange(3), "item_ids": np.arange(4), "user_vectors": rng.normal(size=(3, 2)),
        "item_vectors": rng.normal(size=(4, 2)), "item_bias": np.zeros(4), "user_feature_names": np.array(["a"]),
        "user_feature_vectors": np.zeros((1, 2)), "item_feature_names": np.array(["b"]),
        "item_feature_vectors": np.zeros((1, 2)), "item_feature_bias": np.zeros(1), "price_edges": np.zeros(0),
        "item_category": np.zeros(4), "popular_recent": np.ones(4), "blend_alpha": np.array(1.0),
    }
    model = serving.LoadedModel.from_arrays(1, arrays)
    assert model.discovery_beta == 0.0 and model.item_item.shape == (4, 4) and model.item_item.nnz == 0
