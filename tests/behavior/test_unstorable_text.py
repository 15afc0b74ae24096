"""Text the database cannot store (NUL, an unpaired surrogate) rejects its own row with
INVALID_CHARACTERS; the rest of the batch is stored (issue 15: one NUL failed the whole batch)."""

from __future__ import annotations

from behavior.models import Customer, Event
from catalog.models import Product
from tests.behavior.conftest import INGEST
from tests.catalog.test_upsert import CUSTOMERS, PRODUCTS

VIEW = {"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"}


def test_a_nul_in_one_event_rejects_that_event_only(ingester, shop):
    # given four events: a NUL in the second's id, a surrogate in the third's session, a bad quantity in the last
    batch = [{**VIEW, "eventId": "e1"}, {**VIEW, "eventId": "e\x002"}, {**VIEW, "eventId": "e3", "sessionId": "s\ud800"},
             {**VIEW, "eventId": "e4", "quantity": 0}]
    # when ingested
    body = ingester(INGEST, {"events": batch})["data"]["ingestEvents"]
    # then the first is stored, and each other row has its own error at its own index
    assert (body["accepted"], body["rejected"]) == (1, 3)
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (1, "eventId", "INVALID_CHARACTERS"), (2, "sessionId", "INVALID_CHARACTERS"), (3, "quantity", "INVALID_QUANTITY")]
    assert list(Event.objects.values_list("event_id", flat=True)) == ["e1"]


def test_a_batch_of_only_unstorable_events_stores_nothing_and_says_why(ingester, shop):
    body = ingester(INGEST, {"events": [{**VIEW, "orderRef": "\x00"}]})["data"]["ingestEvents"]
    assert body == {"accepted": 0, "duplicates": 0, "rejected": 1, "errors": [
        {"index": 0, "field": "orderRef", "code": "INVALID_CHARACTERS",
         "message": "orderRef contains a character the database cannot store (NUL, or an unpaired surrogate)."}]}


def test_customers_with_a_nul_in_a_json_attribute_or_a_key_are_rejected_alone(staff_gql):
    body = staff_gql(CUSTOMERS, {"c": [
        {"externalId": "alice"},
        {"externalId": "bob", "attributes": {"notes": ["fine", "not\x00fine"]}},
        {"externalId": "carol\x00"},
        {"externalId": "dave", "attributes": {"k\x00ey": 1}},
    ]})["data"]["upsertCustomers"]
    assert (body["created"], body["updated"]) == (1, 0)
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (1, "attributes", "INVALID_CHARACTERS"), (2, "externalId", "INVALID_CHARACTERS"),
        (3, "attributes", "INVALID_CHARACTERS")]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["alice"]


def test_products_with_a_nul_are_rejected_alone(staff_gql):
    body = staff_gql(PRODUCTS, {"p": [{"sku": "MUG-1", "name": "Mug", "price": "8.5"},
                                      {"sku": "TEA-1", "name": "T\x00ea", "price": "3"}]})["data"]["upsertProducts"]
    assert (body["created"], body["updated"]) == (1, 0)
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [(1, "name", "INVALID_CHARACTERS")]
    assert list(Product.objects.values_list("sku", flat=True)) == ["MUG-1"]
