"""A small generated shop for the analytics tests: a two-level category tree (and an uncategorised
product), identified and anonymous customers, orders of several lines, lines without an order reference,
an order that straddles midnight, returns, and moments near shop-local midnight on both sides of the
clock changes, so every rollup-versus-raw comparison has edge cases to get wrong."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest

from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product

START = datetime(2024, 1, 1, tzinfo=dt_timezone.utc)
DAYS = 150  # January to May 2024: covers the March clock change in Europe/London


def build_shop(seed: int = 7, events: int = 2500) -> dict:
    rng = random.Random(seed)
    roots = [Category.objects.create(name=f"Root {i}", slug=f"root-{i}") for i in range(2)]
    leaves = [Category.objects.create(name=f"Leaf {r.pk}-{j}", slug=f"leaf-{r.pk}-{j}", parent=r)
              for r in roots for j in range(2)]
    products = [
        Product.objects.create(sku=f"P{i:02d}", name=f"Product {i}",
                               price=Decimal(f"{rng.randint(100, 5000) / 100:.2f}"),
                               category=(roots[0] if i == 0 else leaves[i % len(leaves)] if i < 11 else None))
        for i in range(12)
    ]
    customers = [Customer.objects.create(external_id=f"C{i:03d}") for i in range(40)]
    rows = []
    n = 0

    def moment() -> datetime:
        day = rng.randrange(DAYS)
        # A third of the events within an hour of UTC midnight: the shop-local day differs in summer.
        seconds = rng.choice([rng.randrange(86400), rng.randrange(82800, 86400), rng.randrange(0, 3600)])
        return START + timedelta(days=day, seconds=seconds)

    def add(kind, customer, product, at, quantity=1, price=None, order_ref="", rating=None):
        nonlocal n
        n += 1
        rows.append(Event(event_id=f"E{n:06d}", customer=customer, product=product, kind=kind, occurred_at=at,
                          quantity=quantity, unit_price=price, order_ref=order_ref, rating=rating,
                          session_id=f"S{n // 5}"))

    while n < events:
        customer = None if rng.random() < 0.1 else customers[int(len(customers) * rng.random() ** 2)]
        product = products[int(len(products) * rng.random() ** 1.5)]
        r = rng.random()
        if r < 0.6:
            add(EventKind.VIEW, customer, product, moment())
        elif r < 0.75:
            add(EventKind.ADD_TO_CART, customer, product, moment())
        elif r < 0.92:
            at = moment()
            ref = "" if rng.random() < 0.15 else f"O{n}"
            for _ in range(rng.randint(1, 3)):
                line = products[rng.randrange(len(products))]
                add(EventKind.PURCHASE, customer, line, at, rng.randint(1, 4), line.price, ref)
        elif r < 0.96:
            add(EventKind.RETURN, customer, product, moment(), 1, product.price)
        else:
            add(EventKind.REVIEW, customer, product, moment(), rating=rng.randint(1, 5))
    # One order whose lines fall on two shop-local days (23:59 and 00:01 London time in winter).
    add(EventKind.PURCHASE, customers[1], products[2], datetime(2024, 2, 5, 23, 59, tzinfo=dt_timezone.utc), 1,
        products[2].price, "STRADDLE")
    add(EventKind.PURCHASE, customers[1], products[3], datetime(2024, 2, 6, 0, 1, tzinfo=dt_timezone.utc), 2,
        products[3].price, "STRADDLE")
    Event.objects.bulk_create(rows, batch_size=1000)
    return {"roots": roots, "leaves": leaves, "products": products, "customers": customers}


@pytest.fixture
def shop(db):
    return build_shop()
