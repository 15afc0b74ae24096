"""A hand-made shop where every figure is worked out by hand: the previous period, the rates, the
shop-local day boundary, gross revenue beside returns, anonymous lines, new versus returning, cohorts."""

from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal

import pytest

from analytics import selectors as s
from analytics.services import rollups_rebuild
from behavior.models import EventKind
from tests import factories as f


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=dt_timezone.utc)


@pytest.fixture
def handmade(db):
    root = f.category("Root")
    leaf = f.category("Leaf", parent=root)
    a = f.product("A", price="10.00", category=leaf)
    b = f.product("B", price="5.00", category=root)
    c = f.product("C", price="7.50")
    ann, bob, cy = f.customer("ann"), f.customer("bob"), f.customer("cy")

    def buy(who, product, at, quantity, order_ref=""):
        f.event(customer=who, product=product, occurred_at=at, quantity=quantity, order_ref=order_ref)

    # Previous period, 26 Feb - 3 Mar 2024: ann's first order, cy's first order, 20 views of A.
    buy(ann, b, utc(2024, 2, 27, 12), 1, "P1")
    buy(cy, a, utc(2024, 3, 1, 12), 3, "P2")
    for _ in range(20):
        f.event(customer=cy, product=a, kind=EventKind.VIEW, occurred_at=utc(2024, 3, 2, 9))
    # Current period, 4 - 10 Mar 2024.
    buy(ann, a, utc(2024, 3, 4, 12), 2, "O1")
    buy(ann, b, utc(2024, 3, 4, 12), 1, "O1")
    buy(bob, a, utc(2024, 3, 5, 12), 1, "O2")
    buy(None, b, utc(2024, 3, 6, 12), 2)  # anonymous, no order reference: an order of its own
    buy(ann, c, utc(2024, 3, 10, 23, 30), 1, "O3")  # 23:30 GMT is still 10 March in London
    buy(cy, a, utc(2024, 3, 11, 0, 30), 1, "O4")  # 11 March: after the period
    f.event(customer=bob, product=a, kind=EventKind.RETURN, occurred_at=utc(2024, 3, 7, 12), quantity=1)
    for product, views, carts in ((a, 6, 3), (b, 3, 1), (c, 1, 0)):
        for _ in range(views):
            f.event(customer=bob, product=product, kind=EventKind.VIEW, occurred_at=utc(2024, 3, 8, 12))
        for _ in range(carts):
            f.event(customer=bob, product=product, kind=EventKind.ADD_TO_CART, occurred_at=utc(2024, 3, 8, 13))
    rollups_rebuild()
    return {"root": root, "leaf": leaf, "a": a, "b": b, "c": c}


WEEK = {"date_from": date(2024, 3, 4), "date_to": date(2024, 3, 10)}


@pytest.mark.parametrize("selector", [s.sales_summary, s.sales_summary_raw])
def test_summary_and_previous_period(handmade, selector):
    # when
    summary = selector(**WEEK)
    # then: 25.00 (O1) + 10.00 (O2) + 10.00 (anonymous) + 7.50 (O3), gross of bob's 10.00 return
    now, before = summary.current, summary.previous
    assert (summary.previous_from, summary.previous_to) == (date(2024, 2, 26), date(2024, 3, 3))
    assert (now.revenue, now.orders, now.units, now.customers) == (Decimal("52.50"), 4, 7, 2)
    assert now.average_order_value == Decimal("13.13")  # 13.125 rounded half up
    assert now.conversion_rate == 5 / 10  # five purchase lines, ten views
    assert (now.returned_units, now.returned_value) == (1, Decimal("10.00"))
    assert (before.revenue, before.orders, before.units, before.customers) == (Decimal("35.00"), 2, 4, 2)
    assert before.average_order_value == Decimal("17.50")
    assert before.conversion_rate == 2 / 20


@pytest.mark.parametrize("selector", [s.sales_summary, s.sales_summary_raw])
def test_summary_in_a_category_includes_its_descendants(handmade, selector):
    # when: Root holds B directly and A through Leaf; C is uncategorised
    now = selector(category_id=handmade["root"].pk, **WEEK).current
    # then
    assert (now.revenue, now.orders, now.units, now.customers) == (Decimal("45.00"), 3, 6, 2)
    assert now.average_order_value == Decimal("15.00")
    assert now.conversion_rate == 4 / 9


@pytest.mark.parametrize("selector", [s.funnel, s.funnel_raw])
def test_funnel_rates(handmade, selector):
    # when
    steps = selector(product_id=handmade["a"].pk, **WEEK)
    # then
    assert (steps.views, steps.add_to_carts, steps.purchases) == (6, 3, 2)
    assert (steps.view_to_cart_rate, steps.cart_to_purchase_rate, steps.view_to_purchase_rate) == (0.5, 2 / 3, 1 / 3)


def test_series_by_week_and_day(handmade):
    # when
    weekly = s.sales_series(date_from=date(2024, 2, 26), date_to=date(2024, 3, 10), interval="WEEK")
    daily = s.sales_series(date_from=date(2024, 3, 9), date_to=date(2024, 3, 11), interval="DAY")
    # then
    assert weekly.dates == [date(2024, 2, 26), date(2024, 3, 4)]
    assert weekly.revenue == [Decimal("35.00"), Decimal("52.50")]
    assert (weekly.units, weekly.orders) == ([4, 7], [2, 4])
    assert daily.revenue == [Decimal("0.00"), Decimal("7.50"), Decimal("10.00")]


def test_top_products_and_category_share(handmade):
    # when
    top = s.top_products(by="REVENUE", first=2, **WEEK)
    share = s.category_share(**WEEK)
    # then: A 30.00, B 15.00, C 7.50
    assert [(p.sku, p.revenue, p.units, p.views) for p in top] == [("A", Decimal("30.00"), 3, 6),
                                                                   ("B", Decimal("15.00"), 3, 3)]
    assert share.total_revenue == Decimal("52.50")
    assert [(c.name, c.revenue, c.share) for c in share.categories] == [("Root", Decimal("45.00"), 45 / 52.5)]


def test_new_versus_returning_and_cohorts(handmade):
    # when
    split = s.customers_new_returning(interval="WEEK", date_from=date(2024, 2, 26), date_to=date(2024, 3, 10))
    cohorts = s.cohort_retention(date_from=date(2024, 2, 1), date_to=date(2024, 3, 31))
    # then: week 1 ann and cy are new; week 2 bob is new and ann returns (cy's next order is on the 11th)
    assert (split.new, split.returning) == ([2, 1], [0, 1])
    assert (split.total_new, split.total_returning) == (3, 0)
    assert cohorts.cohort_months == [date(2024, 2, 1), date(2024, 3, 1)]
    assert cohorts.customers == [[1, 1], [2]]  # February: ann, back in March; March: bob and cy
    assert cohorts.rates == [[1.0, 1.0], [1.0]]
