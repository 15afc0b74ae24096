"""The mark an app's schema puts on a batch resolver; importing it loads nothing of the speed layer.

With GRAPHQL_FAST_PATH off the mark does nothing and strawberry calls the resolver as usual; on, the
speed layer (`arguments.use_coerced_input_resolvers`) finds the marked resolvers here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

coerced_input_resolvers: dict[Callable[..., Any], Callable[..., Any]] = {}


def takes_coerced_inputs(fast: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a resolver: the GraphQL layer may call `fast` instead, with the same keyword arguments,
    each input object replaced by the dict `vars()` of it would be (Python field names)."""

    def mark(resolver: Callable[..., Any]) -> Callable[..., Any]:
        coerced_input_resolvers[resolver] = fast
        return resolver

    return mark
