from __future__ import annotations

from enum import Enum


class PrivacyErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"  # no such customer, and none of that id was ever erased


class PrivacyError(Exception):
    def __init__(self, code: PrivacyErrorCode, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
