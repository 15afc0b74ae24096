"""Small builders for test data (plain functions: the models are simple enough)."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product

_seq = itertools.count(1)


def category(name: str, parent: Category | None = None) -> Category:
    return Category.objects.create(name=name, slug=f"{name.lower().replace(' ', '-')}-{next(_seq)}", parent=parent)


def product(sku: str | None = None, *, price: str = "10.00", **fields) -> Product:
    n = next(_seq)
    return Product.objects.create(sku=sku or f"SKU{n:05d}", name=fields.pop("name", f"Product {n}"),
                                  price=Decimal(price), **fields)


def customer(external_id: str | None = None, **fields) -> Customer:
    return Customer.objects.create(external_id=external_id or f"C{next(_seq):05d}", **fields)


def event(*, customer: Customer | None, product: Product, kind: str = EventKind.PURCHASE,
          occurred_at: datetime | None = None, quantity: int = 1, unit_price: str | None = None, **fields) -> Event:
    if unit_price is None and kind in (EventKind.PURCHASE, EventKind.RETURN):
        unit_price = str(product.price)
    return Event.objects.create(
        event_id=fields.pop("event_id", f"E{next(_seq):08d}"), customer=customer, product=product, kind=kind,
        occurred_at=occurred_at or timezone.now(), quantity=quantity,
        unit_price=Decimal(unit_price) if unit_price is not None else None, **fields,
    )
