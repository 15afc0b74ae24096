"""Error codes of the catalogue services. Clients branch on these, never on the message."""

from enum import Enum


class CatalogErrorCode(str, Enum):
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    REQUIRED = "REQUIRED"
    VALUE_TOO_LONG = "VALUE_TOO_LONG"
    INVALID_SLUG = "INVALID_SLUG"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_CURRENCY = "INVALID_CURRENCY"
    INVALID_STOCK = "INVALID_STOCK"
    INVALID_VALUE = "INVALID_VALUE"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    UNKNOWN_PARENT = "UNKNOWN_PARENT"
    PARENT_CYCLE = "PARENT_CYCLE"
    DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"  # NUL or an unpaired surrogate: text the database cannot store
