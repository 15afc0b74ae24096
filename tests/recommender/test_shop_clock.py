"""The shop clock: "now" is the latest stored event capped by the wall clock, and serving measures a
customer's history from it, as training measured it from the data's end."""

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from behavior.models import Customer, Event, EventKind
from behavior.selectors import shop_clock, shop_now
from catalog.models import Product
from recommender import engine, serving
from recommender.selectors import Strategy, recommendations_for

from .conftest import END, train


@pytest.mark.django_db
def test_shop_now_is_the_latest_event_capped_by_the_wall_clock():
    # given no events, then one from years ago, then one dated in the future
    before = timezone.now()
    assert before <= shop_now() <= timezone.now()
    product = Product.objects.create(sku="S1", name="One", price=Decimal("1.00"))
    customer = Customer.objects.create(external_id="C1")
    Event.objects.create(event_id="old", customer=customer, product=product, kind=EventKind.VIEW, occurred_at=END)
    assert shop_now() == END
    Event.objects.create(event_id="future", customer=customer, product=product, kind=EventKind.VIEW,
                         occurred_at=timezone.now() + timedelta(days=3))
    # then the future event never moves the clock past the wall clock
    assert before <= shop_now() <= timezone.now()
    assert shop_clock(None) >= before and shop_clock(END) == END


def _expected_next_basket(model: serving.LoadedModel, customer: Customer, now_seconds: float) -> list[int]:
    """The next-basket ranking the evaluation scores (engine.next_basket_scores), with ages from ``now_seconds``."""
    rows = Event.objects.filter(customer=customer, kind=EventKind.PURCHASE).values_list("product_id", "occurred_at")
    bought = np.array([product for product, _ in rows], dtype=np.int64)
    ages = np.array([(now_seconds - at.timestamp()) / 86400.0 for _, at in rows])
    row = engine.index_of(model.user_ids, [customer.pk])[0]
    scores = engine.model_scores(model.item_vectors, model.item_bias, model.user_vectors[row])
    columns = engine.index_of(model.item_ids, bought)
    blended = engine.next_basket_scores(scores, columns, ages, blend_alpha=model.blend_alpha,
                                        history_half_life_days=model.history_half_life_days, trend=model.trend,
                                        trend_weight=model.trend_weight)
    best, _ = engine.best_items(blended, 10)
    return model.item_ids[best].tolist()


def test_a_shop_with_events_from_years_ago_serves_the_ranking_the_evaluation_scored(shop):
    # given a shop whose events end in mid-2024 (years before the wall clock) and a version trained on it
    job = train({"history_half_life_days": 30.0})
    assert job.status == "SUCCEEDED", job.error_message
    model = serving.loaded_model()
    assert model is not None
    data_end = Event.objects.order_by("-occurred_at").values_list("occurred_at", flat=True)[0].timestamp()
    differs = 0
    for customer in shop.customers[:20]:
        # when a customer asks for their next basket
        served = recommendations_for(customer_external_id=customer.external_id, first=10, exclude_purchased=False)
        assert served.strategy == Strategy.PERSONALIZED
        # then their history is aged from the data's end, as the evaluation aged it
        assert [r.product.pk for r in served.items] == _expected_next_basket(model, customer, data_end)
        differs += _expected_next_basket(model, customer, timezone.now().timestamp()) != [
            r.product.pk for r in served.items]
    # (aged from the wall clock, a 30-day half-life would have erased their history: other rankings)
    assert differs >= 10
