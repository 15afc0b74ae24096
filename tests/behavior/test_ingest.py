"""ingestEvents: good rows stored, bad rows reported by index and code, re-sending stores nothing new."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from behavior.models import Customer, Event
from behavior.services import EVENTS_BATCH_LIMIT, events_ingest
from tests.behavior.conftest import INGEST
from tests.conftest import GraphQLClient, make_staff

GOOD = [
    {"eventId": "e1", "customerExternalId": "alice", "productSku": "MUG-1", "kind": "PURCHASE",
     "occurredAt": "2024-05-01T10:15:00Z", "quantity": 2, "unitPrice": "8.50", "orderRef": "O1"},
    {"customerExternalId": "alice", "productSku": "TEA-1", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00"},
    {"productSku": "TEA-1", "kind": "REVIEW", "occurredAt": "2024-05-02T09:00:00+02:00", "rating": 5},
]
BAD = [
    ({"productSku": "NOPE", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"}, "productSku", "UNKNOWN_PRODUCT"),
    ({"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z", "quantity": 0},
     "quantity", "INVALID_QUANTITY"),
    ({"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "yesterday"}, "occurredAt", "INVALID_TIMESTAMP"),
    ({"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2024-02-30T10:00:00Z"}, "occurredAt", "INVALID_TIMESTAMP"),
    ({"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2999-01-01T00:00:00Z"}, "occurredAt", "INVALID_TIMESTAMP"),
    ({"productSku": "MUG-1", "kind": "REVIEW", "occurredAt": "2024-05-01T10:00:00Z", "rating": 6},
     "rating", "RATING_OUT_OF_RANGE"),
    ({"productSku": "MUG-1", "kind": "REVIEW", "occurredAt": "2024-05-01T10:00:00Z"}, "rating", "RATING_REQUIRED"),
    ({"productSku": "MUG-1", "kind": "PURCHASE", "occurredAt": "2024-05-01T10:00:00Z"}, "unitPrice", "PRICE_REQUIRED"),
    ({"productSku": "MUG-1", "kind": "RETURN", "occurredAt": "2024-05-01T10:00:00Z", "unitPrice": "-1"},
     "unitPrice", "INVALID_PRICE"),
    ({"eventId": "x" * 65, "productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"},
     "eventId", "INVALID_EVENT_ID"),
    ({"productSku": " ", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"}, "productSku", "PRODUCT_REQUIRED"),
    ({"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z", "sessionId": "s" * 65},
     "sessionId", "INVALID_SESSION_ID"),
]


def _batch():
    # Bad rows interleaved with good ones: good at even indexes 0, 2, 4.
    batch, expected = [], []
    for i, item in enumerate(GOOD):
        batch.append(item)
        if i < len(GOOD) - 1:
            for bad, field, code in BAD[i * 6:(i + 1) * 6]:
                expected.append((len(batch), field, code))
                batch.append(bad)
    return batch, expected


def test_a_mixed_batch_stores_every_good_row_and_reports_every_bad_one(ingester, shop):
    batch, expected = _batch()
    body = ingester(INGEST, {"events": batch})["data"]["ingestEvents"]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 0, len(BAD))
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == expected
    assert all(e["message"] for e in body["errors"])
    stored = {e.product.sku + ":" + e.kind: e for e in Event.objects.select_related("product", "customer")}
    assert set(stored) == {"MUG-1:purchase", "TEA-1:view", "TEA-1:review"}
    purchase = stored["MUG-1:purchase"]
    assert (purchase.event_id, purchase.quantity, purchase.unit_price, purchase.order_ref, purchase.customer.external_id) == (
        "e1", 2, Decimal("8.50"), "O1", "alice")
    # No offset: shop time (London, BST in May) -> 09:00 UTC; an explicit offset is honoured.
    assert stored["TEA-1:view"].occurred_at == datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
    assert stored["TEA-1:review"].occurred_at == datetime(2024, 5, 2, 7, 0, tzinfo=timezone.utc)
    assert stored["TEA-1:review"].customer is None and stored["TEA-1:review"].rating == 5
    assert stored["TEA-1:view"].event_id.startswith("auto-")
    # A customer seen for the first time is created, once.
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["alice"]


def test_resending_a_batch_stores_nothing_new(ingester, shop):
    batch, _ = _batch()
    ingester(INGEST, {"events": batch})
    again = ingester(INGEST, {"events": batch})["data"]["ingestEvents"]
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 3, len(BAD))
    assert Event.objects.count() == 3 and Customer.objects.count() == 1


def test_duplicates_inside_one_batch_are_stored_once(ingester, shop):
    item = {"productSku": "MUG-1", "kind": "ADD_TO_CART", "occurredAt": "2024-05-01T10:00:00Z", "quantity": 1}
    body = ingester(INGEST, {"events": [item, dict(item), {**item, "quantity": 2}]})["data"]["ingestEvents"]
    assert (body["accepted"], body["duplicates"]) == (2, 1)


def test_the_same_content_gives_the_same_derived_id_whatever_the_spelling(ingester, shop):
    a = {"productSku": "MUG-1", "kind": "PURCHASE", "occurredAt": "2024-01-10T10:00:00Z", "unitPrice": "8.5"}
    b = {"productSku": " MUG-1 ", "kind": "PURCHASE", "occurredAt": "2024-01-10 10:00:00+00:00", "unitPrice": "8.50",
         "quantity": 1}
    body = ingester(INGEST, {"events": [a, b]})["data"]["ingestEvents"]
    assert (body["accepted"], body["duplicates"]) == (1, 1)


def test_unknown_products_are_rejected_and_nothing_is_created_for_them(ingester, shop):
    body = ingester(INGEST, {"events": [{"customerExternalId": "ghost", "productSku": "NOPE", "kind": "VIEW",
                                         "occurredAt": "2024-05-01T10:00:00Z"}]})["data"]["ingestEvents"]
    assert body["errors"] == [{"index": 0, "field": "productSku", "code": "UNKNOWN_PRODUCT",
                               "message": "no product has this SKU."}]
    assert Event.objects.count() == 0 and not Customer.objects.exists()


def test_more_than_the_limit_is_refused_as_a_whole(shop):
    item = {"product_sku": "MUG-1", "kind": "view", "occurred_at": "2024-05-01T10:00:00Z"}
    outcome = events_ingest(events=[item] * (EVENTS_BATCH_LIMIT + 1))
    assert [(e.index, e.code) for e in outcome.errors] == [(-1, "TOO_MANY_ITEMS")]
    assert Event.objects.count() == 0


def test_a_full_batch_of_the_limit_goes_through_in_a_fixed_number_of_queries(shop, django_assert_max_num_queries):
    items = [{"product_sku": "MUG-1", "kind": "view", "occurred_at": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
              "customer_external_id": f"c{i % 700}", "session_id": str(i)} for i in range(EVENTS_BATCH_LIMIT)]
    with django_assert_max_num_queries(40):
        outcome = events_ingest(events=items)
    assert (outcome.stored, outcome.rejected_total) == (EVENTS_BATCH_LIMIT, 0)
    assert Customer.objects.count() == 700


def test_ingesting_needs_staff_with_the_add_permission(client, shop):
    item = {"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"}
    body = GraphQLClient(client)(INGEST, {"events": [item]}, expect_errors=True)
    assert body["data"] is None and "permission" in body["errors"][0]["message"].lower()
    viewer = GraphQLClient(client, make_staff("viewer", perms=("behavior.view_event",)))
    assert viewer(INGEST, {"events": [item]}, expect_errors=True)["data"] is None
    assert Event.objects.count() == 0


@pytest.mark.parametrize("text,expected", [
    ("2011-10-30 01:30:00", datetime(2011, 10, 30, 1, 30, tzinfo=timezone.utc)),  # ambiguous: standard time
    ("2011-03-27 01:30:00", datetime(2011, 3, 27, 1, 30, tzinfo=timezone.utc)),  # skipped: standard time
    ("2011-12-01T08:26", datetime(2011, 12, 1, 8, 26, tzinfo=timezone.utc)),
    ("2011-06-01T08:26:00.5+0100", datetime(2011, 6, 1, 7, 26, 0, 500000, tzinfo=timezone.utc)),
])
def test_timestamps_are_read_the_same_way_on_every_database(shop, text, expected):
    events_ingest(events=[{"product_sku": "MUG-1", "kind": "view", "occurred_at": text, "event_id": "t"}])
    assert Event.objects.get().occurred_at == expected
