"""The synthetic shapes of shop (behavior/shop_shapes.py) have the shape they claim, and on one with planted
session intents the session ranking finds the rest of held-out sessions better than its references."""

import numpy as np
import pandas as pd
import pytest

from behavior.services import shop_frames_load
from behavior.shop_shapes import generate_shape, shape
from behavior.synthetic import SyntheticData
from catalog.models import Product
from recommender import engine, serving

from .conftest import FAST, train


def _purchases(data):
    return data.events[data.events["kind"] == "purchase"]


def test_nobody_rebuys_in_the_no_rebuy_shop_and_grocery_customers_do():
    no_rebuy = _purchases(generate_shape(shape("no_rebuy", customers=200)))
    assert not no_rebuy.duplicated(["customer_external_id", "product_sku"]).any()
    grocery = _purchases(generate_shape(shape("grocery", customers=100, products=1000)))
    assert grocery.duplicated(["customer_external_id", "product_sku"]).mean() > 0.3
    assert grocery["product_sku"].nunique() > 500


def test_few_recent_customers_and_years_ago_data():
    few = generate_shape(shape("few_recent", customers=600)).events
    recent = few[few["occurred_at"] >= few["occurred_at"].max() - pd.Timedelta(days=58)]
    assert recent["customer_external_id"].nunique() <= 0.06 * 600
    old = generate_shape(shape("years_ago", customers=50)).events
    assert old["occurred_at"].max() < pd.Timestamp("2020-01-01", tz="UTC")


def test_every_session_views_items_of_its_planted_intent():
    data = generate_shape(shape("no_rebuy", customers=100))
    leaf_of = dict(zip(data.products["sku"], data.products["category_slug"]))
    views = data.events[data.events["kind"] == "view"]
    intents = data.truth["session_intent"]
    assert all(leaf_of[sku] == intents[session] for sku, session in zip(views["product_sku"], views["session_id"]))


@pytest.mark.django_db
def test_session_ranking_finds_the_rest_of_held_out_sessions():
    # given a shop of planted intents, stored up to 30 days before its end, and a version trained on it
    data = generate_shape(shape("years_ago", customers=400))
    cut = data.events["occurred_at"].max() - pd.Timedelta(days=30)
    held = data.events["occurred_at"] >= cut
    shop_frames_load(data=SyntheticData(categories=data.categories, products=data.products,
                                        customers=data.customers, events=data.events[~held].reset_index(drop=True)),
                     source="test")
    assert train({**FAST, "test_days": None, "validation_days": None}).status == "SUCCEEDED"
    model = serving.loaded_model()
    # when the held-out sessions are replayed: two events seen, the rest's items to find
    product_id = dict(Product.objects.values_list("sku", "id"))
    sessions, truths = [], []
    for _, events in data.events[held].groupby("session_id"):
        if len(events) >= 3:
            columns = engine.index_of(model.item_ids, events["product_sku"].map(product_id).to_numpy(dtype=np.int64))
            sessions.append((columns[:2], events["kind"].tolist()[:2], np.array([1.0, 0.0])))
            truths.append(np.unique(columns[2:]))
    figures = engine.replay(sessions, truths, item_item=model.item_item, item_unit=model.item_unit,
                            popular=model.popular_recent, minutes=30)
    # then the session ranking beats recent popularity several times over, and the last item alone
    assert len(sessions) > 100
    assert figures["session"]["ndcg@10"] > 3 * figures["popularity"]["ndcg@10"]
    assert figures["session"]["precision@10"] > figures["last item"]["precision@10"], figures
