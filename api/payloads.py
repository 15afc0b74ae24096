"""Payload errors: a service's rejected items as the app's typed GraphQL error objects.

A batch service (catalog's upserts, behavior's ingestion) returns its rejected items as plain records
with `index`, `field`, `code` (the app's error-code value) and `message`; each app's payload has its own
error type whose `code` is the app's enum. Clients branch on that code, never on the message.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar

ErrorType = TypeVar("ErrorType")


def item_errors(error_type: type[ErrorType], code_type: type[Enum], errors: Iterable[Any]) -> list[ErrorType]:
    return [error_type(index=error.index, field=error.field, code=code_type(error.code),  # type: ignore[call-arg]
                       message=error.message) for error in errors]
