"""Daily series from events: returns subtract, days are the shop's, missing days are zero, categories roll up."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from analytics.services import rollups_rebuild
from behavior.models import EventKind
from forecasting.models import Measure
from forecasting.params import ForecastParams
from forecasting.selectors import daily_series, sales_date_range, top_product_ids
from tests import factories

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def hand_made(settings):
    # Given a parent category with a child, a product in each and one without a category, in London time
    settings.SHOP_TIME_ZONE = "Europe/London"
    home = factories.category("Home")
    kitchen = factories.category("Kitchen", parent=home)
    mug = factories.product("MUG", price="2.00", category=kitchen)
    lamp = factories.product("LAMP", price="10.00", category=home)
    loose = factories.product("LOOSE", price="1.00")
    # 1 June: 3 mugs bought, 1 returned; 23:30 UTC on 2 June is 00:30 on 3 June in London (BST)
    factories.event(customer=None, product=mug, occurred_at=at("2024-06-01 09:00"), quantity=3)
    factories.event(customer=None, product=mug, kind=EventKind.RETURN, occurred_at=at("2024-06-01 17:00"), quantity=1)
    factories.event(customer=None, product=mug, occurred_at=at("2024-06-02 23:30"), quantity=2, unit_price="1.50")
    # 2 June: nothing else; 4 June: 1 lamp and 5 loose items; views never count
    factories.event(customer=None, product=lamp, occurred_at=at("2024-06-04 10:00"), quantity=1)
    factories.event(customer=None, product=loose, occurred_at=at("2024-06-04 11:00"), quantity=5)
    factories.event(customer=None, product=lamp, kind=EventKind.VIEW, occurred_at=at("2024-06-05 11:00"))
    rollups_rebuild()  # what ingestion keeps current; the series are read from it
    return {"home": home, "kitchen": kitchen, "mug": mug, "lamp": lamp, "loose": loose}


def test_sales_days_are_counted_in_the_shop_time_zone(hand_made):
    assert sales_date_range() == (date(2024, 6, 1), date(2024, 6, 4))


def test_units_net_of_returns_with_zero_days_and_category_roll_up(hand_made):
    # When the daily unit series are built for 1-4 June
    panel = daily_series(measure=Measure.UNITS, start=date(2024, 6, 1), end=date(2024, 6, 4),
                         product_ids=[hand_made["mug"].pk, hand_made["lamp"].pk])
    series = {key: panel.values[i].tolist() for i, key in enumerate(panel.keys)}
    # Then returns subtract, 2 June is zero, the 23:30 UTC sale is on 3 June, and Home includes Kitchen
    assert series == {
        ("total", None): [2.0, 0.0, 2.0, 6.0],
        ("category", hand_made["home"].pk): [2.0, 0.0, 2.0, 1.0],
        ("category", hand_made["kitchen"].pk): [2.0, 0.0, 2.0, 0.0],
        ("product", hand_made["mug"].pk): [2.0, 0.0, 2.0, 0.0],
        ("product", hand_made["lamp"].pk): [0.0, 0.0, 0.0, 1.0],
    }


def test_revenue_net_of_returns_uses_each_event_price(hand_made):
    panel = daily_series(measure=Measure.REVENUE, start=date(2024, 6, 1), end=date(2024, 6, 4), product_ids=[],
                         categories=False)
    # 3 x 2.00 - 1 x 2.00 | 0 | 2 x 1.50 | 1 x 10.00 + 5 x 1.00
    assert panel.keys == [("total", None)]
    assert panel.values[0].tolist() == [4.0, 0.0, 3.0, 15.0]


def test_top_products_by_net_units(hand_made):
    assert top_product_ids(limit=2) == [hand_made["loose"].pk, hand_made["mug"].pk]
    assert top_product_ids(limit=None) == [hand_made["loose"].pk, hand_made["mug"].pk, hand_made["lamp"].pk]


def test_a_forecast_run_first_catches_up_refreshes_a_worker_has_not_done_yet(
        shop, broker_mode, django_capture_on_commit_callbacks, monkeypatch):
    from analytics.models import PendingRefresh
    from behavior.services import events_ingest
    from forecasting import services

    # Given the planted shop, and a batch stored while the rollup refresh is left to a worker
    with django_capture_on_commit_callbacks(execute=False):
        outcome = events_ingest(events=[{"event_id": "late-1", "product_sku": "MUG", "kind": "purchase",
                                         "occurred_at": "2024-07-14T12:30:00Z", "quantity": 1000,
                                         "unit_price": "2.50"}])
    assert outcome.stored == 1 and PendingRefresh.objects.count() == 1
    seen = {}
    real = services.daily_series

    def spy(**kwargs):
        seen["panel"] = real(**kwargs)
        return seen["panel"]

    monkeypatch.setattr(services, "daily_series", spy)
    # When a forecast runs
    services.forecast_run(params=ForecastParams(horizon=14, top_products=3), n_jobs=1)
    # Then the pending window was drained and the late 1,000 units are in the last day of the series
    assert not PendingRefresh.objects.exists()
    panel = seen["panel"]
    mug = panel.keys.index(("product", shop["mug"].pk))
    planted_last_day = shop["mug_sales"][-1]
    assert panel.values[mug, -1] == planted_last_day + 1000
    assert panel.values[panel.keys.index(("total", None)), -1] >= 1000
