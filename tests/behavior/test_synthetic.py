"""The synthetic generator: seeded, and the planted structure is really there."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from behavior.models import Customer, Event, ImportReport
from behavior.services import synthetic_load
from behavior.synthetic import SEGMENTS, TREE, WEEKLY, SyntheticSpec, day_weights, generate
from catalog.models import Category, Product

SPEC = SyntheticSpec(seed=3, customers=2000, products=120, events_per_customer=30.0)


@pytest.fixture(scope="module")
def data():
    return generate(SPEC)


def _per_customer(data) -> pd.DataFrame:
    events = data.events
    purchases = events[events.kind == "purchase"]
    end = pd.Timestamp(SPEC.start, tz="UTC") + pd.Timedelta(days=SPEC.days)
    per = purchases.groupby("customer_external_id", observed=True).agg(
        orders=("order_ref", "nunique"), last=("occurred_at", "max"), first=("occurred_at", "min"))
    per["spend"] = (purchases.quantity * purchases.unit_price).groupby(purchases.customer_external_id,
                                                                       observed=True).sum()
    per["recency"] = (end - per["last"]).dt.days
    per["first_ago"] = (end - per["first"]).dt.days
    per["segment"] = per.index.map(data.truth["segment"])
    return per


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(data):
    again = generate(SPEC)
    pd.testing.assert_frame_equal(again.events, data.events)
    pd.testing.assert_frame_equal(again.customers, data.customers)
    other = generate(SyntheticSpec(seed=4, customers=2000, products=120))
    assert not other.events.occurred_at.equals(data.events.occurred_at)


def test_the_shop_has_the_asked_size_and_a_two_level_category_tree(data):
    assert len(data.customers) == 2000 and len(data.products) == 120
    roots = data.categories[data.categories.parent_slug.isna()]
    assert sorted(roots.name) == sorted(TREE)
    assert len(data.categories) == len(TREE) + sum(len(c) for c in TREE.values())
    assert set(data.categories.parent_slug.dropna()) <= set(roots.slug)  # two levels
    assert set(data.products.category_slug) <= set(data.categories.slug[data.categories.parent_slug.notna()])


def test_the_volume_is_about_events_per_customer_times_customers(data):
    assert 0.9 * 60_000 < len(data.events) < 1.1 * 60_000
    # exactly, for this seed (pinned numpy)
    assert data.events.kind.value_counts().to_dict() == {
        "view": 40_567, "add_to_cart": 10_214, "purchase": 9_221, "review": 2_282, "return": 280}


def test_every_event_has_its_own_id(data):
    assert data.events.event_id.is_unique


def test_the_truth_names_every_customers_planted_segment(data):
    assert set(data.customers.segment) == set(SEGMENTS)
    assert data.truth["segment"] == dict(zip(data.customers.external_id, data.customers.segment))


def test_sales_have_a_price_and_every_event_a_quantity(data):
    sales = data.events[data.events.kind.isin(["purchase", "return"])]
    assert sales.unit_price.notna().all() and (data.events.quantity >= 1).all()


def test_reviews_have_a_rating_from_1_to_5(data):
    reviews = data.events[data.events.kind == "review"]
    assert reviews.rating.between(1, 5).all() and len(reviews) == 2_282


def test_segments_differ_in_recency_frequency_and_spend(data):
    per = _per_customer(data)
    med = per.groupby("segment")[["recency", "orders", "spend"]].median()
    # Recency: Champions and New bought in the last weeks, At risk and Hibernating long ago.
    assert med.loc["Champions", "recency"] <= 14 and med.loc["New", "recency"] <= 30
    assert med.loc["Loyal", "recency"] <= 45
    assert per[per.segment == "At risk"].recency.min() >= 0.4 * SPEC.days - 1
    assert per[per.segment == "Hibernating"].recency.min() >= 0.5 * SPEC.days - 1
    # Frequency and spend.
    assert med.loc["Champions", "orders"] > med.loc["Loyal", "orders"] > med.loc["Hibernating", "orders"]
    assert med.loc["At risk", "orders"] > med.loc["Hibernating", "orders"]
    assert med.loc["Champions", "spend"] > 2 * med.loc["Loyal", "spend"] > 2 * med.loc["Hibernating", "spend"]
    # New: first purchase in the last 30 days, one or two orders.
    new = per[per.segment == "New"]
    assert new.first_ago.max() <= 30 and new.orders.max() <= 2
    assert per[per.segment == "Hibernating"].orders.max() <= 2


def test_customers_buy_mostly_in_their_favourite_top_level_category(data):
    events = data.events[data.events.customer_external_id.notna()]
    root_of_leaf = data.categories.set_index("slug").parent_slug
    product_root = data.products.set_index("sku").category_slug.map(root_of_leaf)
    root = events.product_sku.astype(str).map(product_root)
    favourite = events.customer_external_id.astype(str).map(data.truth["favourite_category"])
    share = float((root == favourite).mean())
    # 85 % of sessions in the favourite root, plus 1/6 of the other 15 %.
    assert 0.85 < share < 0.91


def test_daily_demand_follows_the_planted_weekly_and_yearly_pattern():
    big = generate(SyntheticSpec(seed=5, customers=6000, products=60, events_per_customer=20, days=365))
    views = big.events[big.events.kind == "view"]
    local_days = views.occurred_at.dt.tz_convert("Europe/London").dt.normalize().dt.tz_localize(None)
    counts = local_days.value_counts().reindex(pd.date_range(SPEC.start, periods=365), fill_value=0)
    weekday = counts.groupby(counts.index.dayofweek).mean().to_numpy()
    ratio = weekday / weekday.mean()
    planted = np.asarray(WEEKLY) / np.mean(WEEKLY)
    assert np.abs(ratio - planted).max() < 0.08
    assert big.truth["weekly"] == WEEKLY
    # Only the segments active all year follow the yearly curve exactly; the correlation is still strong.
    weights = day_weights(SyntheticSpec(days=365))
    monthly = counts.groupby(counts.index.month).sum().to_numpy()
    planted_monthly = pd.Series(weights, index=counts.index).groupby(counts.index.month).sum().to_numpy()
    assert np.corrcoef(monthly[:7], planted_monthly[:7])[0, 1] > 0.9  # before the At-risk share stops


def test_anonymous_share_adds_events_without_a_customer():
    data = generate(SyntheticSpec(seed=1, customers=300, products=30, anonymous_share=0.2))
    share = float(data.events.customer_external_id.isna().mean())
    assert 0.15 < share < 0.25


@pytest.mark.django_db(transaction=False)
def test_synthetic_load_stores_everything_once_through_the_import_path():
    spec = SyntheticSpec(seed=2, customers=60, products=30, events_per_customer=10, start=date(2024, 1, 1))
    data = synthetic_load(spec=spec)
    assert Event.objects.count() == len(data.events)
    assert Customer.objects.count() == 60 and Product.objects.count() == 30
    assert Category.objects.filter(parent__isnull=True).count() == len(TREE)
    report = ImportReport.objects.get()
    assert (report.kind, report.status) == ("synthetic", "succeeded")
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (
        len(data.events), len(data.events), 0, 0)

    # A second load of the same seed stores nothing new.
    synthetic_load(spec=spec)
    assert Event.objects.count() == len(data.events)
    second = ImportReport.objects.order_by("-id").first()
    assert (second.rows_stored, second.rows_duplicate) == (0, len(data.events))
