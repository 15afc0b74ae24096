"""Builders for segmentation tests: customers with planted RFM kinds, written in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product

AS_OF = date(2024, 12, 31)
LONDON = ZoneInfo("Europe/London")

# kind: (last purchase days ago range, orders range, order value range, first purchase spread in days)
PLANTED = {
    "Champions": ((0, 15), (15, 30), (120, 200), 300),
    "Loyal": ((10, 50), (5, 10), (40, 70), 300),
    "At risk": ((150, 300), (6, 14), (60, 110), 60),
    "Hibernating": ((200, 360), (1, 2), (10, 25), 0),
    "New": ((0, 20), (1, 2), (30, 60), 0),
}

PREFIX = {"Champions": "CHA", "Loyal": "LOY", "At risk": "ATR", "Hibernating": "HIB", "New": "NEW"}


@dataclass
class Planted:
    truth: dict[str, str]  # external_id -> planted kind
    as_of: date


def plant_customers(per_kind: int = 120, seed: int = 7) -> Planted:
    """Customers of each planted kind, each order one purchase line, all in shop-time days before AS_OF."""
    rng = np.random.default_rng(seed)
    root = Category.objects.create(name="Home", slug="plant-home")
    products = Product.objects.bulk_create(
        [Product(sku=f"PLANT{i}", name=f"Planted {i}", price=Decimal("10.00"), category=root) for i in range(5)]
    )
    truth, customers = {}, []
    for kind in PLANTED:
        for i in range(per_kind):
            external_id = f"{PREFIX[kind]}{i:04d}"
            truth[external_id] = kind
            customers.append(Customer(external_id=external_id))
    customers = Customer.objects.bulk_create(customers)
    events = []
    end = datetime.combine(AS_OF, time(12, 0), tzinfo=LONDON)
    n = 0
    for customer in customers:
        (r_lo, r_hi), (f_lo, f_hi), (v_lo, v_hi), spread = PLANTED[truth[customer.external_id]]
        last = int(rng.integers(r_lo, r_hi + 1))
        orders = int(rng.integers(f_lo, f_hi + 1))
        span = spread if orders > 1 and spread else (10 if orders > 1 else 0)
        days = [last] + sorted(int(d) for d in rng.integers(last + 1, last + 2 + span, size=orders - 1))
        for j, ago in enumerate(days):
            n += 1
            value = Decimal(str(round(float(rng.uniform(v_lo, v_hi)), 2)))
            events.append(Event(
                event_id=f"PE{n}", customer=customer, product=products[j % len(products)], kind=EventKind.PURCHASE,
                occurred_at=end - timedelta(days=ago), quantity=1, unit_price=value,
                order_ref=f"O{customer.external_id}-{j}",
            ))
    Event.objects.bulk_create(events, batch_size=2000)
    return Planted(truth=truth, as_of=AS_OF)


@pytest.fixture
def planted(db) -> Planted:
    return plant_customers()
