"""Codes of the access app's refusals (API keys, customer tokens, rate limits)."""

from __future__ import annotations

from enum import Enum


class AccessErrorCode(str, Enum):
    UNAUTHENTICATED = "UNAUTHENTICATED"  # an Authorization header that names no valid, unrevoked key or token
    RATE_LIMITED = "RATE_LIMITED"  # the key sent more requests this minute than its limit; retry after Retry-After
    INVALID_SCOPE = "INVALID_SCOPE"  # a scope name that does not exist (creating a key)
    NOT_FOUND = "NOT_FOUND"  # no key with that prefix (revoking)
    PERMISSION_DENIED = "PERMISSION_DENIED"  # issuing a customer token without recommendations:read


class AccessError(Exception):
    def __init__(self, code: AccessErrorCode, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
