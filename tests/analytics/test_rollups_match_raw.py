"""Every rollup answer equals the same answer computed from raw events, on generated data."""

from datetime import date

import pytest

from analytics import selectors as s
from analytics.services import rollups_rebuild

RANGES = [
    (date(2024, 1, 1), date(2024, 5, 29)),   # everything
    (date(2024, 2, 6), date(2024, 2, 6)),    # one day (the straddling order's second day)
    (date(2024, 3, 20), date(2024, 4, 12)),  # across the clock change
    (date(2024, 2, 14), date(2024, 4, 30)),  # partial weeks and months at both ends
]


@pytest.fixture
def rolled(shop):
    rollups_rebuild()
    return shop


def _filters(shop):
    root, leaf, product = shop["roots"][0], shop["leaves"][1], shop["products"][3]
    return [{}, {"category_id": root.pk}, {"category_id": leaf.pk}, {"product_id": product.pk}]


@pytest.mark.django_db
def test_summary_matches_raw(rolled):
    for date_from, date_to in RANGES:
        for category in [None, rolled["roots"][0].pk, rolled["leaves"][2].pk]:
            # when
            fast = s.sales_summary(date_from=date_from, date_to=date_to, category_id=category)
            raw = s.sales_summary_raw(date_from=date_from, date_to=date_to, category_id=category)
            # then
            assert fast == raw


@pytest.mark.django_db
def test_series_and_funnel_match_raw(rolled):
    for date_from, date_to in RANGES:
        for filters in _filters(rolled):
            for interval in s.INTERVALS:
                assert s.sales_series(date_from=date_from, date_to=date_to, interval=interval, **filters) == \
                    s.sales_series_raw(date_from=date_from, date_to=date_to, interval=interval, **filters)
            assert s.funnel(date_from=date_from, date_to=date_to, **filters) == \
                s.funnel_raw(date_from=date_from, date_to=date_to, **filters)


@pytest.mark.django_db
def test_top_products_and_category_share_match_raw(rolled):
    for date_from, date_to in RANGES:
        for by in s.TOP_BY:
            assert s.top_products(date_from=date_from, date_to=date_to, by=by, first=20) == \
                s.top_products_raw(date_from=date_from, date_to=date_to, by=by, first=20)
        for parent in [None, rolled["roots"][0].pk, rolled["roots"][1].pk]:
            assert s.category_share(date_from=date_from, date_to=date_to, parent_id=parent) == \
                s.category_share_raw(date_from=date_from, date_to=date_to, parent_id=parent)


@pytest.mark.django_db
def test_customers_and_cohorts_match_raw(rolled):
    for date_from, date_to in RANGES:
        for category in [None, rolled["roots"][1].pk]:
            for interval in s.INTERVALS:
                assert s.customers_new_returning(date_from=date_from, date_to=date_to, interval=interval,
                                                 category_id=category) == \
                    s.customers_new_returning_raw(date_from=date_from, date_to=date_to, interval=interval,
                                                  category_id=category)
        assert s.cohort_retention(date_from=date_from, date_to=date_to) == \
            s.cohort_retention_raw(date_from=date_from, date_to=date_to)


@pytest.mark.django_db
def test_generated_data_is_not_trivial(rolled):
    # The comparisons above mean something only if there is something to count.
    # The generated shop (seeded) is known exactly: hundreds of orders, every customer buying, returns,
    # and a first cohort that comes back in later months.
    summary = s.sales_summary(date_from=date(2024, 1, 1), date_to=date(2024, 5, 29))
    assert (summary.current.orders, summary.current.customers, summary.current.returned_units) == (402, 40, 88)
    cohorts = s.cohort_retention(date_from=date(2024, 1, 1), date_to=date(2024, 5, 29))
    assert cohorts.customers[0] == [29, 21, 22, 21, 20]
