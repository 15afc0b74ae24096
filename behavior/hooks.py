"""The one way behavior tells other apps that events were stored: a list of callbacks.

behavior stores events and must not know who builds on them (analytics keeps rollups; later apps may
follow), so it imports none of them: an app subscribes in its ``AppConfig.ready`` with
``on_events_stored(callback)``, and every path that stores events calls ``events_stored(...)`` once
with what it stored. A plain list rather than a Django signal: the subscribers are few, are called in
order, and an exception in one reaches the caller (a failed rollup refresh fails the import).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EventsStored:
    start: datetime  # earliest occurred_at among the stored events
    end: datetime  # latest occurred_at among the stored events
    product_ids: frozenset[int]
    # True for a request (a GraphQL batch) that should not wait for follow-up work a worker can do;
    # False for imports, the demo loader and synthetic data, which want everything done on return.
    from_request: bool


EventsStoredCallback = Callable[[EventsStored], None]
_callbacks: list[EventsStoredCallback] = []


def on_events_stored(callback: EventsStoredCallback) -> EventsStoredCallback:
    """Subscribe ``callback`` (once, however often an app's ready() runs); returns it (usable as a decorator)."""
    if callback not in _callbacks:
        _callbacks.append(callback)
    return callback


def events_stored_callbacks() -> tuple[EventsStoredCallback, ...]:
    return tuple(_callbacks)


def off_events_stored(callback: EventsStoredCallback) -> None:
    """Unsubscribe ``callback`` (a no-op when it is not subscribed); for tests and benchmarks that wrap it."""
    if callback in _callbacks:
        _callbacks.remove(callback)


def events_stored(notice: EventsStored) -> None:
    """Called by behavior's services after storing events (inside the storing transaction)."""
    for callback in tuple(_callbacks):
        callback(notice)
