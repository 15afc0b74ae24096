"""Error codes of the behaviour services. Clients branch on these, never on the message."""

from enum import Enum


class IngestErrorCode(str, Enum):
    """Why an item of a batch or a row of an import was rejected; each code belongs to one field."""

    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    INVALID_EVENT_ID = "INVALID_EVENT_ID"
    INVALID_CUSTOMER = "INVALID_CUSTOMER"
    PRODUCT_REQUIRED = "PRODUCT_REQUIRED"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"
    INVALID_KIND = "INVALID_KIND"
    INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
    INVALID_QUANTITY = "INVALID_QUANTITY"
    INVALID_PRICE = "INVALID_PRICE"
    PRICE_REQUIRED = "PRICE_REQUIRED"
    RATING_OUT_OF_RANGE = "RATING_OUT_OF_RANGE"
    RATING_REQUIRED = "RATING_REQUIRED"
    INVALID_ORDER_REF = "INVALID_ORDER_REF"
    INVALID_SESSION_ID = "INVALID_SESSION_ID"
    VALUE_TOO_LONG = "VALUE_TOO_LONG"
    INVALID_VALUE = "INVALID_VALUE"
    REQUIRED = "REQUIRED"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"  # NUL or an unpaired surrogate: text the database cannot store
    # Cleaning rules of the demo dataset (UCI Online Retail), see docs/ingestion.md.
    NON_PRODUCT_CODE = "NON_PRODUCT_CODE"
    NON_POSITIVE_PRICE = "NON_POSITIVE_PRICE"
    STOCK_ADJUSTMENT = "STOCK_ADJUSTMENT"
    INVALID_FILE = "INVALID_FILE"


class CustomerErrorCode(str, Enum):
    """Why an item of a customer upsert was rejected. The values are those of the catalogue's upsert
    codes of the same name, so the GraphQL upsert payload, shared by both, reads them unchanged."""

    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
    REQUIRED = "REQUIRED"
    VALUE_TOO_LONG = "VALUE_TOO_LONG"
    INVALID_VALUE = "INVALID_VALUE"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"


# field (GraphQL name) and message of each event-row code.
EVENT_CODE_FIELD = {
    IngestErrorCode.INVALID_EVENT_ID: ("eventId", "eventId must be at most 64 characters."),
    IngestErrorCode.INVALID_CUSTOMER: ("customerExternalId", "customerExternalId must be at most 64 characters."),
    IngestErrorCode.PRODUCT_REQUIRED: ("productSku", "productSku is required."),
    IngestErrorCode.INVALID_KIND: ("kind", "kind must be one of view, add_to_cart, purchase, review, return."),
    IngestErrorCode.INVALID_TIMESTAMP: (
        "occurredAt",
        "occurredAt must be an ISO 8601 date-time (YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]) not more than a day "
        "in the future; without an offset it is read in the shop's time zone.",
    ),
    IngestErrorCode.INVALID_QUANTITY: ("quantity", "quantity must be a whole number from 1 to 1,000,000."),
    IngestErrorCode.INVALID_PRICE: ("unitPrice", "unitPrice must be a number from 0 to 999,999,999.99."),
    IngestErrorCode.PRICE_REQUIRED: ("unitPrice", "purchases and returns need a unitPrice."),
    IngestErrorCode.RATING_OUT_OF_RANGE: ("rating", "rating must be a whole number from 1 to 5."),
    IngestErrorCode.RATING_REQUIRED: ("rating", "a review needs a rating."),
    IngestErrorCode.INVALID_ORDER_REF: ("orderRef", "orderRef must be at most 64 characters."),
    IngestErrorCode.INVALID_SESSION_ID: ("sessionId", "sessionId must be at most 64 characters."),
    IngestErrorCode.UNKNOWN_PRODUCT: ("productSku", "no product has this SKU."),
}
