"""rollups_refresh recomputes exactly the touched cells: after adding, back-filling and deleting events,
refreshing only their window leaves the same rows as rebuilding everything, and refreshing twice changes
nothing."""

from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest

from analytics.models import (
    CohortMonthly,
    ProductDaily,
    ProductMonthly,
    ProductScope,
    ProductWeekly,
    PurchaserDay,
    PurchaserGap,
    ScopeBuyersDaily,
    ScopeDaily,
)
from analytics.services import rollups_rebuild, rollups_refresh
from behavior.models import Event, EventKind

MODELS = (ProductScope, ProductDaily, ProductMonthly, ProductWeekly, ScopeDaily, PurchaserDay, PurchaserGap,
          ScopeBuyersDaily, CohortMonthly)


def snapshot() -> dict:
    out = {}
    for model in MODELS:
        fields = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        out[model.__name__] = sorted(model.objects.values_list(*fields), key=repr)
    return out


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=dt_timezone.utc)


@pytest.mark.django_db
def test_refresh_after_new_backfilled_and_deleted_events_equals_a_rebuild(shop):
    # given: rollups of the generated shop
    rollups_rebuild()
    customers, products = shop["customers"], shop["products"]
    before = snapshot()
    # when: a day of new events, one customer's purchase before all their others (a new first purchase,
    # moving their cohort), and a day's purchases of one product deleted
    new = [
        Event(event_id="N1", customer=customers[0], product=products[1], kind=EventKind.PURCHASE,
              occurred_at=utc(2024, 6, 1, 23, 30), quantity=2, unit_price=Decimal("3.10"), order_ref="N"),
        Event(event_id="N2", customer=None, product=products[11], kind=EventKind.PURCHASE,
              occurred_at=utc(2024, 6, 1, 10), quantity=1, unit_price=Decimal("9.99")),
        Event(event_id="N3", customer=customers[5], product=products[1], kind=EventKind.VIEW,
              occurred_at=utc(2024, 6, 1, 9)),
    ]
    Event.objects.bulk_create(new)
    rollups_refresh(start=utc(2024, 6, 1, 9), end=utc(2024, 6, 1, 23, 30),
                    product_ids=[products[1].pk, products[11].pk])
    first_buy = Event.objects.filter(customer=customers[3], kind=EventKind.PURCHASE).order_by("occurred_at").first()
    early = first_buy.occurred_at - timedelta(days=40)
    Event.objects.create(event_id="N4", customer=customers[3], product=products[4], kind=EventKind.PURCHASE,
                         occurred_at=early, quantity=1, unit_price=Decimal("1.00"), order_ref="EARLY")
    rollups_refresh(start=early, end=early, product_ids=[products[4].pk])
    doomed = Event.objects.filter(product=products[2], kind=EventKind.PURCHASE).order_by("occurred_at").first()
    window = Event.objects.filter(product=products[2], occurred_at__date=doomed.occurred_at.date())
    lo, hi = min(e.occurred_at for e in window), max(e.occurred_at for e in window)
    window.delete()
    rollups_refresh(start=lo, end=hi, product_ids=[products[2].pk])
    refreshed = snapshot()
    rollups_rebuild()
    # then
    assert refreshed != before
    assert refreshed == snapshot()


@pytest.mark.django_db
def test_refresh_is_idempotent_and_ignores_an_empty_product_list(shop):
    # given
    rollups_rebuild()
    before = snapshot()
    # when
    for _ in range(2):
        rollups_refresh(start=utc(2024, 3, 30), end=utc(2024, 4, 2), product_ids=None)
    rollups_refresh(start=utc(2024, 3, 30), end=utc(2024, 4, 2), product_ids=[])
    # then
    assert snapshot() == before
