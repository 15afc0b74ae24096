"""Ingestion keeps the rollups current: after the batch path (what `ingestEvents` calls), the CSV import
and the synthetic bulk load, the rollups equal a full rebuild and the API's answers equal raw events."""

from datetime import date

import pytest

from analytics import selectors as s
from analytics.models import ProductDaily
from analytics.services import rollups_rebuild
from behavior.services import events_import_csv, events_ingest, synthetic_load
from behavior.synthetic import SyntheticSpec

from .test_handmade import handmade  # noqa: F401  (fixture)
from .test_refresh import snapshot


def _event(n, kind, sku, when, customer="ann", quantity=1, price=None, order=""):
    return {"event_id": f"I{n}", "customer_external_id": customer, "product_sku": sku, "kind": kind,
            "occurred_at": when, "quantity": quantity, "unit_price": price, "rating": None, "order_ref": order,
            "session_id": "s1"}


@pytest.mark.django_db
def test_batch_ingestion_refreshes_the_rollups(handmade):
    # given: the hand-made shop, rolled up; its week's revenue is 52.50
    week = {"date_from": date(2024, 3, 4), "date_to": date(2024, 3, 10)}
    assert s.sales_summary(**week).current.revenue.__str__() == "52.50"
    # when: a new order of two lines on 10 March (23:30 UTC is still the 10th in London) and a view
    outcome = events_ingest(events=[
        _event(1, "purchase", "A", "2024-03-10T23:30:00Z", "dee", 2, "10.00", "N1"),
        _event(2, "purchase", "C", "2024-03-10T23:30:00Z", "dee", 1, "7.50", "N1"),
        _event(3, "view", "B", "2024-03-09T12:00:00Z"),
    ])
    # then
    assert outcome.stored == 3 and not outcome.errors
    summary = s.sales_summary(**week).current
    assert (str(summary.revenue), summary.orders, summary.customers, summary.views) == ("80.00", 5, 3, 11)
    assert summary == s.sales_summary_raw(**week).current
    refreshed = snapshot()
    rollups_rebuild()
    assert refreshed == snapshot()


@pytest.mark.django_db
def test_csv_import_refreshes_the_rollups(handmade, tmp_path):
    # given
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,customer_external_id,product_sku,kind,occurred_at,quantity,unit_price,order_ref\n"
        "F1,ann,B,purchase,2024-02-28T10:00:00Z,4,5.00,F\n"
        "F2,,A,purchase,2024-04-02T10:00:00Z,1,10.00,\n"
    )
    # when
    events_import_csv(path=path)
    # then: the previous week gained 20.00 and a second order from ann; April has an anonymous line
    previous = s.sales_summary(date_from=date(2024, 2, 26), date_to=date(2024, 3, 3)).current
    assert (str(previous.revenue), previous.orders, previous.customers) == ("55.00", 3, 2)
    refreshed = snapshot()
    rollups_rebuild()
    assert refreshed == snapshot()


@pytest.mark.django_db
def test_synthetic_bulk_load_leaves_rollups_equal_to_raw_answers():
    # when: the synthetic generator stores a shop through the bulk path
    synthetic_load(spec=SyntheticSpec(seed=3, customers=60, products=20, days=90, events_per_customer=12,
                                      anonymous_share=0.1))
    # then: rollups exist without a rebuild, and they answer like the raw events
    assert ProductDaily.objects.exists()
    span = {"date_from": date(2024, 1, 1), "date_to": date(2024, 3, 31)}
    assert s.sales_summary(**span) == s.sales_summary_raw(**span)
    assert s.sales_series(interval="WEEK", **span) == s.sales_series_raw(interval="WEEK", **span)
    assert s.customers_new_returning(**span) == s.customers_new_returning_raw(**span)
    assert s.cohort_retention(**span) == s.cohort_retention_raw(**span)
    loaded = snapshot()
    rollups_rebuild()
    assert loaded == snapshot()


@pytest.mark.django_db
def test_the_ingest_events_mutation_updates_what_sales_summary_answers(handmade, client):
    # given: a staff user who can both ingest and read analytics
    from tests.behavior.conftest import INGEST
    from tests.conftest import GraphQLClient, make_staff

    api = GraphQLClient(client, make_staff("both", perms=("behavior.add_event", "behavior.view_event")))
    summary = '{ salesSummary(from: "2024-03-04", to: "2024-03-10") { revenue orders customers conversionRate } }'
    assert api(summary)["data"]["salesSummary"] == {"revenue": "52.50", "orders": 4, "customers": 2,
                                                    "conversionRate": 0.5}
    # when: one more order and ten more views come in through the API
    events = [{"eventId": "M1", "customerExternalId": "eve", "productSku": "B", "kind": "PURCHASE",
               "occurredAt": "2024-03-08T18:00:00Z", "quantity": 3, "unitPrice": "5.00", "orderRef": "M"}]
    events += [{"eventId": f"MV{i}", "productSku": "A", "kind": "VIEW", "occurredAt": "2024-03-08T17:00:00Z"}
               for i in range(10)]
    assert api(INGEST, {"events": events})["data"]["ingestEvents"]["accepted"] == 11
    # then
    assert api(summary)["data"]["salesSummary"] == {"revenue": "67.50", "orders": 5, "customers": 3,
                                                    "conversionRate": 6 / 20}


@pytest.mark.django_db
def test_with_a_worker_the_batch_records_its_window_and_one_deferred_refresh_catches_up(
        handmade, broker_mode, django_capture_on_commit_callbacks):
    from analytics.models import PendingRefresh
    from analytics.services import rollups_refresh_pending

    week = {"date_from": date(2024, 3, 4), "date_to": date(2024, 3, 10)}
    before = s.sales_summary(**week).current
    # when: two batches in different weeks arrive; their refresh is left to a worker (after commit)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        events_ingest(events=[_event(1, "purchase", "A", "2024-03-10T23:30:00Z", "dee", 2, "10.00", "N1")])
        events_ingest(events=[_event(2, "purchase", "C", "2024-02-27T09:00:00Z", "dee", 1, "7.50", "N2")])
    # then: the requests stored the events and left the rollups alone; each queued a refresh after commit
    refreshes = [c for c in callbacks if getattr(c, "__name__", "") == "_enqueue_refresh"]  # campaigns add theirs
    assert len(refreshes) == 2 and PendingRefresh.objects.count() == 2
    assert s.sales_summary(**week).current == before
    # when: the worker's task drains both windows in one refresh
    assert rollups_refresh_pending() == 2
    # then: nothing is pending, and the rollups are what a full rebuild gives
    assert not PendingRefresh.objects.exists()
    assert str(s.sales_summary(**week).current.revenue) == "72.50"
    assert s.sales_summary(**week).current == s.sales_summary_raw(**week).current
    refreshed = snapshot()
    rollups_rebuild()
    assert refreshed == snapshot()
    assert rollups_refresh_pending() == 0
