"""What every batch upsert shares (the catalogue's categories and products, behavior's customers).

Each item of a batch is checked on its own: the valid ones are stored, every rejected one is reported
by index, field and code. The helpers take the calling app's error-code enum (``codes``), which must
have the members TOO_MANY_ITEMS, REQUIRED, VALUE_TOO_LONG, DUPLICATE_IN_BATCH and INVALID_CHARACTERS, so that each app's
errors carry that app's own codes. No Django import: the module is neutral ground that any app may use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

BATCH_LIMIT = 5000


@dataclass
class ItemError:
    index: int  # position in the batch; -1: the whole call
    field: str  # the GraphQL name of the field at fault
    code: str  # a value of the calling app's error-code enum
    message: str


@dataclass
class UpsertOutcome:
    created: int = 0
    updated: int = 0
    errors: list[ItemError] = field(default_factory=list)
    duplicates: int = 0
    ids: dict[str, int] = field(default_factory=dict)  # key -> id of every stored item


class InvalidItem(Exception):
    """Raised while cleaning one item; the batch loop turns it into an ItemError and goes on."""

    def __init__(self, field_name: str, code: Enum, message: str):
        super().__init__(message)
        self.field, self.code, self.message = field_name, code, message

    def as_error(self, index: int) -> ItemError:
        return ItemError(index, self.field, self.code.value, self.message)


def text_field(item: dict, key: str, graphql_name: str, max_length: int, *, codes: type[Enum],
               required: bool = False) -> str | None:
    """``item[key]`` trimmed, or None when absent; REQUIRED or VALUE_TOO_LONG when it does not fit."""
    value = item.get(key)
    if value is None:
        if required:
            raise InvalidItem(graphql_name, codes.REQUIRED, f"{graphql_name} is required.")
        return None
    value = str(value).strip()
    if required and not value:
        raise InvalidItem(graphql_name, codes.REQUIRED, f"{graphql_name} is required.")
    if len(value) > max_length:
        raise InvalidItem(graphql_name, codes.VALUE_TOO_LONG,
                          f"{graphql_name} must be at most {max_length} characters.")
    return value


UNSTORABLE_MESSAGE = "{field} contains a character the database cannot store (NUL, or an unpaired surrogate)."


def graphql_name(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _unstorable_text(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate ("\ud800"), which JSON can carry
        return True
    return False


def unstorable_field(item: dict) -> str | None:
    """The GraphQL name of the first field of ``item`` holding text the database cannot store: a NUL
    character (PostgreSQL's text and jsonb refuse it: the whole statement, so the whole batch, failed)
    or an unpaired surrogate (not UTF-8); in a JSON value's keys and strings too, at any depth."""
    for key, value in item.items():
        stack = [value]
        while stack:
            current = stack.pop()
            if isinstance(current, str):
                if _unstorable_text(current):
                    return graphql_name(key)
            elif isinstance(current, dict):
                stack.extend(current.keys())
                stack.extend(current.values())
            elif isinstance(current, (list, tuple)):
                stack.extend(current)
    return None


def first_occurrences(items: list[dict], key: str, graphql_key: str, limit: int, outcome: UpsertOutcome, *,
                      codes: type[Enum]) -> Iterator[tuple[int, dict]]:
    """Yields (index, item) of the first occurrence of each key; records an error for every later one,
    and one error for the whole call (nothing yielded) when the batch has more than ``limit`` items. An
    item holding text the database cannot store is rejected here (INVALID_CHARACTERS), not yielded."""
    if len(items) > limit:
        outcome.errors.append(ItemError(-1, graphql_key, codes.TOO_MANY_ITEMS.value,
                                        f"at most {limit} items per call; split the batch."))
        return
    seen: set[str] = set()
    for index, item in enumerate(items):
        unstorable = unstorable_field(item)
        if unstorable is not None:
            outcome.errors.append(ItemError(index, unstorable, codes.INVALID_CHARACTERS.value,
                                            UNSTORABLE_MESSAGE.format(field=unstorable)))
            continue
        value = item.get(key)
        value = str(value).strip() if value is not None else ""
        if value and value in seen:
            outcome.duplicates += 1
            outcome.errors.append(ItemError(index, graphql_key, codes.DUPLICATE_IN_BATCH.value,
                                            f"{graphql_key} {value!r} appears earlier in this batch."))
            continue
        seen.add(value)
        yield index, item


def chunks(values: list, size: int = 500) -> Iterator[list]:
    """``values`` in slices of at most ``size`` (keeps IN (...) lists and bulk statements bounded)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]
