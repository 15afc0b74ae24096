"""A small shop with planted affinities: every customer buys mostly in a favourite top-level category,
and their country gives that category away (so a customer the model never saw can be placed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as tz
from decimal import Decimal

import numpy as np
import pytest

from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product
from jobs.models import Job
from jobs.services import job_execute
from recommender import selectors, serving

COUNTRIES = ["United Kingdom", "France", "Germany", "Spain"]
END = datetime(2024, 6, 30, 12, tzinfo=tz.utc)

# Few epochs and components: each training takes a second or two on this data.
FAST = {"components": 16, "epochs": 12, "patience": 4, "max_sampled": 10, "test_days": 30,
        "validation_days": 14}


@dataclass
class Shop:
    tops: list[Category]
    subs: dict[int, list[Category]]  # top index -> its subcategories
    products: list[Product]
    product_top: dict[int, int]  # product pk -> top index
    customers: list[Customer]
    favourite: dict[int, int]  # customer pk -> top index


def build_shop(*, customers: int = 160, per_sub: int = 12, purchases: int = 14, views: int = 10, seed: int = 7,
               days: int = 150) -> Shop:
    rng = np.random.default_rng(seed)
    tops, subs, products, product_top = [], {}, [], {}
    for t in range(4):
        top = Category.objects.create(name=f"Top {t}", slug=f"top-{t}")
        tops.append(top)
        subs[t] = [Category.objects.create(name=f"Sub {t}.{s}", slug=f"sub-{t}-{s}", parent=top) for s in range(2)]
        for sub in subs[t]:
            for n in range(per_sub):
                products.append(Product(sku=f"P{t}{sub.slug[-1]}{n:02d}", name=f"Item {t}.{n}", category=sub,
                                        brand=f"brand{t}", price=Decimal(str(2 + 3 * (n % 5)))))
    products = Product.objects.bulk_create(products)
    for p in products:
        product_top[p.pk] = next(t for t in range(4) if p.category_id in {s.pk for s in subs[t]})
    by_top = {t: [p for p in products if product_top[p.pk] == t] for t in range(4)}
    # within a category a few items are much more popular than the rest
    weights = {t: (1.0 / np.arange(1, len(by_top[t]) + 1) ** 0.8) for t in range(4)}
    everyone = []
    favourite = {}
    rows = []
    seq = 0
    for c in range(customers):
        fav = c % 4
        customer = Customer(external_id=f"C{c:04d}", country=COUNTRIES[fav])
        everyone.append((customer, fav))
    made = Customer.objects.bulk_create([c for c, _ in everyone])
    for customer, (_, fav) in zip(made, everyone):
        favourite[customer.pk] = fav
        for kind, count in ((EventKind.PURCHASE, purchases), (EventKind.VIEW, views)):
            for _ in range(count):
                top = fav if rng.random() < 0.85 else int(rng.integers(4))
                w = weights[top] / weights[top].sum()
                product = by_top[top][int(rng.choice(len(by_top[top]), p=w))]
                seq += 1
                rows.append(Event(
                    event_id=f"E{seq:07d}", customer=customer, product=product, kind=kind,
                    occurred_at=END - timedelta(days=float(rng.uniform(0, days))), quantity=1,
                    unit_price=product.price if kind == EventKind.PURCHASE else None,
                ))
    Event.objects.bulk_create(rows, batch_size=2000)
    return Shop(tops=tops, subs=subs, products=products, product_top=product_top, customers=list(made),
                favourite=favourite)


def train(params: dict | None = None) -> Job:
    """Run one recommender.train job in this process (the same path the worker takes)."""
    from jobs.registry import get_kind

    cleaned = get_kind("recommender.train").clean_params({**FAST, **(params or {})})
    job = Job.objects.create(kind="recommender.train", params=cleaned)
    return job_execute(job_id=job.pk)


@pytest.fixture(autouse=True)
def _fresh_serving_cache(settings):
    # Version ids repeat between tests (each test's database starts empty): never reuse held arrays.
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 0
    serving.forget()
    selectors._popular_cache.clear()
    yield
    serving.forget()
    selectors._popular_cache.clear()


@pytest.fixture
def shop(db) -> Shop:
    return build_shop()
