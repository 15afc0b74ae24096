"""Customers' upsert errors carry behavior's own codes, which the shared GraphQL upsert payload reads."""

from behavior.error_codes import CustomerErrorCode
from behavior.services import customers_upsert
from catalog.error_codes import CatalogErrorCode


def test_every_customer_code_reads_as_the_upsert_payloads_code_of_the_same_name():
    # The upsert payload (UpsertPayload.errors, shared with the catalogue) types its codes with the
    # catalogue's enum; each customer code must be a value of it, or upsertCustomers could not answer.
    assert {code.value for code in CustomerErrorCode} <= {code.value for code in CatalogErrorCode}


def test_a_rejected_customer_is_reported_with_a_customer_code(db):
    # when: one valid customer, one without a key, one repeated, one with a bad date
    outcome = customers_upsert(customers=[{"external_id": "k1"}, {"country": "France"}, {"external_id": "k1"},
                                          {"external_id": "k2", "signed_up_at": "soon"}])
    # then
    assert outcome.created == 1
    assert [(e.index, e.field, e.code) for e in outcome.errors] == [
        (1, "externalId", CustomerErrorCode.REQUIRED.value),
        (2, "externalId", CustomerErrorCode.DUPLICATE_IN_BATCH.value),
        (3, "signedUpAt", CustomerErrorCode.INVALID_VALUE.value),
    ]
