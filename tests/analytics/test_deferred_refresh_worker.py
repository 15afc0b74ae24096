"""With a real worker over Redis: ingestEvents returns after storing, and the worker brings the rollups
up to date from the pending window."""

import time

import pytest

from analytics.models import PendingRefresh, ProductDaily
from behavior.services import events_ingest
from tests import factories

pytestmark = [pytest.mark.requires_worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_refreshes_the_rollups_after_the_batch_commits(shared_celery_worker):
    product = factories.product("W-1")
    outcome = events_ingest(events=[
        {"event_id": f"W{i}", "customer_external_id": "wanda", "product_sku": "W-1", "kind": "purchase",
         "occurred_at": "2024-05-02T10:00:00Z", "quantity": 2, "unit_price": "3.00", "order_ref": f"O{i}"}
        for i in range(3)
    ])
    assert outcome.stored == 3
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and PendingRefresh.objects.exists():
        time.sleep(0.05)
    assert not PendingRefresh.objects.exists(), shared_celery_worker.output()
    cell = ProductDaily.objects.get(product=product)
    assert (cell.purchases, cell.units, cell.revenue_pence, cell.orders) == (3, 6, 1800, 3)
