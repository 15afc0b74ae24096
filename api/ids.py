"""Database ids from ID arguments: a plain database id ("12") or, where a type is named, its Relay global id."""

from __future__ import annotations

from typing import Any

from strawberry import relay

from .errors import ClientError, InputErrorCode


def database_id(value: Any, *, type_name: str | None = None) -> int | None:
    """The database id in `value`, or None when it is none (the caller answers "no such row").

    Digits are a database id; with `type_name`, a global id of that type (e.g. a Job's) is accepted too.
    """
    text = str(value).strip()
    if text.isdigit():
        return _bigint(text)
    if type_name is None:
        return None
    try:
        global_id = relay.GlobalID.from_id(text)
    except Exception:  # noqa: BLE001 - not a global id: no such row
        return None
    if global_id.type_name != type_name or not global_id.node_id.isdigit():
        return None
    return _bigint(global_id.node_id)


_BIGINT_MAX = 2**63 - 1


def _bigint(digits: str) -> int | None:
    """The id, or None beyond what a bigint column holds (no such row: 5,000 digits are refused by
    int() itself, and 20 digits by the database, both as an unexpected error before)."""
    if len(digits) > 19:
        return None
    number = int(digits)
    return number if number <= _BIGINT_MAX else None


def required_database_id(value: Any, *, message: str) -> int:
    """The database id in `value`; a ClientError(INVALID_ID, message) when it is none."""
    found = database_id(value)
    if found is None:
        raise ClientError(InputErrorCode.INVALID_ID, message)
    return found
