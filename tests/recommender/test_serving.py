"""Serving: strategies, exclusion, category filter, similar products, cache swap on version change."""

from datetime import timedelta

import numpy as np
import pytest
import scipy.sparse as sp

from behavior.models import Customer, Event, EventKind
from recommender import serving
from recommender.models import ModelVersion
from recommender.selectors import Strategy, recommendations_for, similar_products
from recommender.services import model_version_activate

from .conftest import COUNTRIES, END, train


@pytest.fixture
def trained(shop):
    job = train()
    assert job.status == "SUCCEEDED", job.error_message
    return shop


def _bought(customer):
    return set(Event.objects.filter(customer=customer, kind=EventKind.PURCHASE).values_list("product_id", flat=True))


def test_known_customer_gets_personal_picks_from_their_favourite_category_never_bought(trained):
    shop = trained
    share = []
    for customer in shop.customers[:40]:
        result = recommendations_for(customer_external_id=customer.external_id, first=10)
        assert result.strategy == Strategy.PERSONALIZED
        assert len(result.items) == 10
        ids = [r.product.pk for r in result.items]
        assert not set(ids) & _bought(customer)  # discovery: nothing they already bought
        assert [r.score for r in result.items] == sorted((r.score for r in result.items), reverse=True)
        share.append(np.mean([shop.product_top[p] == shop.favourite[customer.pk] for p in ids]))
    # the planted affinity is recovered: most picks are in the customer's favourite category
    assert np.mean(share) >= 0.7


def test_next_basket_brings_back_what_the_customer_buys(trained):
    customer = trained.customers[0]
    result = recommendations_for(customer_external_id=customer.external_id, first=10, exclude_purchased=False)
    assert result.strategy == Strategy.PERSONALIZED
    assert {r.product.pk for r in result.items} & _bought(customer)


def test_customer_unseen_by_the_model_is_placed_by_their_country(trained):
    shop = trained
    for fav, country in enumerate(COUNTRIES):
        Customer.objects.create(external_id=f"NEW{fav}", country=country)
        result = recommendations_for(customer_external_id=f"NEW{fav}", first=10)
        assert result.strategy == Strategy.COLD_START_FEATURES
        share = np.mean([shop.product_top[r.product.pk] == fav for r in result.items])
        assert share >= 0.7, (country, share)


def test_customer_unseen_with_unknown_features_and_anonymous_visitors_get_popular_items(trained):
    Customer.objects.create(external_id="FAR", country="Atlantis")
    version = ModelVersion.objects.get(is_active=True)
    for who in ("FAR", None, "nobody-by-that-id"):
        result = recommendations_for(customer_external_id=who, first=5)
        assert result.strategy == Strategy.POPULAR
        assert result.model_version_id == version.pk
        assert len(result.items) == 5
    # the popular list is the recent window's: the first item is the most bought in the last 30 days
    recent = Event.objects.filter(kind=EventKind.PURCHASE, occurred_at__gte=END - timedelta(days=31))
    buyers = {}
    for product_id, customer_id in recent.values_list("product_id", "customer_id"):
        buyers.setdefault(product_id, set()).add(customer_id)
    top = max(buyers, key=lambda p: len(buyers[p]))
    assert len(buyers[result.items[0].product.pk]) == len(buyers[top])


def test_without_any_model_everyone_gets_popular_items(shop):
    result = recommendations_for(customer_external_id=shop.customers[0].external_id, first=3)
    assert result.strategy == Strategy.POPULAR and result.model_version_id is None
    assert len(result.items) == 3
    assert not {r.product.pk for r in result.items} & _bought(shop.customers[0])


def test_category_filter_keeps_the_subtree_only(trained):
    shop = trained
    top = shop.tops[2]
    allowed = {s.pk for s in shop.subs[2]}
    for who in (shop.customers[0].external_id, None):
        result = recommendations_for(customer_external_id=who, first=8, category_id=top.pk)
        assert len(result.items) == 8
        assert {r.product.category_id for r in result.items} <= allowed
    sub = shop.subs[1][0]
    result = recommendations_for(customer_external_id=shop.customers[1].external_id, first=5, category_id=sub.pk)
    assert {r.product.category_id for r in result.items} == {sub.pk}


def test_similar_products_come_from_the_same_category(trained):
    shop = trained
    product = shop.products[0]
    result = similar_products(sku=product.sku, first=5)
    assert len(result) == 5
    assert product.pk not in {r.product.pk for r in result}
    assert np.mean([shop.product_top[r.product.pk] == shop.product_top[product.pk] for r in result]) >= 0.8
    assert similar_products(sku="NO-SUCH-SKU") == []


def test_switching_the_active_version_drops_the_old_arrays(trained, settings, django_user_model,
                                                           django_capture_on_commit_callbacks):
    first = ModelVersion.objects.get(is_active=True)
    held = serving.loaded_model()
    assert held.version_id == first.pk
    second = ModelVersion.objects.get(pk=train({"seed": 5, "activate": False}).result_id)
    # a long check interval: the process keeps its arrays until told otherwise...
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 3600
    assert serving.loaded_model() is held
    # ...and activating in this process swaps them on commit
    with django_capture_on_commit_callbacks(execute=True):
        model_version_activate(version_id=second.pk, user=django_user_model.objects.create_user("ops", is_staff=True))
    swapped = serving.loaded_model()
    assert swapped.version_id == second.pk and swapped is not held
    assert recommendations_for(customer_external_id=None).model_version_id == second.pk


def test_another_process_activating_is_seen_after_the_check_interval(trained, settings):
    first = ModelVersion.objects.get(is_active=True)
    second = ModelVersion.objects.get(pk=train({"seed": 5, "activate": False}).result_id)
    assert serving.loaded_model().version_id == first.pk
    # another process switches the row directly (no in-process notification)
    ModelVersion.objects.filter(pk=first.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=second.pk).update(is_active=True)
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 0
    assert serving.loaded_model().version_id == second.pk


def test_discovery_ranking_follows_the_item_to_item_term(trained):
    # given the active model, and a customer who bought items with a planted strong partner each
    customer = trained.customers[3]
    model = serving.loaded_model()
    bought = sorted(_bought(customer))
    cols = model.item_ids.searchsorted(bought)
    partner_pk = next(p.pk for p in trained.products if p.pk not in bought
                      and trained.product_top[p.pk] != trained.favourite[customer.pk])
    partner = int(model.item_ids.searchsorted(partner_pk))
    weights = sp.lil_matrix(model.item_item.shape, dtype=np.float32)
    for col in cols:
        weights[col, partner] = 50.0
    model.item_item, model.discovery_beta = weights.tocsr(), 1.0
    # when
    result = recommendations_for(customer_external_id=customer.external_id, first=10)
    # then that partner (outside the customer's favourite category) comes first, and nothing bought is shown
    assert result.items[0].product.pk == partner_pk
    assert not {r.product.pk for r in result.items} & set(bought)
    # and the next basket ignores the term
    repeats = recommendations_for(customer_external_id=customer.external_id, first=10, exclude_purchased=False)
    assert repeats.items[0].product.pk != partner_pk
