"""customer_event_arrays: the bulk read of events the recommender trains on (binary COPY on PostgreSQL,
the cursor elsewhere) returns exactly the stored rows."""

from datetime import datetime, timezone

import numpy as np
from django.db import connection

from behavior.models import EventKind
from behavior.selectors import customer_event_arrays
from tests import factories


def test_arrays_hold_known_customers_events_of_the_kinds_asked_for(shop):
    alice, bob = factories.customer("alice"), factories.customer("bob")
    at = datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone.utc)
    factories.event(customer=alice, product=shop["mug"], kind=EventKind.PURCHASE, occurred_at=at, quantity=3)
    factories.event(customer=bob, product=shop["tea"], kind=EventKind.VIEW, occurred_at=at)
    factories.event(customer=bob, product=shop["mug"], kind=EventKind.ADD_TO_CART, occurred_at=at)
    factories.event(customer=None, product=shop["mug"], kind=EventKind.PURCHASE, occurred_at=at)  # anonymous
    factories.event(customer=alice, product=shop["tea"], kind=EventKind.RETURN, occurred_at=at)  # not asked for

    got = customer_event_arrays(kinds=["purchase", "view", "add_to_cart"])

    order = np.lexsort((got["product_id"], got["customer_id"]))
    rows = sorted(zip(got["customer_id"][order].tolist(), got["product_id"][order].tolist(),
                      got["kind"][order].tolist(), got["quantity"][order].tolist()))
    assert rows == sorted([(alice.pk, shop["mug"].pk, "purchase", 3), (bob.pk, shop["tea"].pk, "view", 1),
                           (bob.pk, shop["mug"].pk, "add_to_cart", 1)])
    assert all(a.dtype == np.int64 for name, a in got.items() if name != "kind")
    exact_us = int(at.timestamp()) * 1_000_000 + at.microsecond
    # PostgreSQL keeps microseconds; SQLite's julianday about a millisecond
    expected = exact_us if connection.vendor == "postgresql" else exact_us - at.microsecond % 1000
    assert got["occurred_us"].tolist() == [expected] * 3


def test_no_events_gives_empty_arrays(shop):
    got = customer_event_arrays(kinds=["purchase"])
    assert set(got) == {"customer_id", "product_id", "kind", "occurred_us", "quantity"}
    assert all(len(a) == 0 for a in got.values())
