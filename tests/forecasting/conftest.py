"""Builders for forecasting tests: planted daily demand, written as purchase events when a test needs the DB."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest

WEEKLY = np.array([1.0, 1.1, 1.05, 1.15, 1.4, 0.75, 0.55])  # Mon..Sun
START = date(2024, 1, 1)  # a Monday


def planted(*, days: int, level: float, trend: float, weekly=WEEKLY, seed: int = 0, start: date = START):
    """Poisson demand with mean level * (1 + trend * t) * weekly[weekday]: (expected, drawn)."""
    t = np.arange(days)
    weekday = (np.arange(days) + start.weekday()) % 7
    expected = level * (1 + trend * t) * weekly[weekday]
    return expected, np.random.default_rng(seed).poisson(expected).astype(float)


def intermittent(*, days: int, rate: float, seed: int) -> np.ndarray:
    """Sales on a ``rate`` share of days, 1-3 units each."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(days) < rate, rng.integers(1, 4, days), 0).astype(float)


def write_sales(product, values, *, start: date = START, returns: dict[int, int] | None = None) -> None:
    """One purchase event per day with sales (noon UTC), plus returns {day index: units}."""
    from behavior.models import Event, EventKind

    rows = []
    for i, qty in enumerate(values):
        if qty > 0:
            rows.append(Event(event_id=f"P{product.pk}-{i}", product=product, kind=EventKind.PURCHASE,
                              occurred_at=datetime.combine(start + timedelta(days=i), time(12), tzinfo=timezone.utc),
                              quantity=int(qty), unit_price=product.price))
    for i, qty in (returns or {}).items():
        rows.append(Event(event_id=f"R{product.pk}-{i}", product=product, kind=EventKind.RETURN,
                          occurred_at=datetime.combine(start + timedelta(days=i), time(15), tzinfo=timezone.utc),
                          quantity=qty, unit_price=product.price))
    Event.objects.bulk_create(rows, batch_size=2000)


@pytest.fixture
def shop(db):
    """A parent category with one child; two smooth products (one per category) and a sparse one: 196 days."""
    from analytics.services import rollups_rebuild
    from tests import factories

    home = factories.category("Home")
    kitchen = factories.category("Kitchen", parent=home)
    smooth_a = factories.product("MUG", price="2.50", category=kitchen)
    smooth_b = factories.product("LAMP", price="10.00", category=home)
    rare = factories.product("RARE", price="40.00", category=kitchen)
    mug_sales = planted(days=196, level=40, trend=0.002, seed=1)[1]
    write_sales(smooth_a, mug_sales)
    write_sales(smooth_b, planted(days=196, level=15, trend=0.0, seed=2)[1])
    write_sales(rare, intermittent(days=196, rate=0.15, seed=3))
    rollups_rebuild()  # what ingestion keeps current; the series are read from it
    return {"home": home, "kitchen": kitchen, "mug": smooth_a, "lamp": smooth_b, "rare": rare,
            "price": Decimal("2.50"), "mug_sales": mug_sales}
