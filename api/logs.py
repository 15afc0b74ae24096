"""What the GraphQL layer writes to the log about failed requests: no query text, no variables, no
exception text (issue 15: an email given as a customer id was written to the log with the query).

- A client's error (a refusal with a code, a parse or validation failure): one INFO line with the
  operation's name and the code.
- A server's error (masked as "Unexpected error."): one ERROR line with the operation's name, the
  field's path, the exception's type and its traceback's frames, but not its message, which can
  carry a row's values (a database error quotes the key it tripped on).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from graphql import GraphQLError

from .errors import code_of, is_shown_to_client

logger = logging.getLogger("api.graphql")
_NAME = re.compile(r"[^A-Za-z0-9_]")


def operation_label(execution_context: Any) -> str:
    try:
        name = execution_context.operation_name if execution_context is not None else None
    except RuntimeError:  # strawberry raises it when the document has no such operation
        name = None
    return _NAME.sub("", name or "")[:64] or "(anonymous)"


def _frames(exception: BaseException) -> str:
    """The traceback of an exception and of its causes, each named by type only."""
    parts = []
    current: BaseException | None = exception
    while current is not None and len(parts) < 5:
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"{type(current).__module__}.{type(current).__qualname__} (message withheld)\n{frames}")
        current = current.__cause__ or current.__context__
    return "\nwhich was caused by: ".join(parts)


def log_errors(errors: list[GraphQLError], execution_context: Any) -> None:
    operation = operation_label(execution_context)
    for error in errors:
        path = ".".join(str(p) for p in error.path or ()) or "-"
        if is_shown_to_client(error):
            logger.info("graphql client error: operation=%s code=%s path=%s", operation, code_of(error), path)
        else:
            original = error.original_error
            logger.error("graphql server error: operation=%s path=%s exception=%s\n%s", operation, path,
                         type(original).__qualname__, _frames(original) if original else "")
