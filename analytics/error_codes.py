"""Codes of the analytics reports' refusals. Clients branch on these (a query error's `extensions.code`),
never on the message."""

from enum import Enum


class AnalyticsErrorCode(str, Enum):
    DATE_RANGE_REVERSED = "DATE_RANGE_REVERSED"  # `to` before `from`
    DATE_RANGE_TOO_LONG = "DATE_RANGE_TOO_LONG"  # more than ten years
    INVALID_INTERVAL = "INVALID_INTERVAL"
    INVALID_RANKING = "INVALID_RANKING"  # topProducts' `by`
    INVALID_FIRST = "INVALID_FIRST"  # topProducts' `first` outside 1..100
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"  # no product with the SKU asked for


class AnalyticsError(Exception):
    """A report asked for something it cannot answer; `message` is written for the client."""

    def __init__(self, code: AnalyticsErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
