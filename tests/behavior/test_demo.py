"""The demo dataset (UCI Online Retail) loads with the same report counts on SQLite and PostgreSQL.

One full load per database run: the SQLite run checks SQLite, the PostgreSQL run (marked
requires_postgres) checks PostgreSQL, against the same pinned numbers.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from behavior.models import Customer, Event
from behavior.services import demo_load
from catalog.models import Category, Product

PINNED = {
    "rows_read": 541_909,
    "rows_stored": 531_172,
    "rows_rejected": 5_480,
    "rows_duplicate": 5_257,
    "rejected_by_reason": {"NON_POSITIVE_PRICE": 2_485, "NON_PRODUCT_CODE": 2_995},
}
PRODUCTS, CUSTOMERS = 3_805, 4_362


def _load() -> dict:
    path = Path(str(settings.DEMO_DATA_PATH))
    if not path.exists():
        pytest.skip(f"demo dataset missing at {settings.DEMO_DATA_PATH}")
    report, loaded = demo_load(path=path)
    assert loaded
    return {
        "report": {k: getattr(report, k) for k in PINNED},
        "notes": report.notes,
        "events": Event.objects.count(),
        "anonymous": Event.objects.filter(customer__isnull=True).count(),
        "returns": Event.objects.filter(kind="return").count(),
        "products": Product.objects.count(),
        "customers": Customer.objects.count(),
        "categories": Category.objects.count(),
        "reused": demo_load(path=path)[1] is False,
    }


def _check(demo):
    assert demo["report"] == PINNED
    assert sum(PINNED["rejected_by_reason"].values()) == PINNED["rows_rejected"]
    assert PINNED["rows_read"] == PINNED["rows_stored"] + PINNED["rows_rejected"] + PINNED["rows_duplicate"]
    assert demo["events"] == PINNED["rows_stored"]
    assert (demo["products"], demo["customers"]) == (PRODUCTS, CUSTOMERS)
    notes = demo["notes"]
    assert notes["cancellation_lines_as_returns"] == 8_704
    assert notes["anonymous_lines_kept"] == 131_553
    # A repeated line is stored once: 36 cancellation lines and 37 anonymous lines were repeats.
    assert (demo["returns"], demo["anonymous"]) == (8_704 - 36, 131_553 - 37)
    assert notes["repeated_lines"] == PINNED["rows_duplicate"]
    assert demo["reused"]


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the SQLite half of the pair")
def test_demo_counts_on_sqlite():
    assert connection.vendor == "sqlite"
    _check(_load())


@pytest.mark.django_db
@pytest.mark.requires_postgres
def test_demo_counts_on_postgres():
    _check(_load())
