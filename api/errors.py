"""Which errors a client may read, and `ClientError` for the ones the GraphQL layer raises itself.

A resolver that refuses a request for a reason the client can fix raises `ClientError(code, message)`:
the message is shown as written and the code reaches the client as the error's `extensions.code`.
Every other exception is masked ("Unexpected error."), so no internals leak: in particular a
`ValueError` from anywhere below (a parser, a library, a bug) is never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from graphql import GraphQLError
from psycopg.errors import QueryCanceled
from strawberry.extensions import FieldExtension

from batching.retry import is_retryable as retryable_db_error


class InputErrorCode(str, Enum):
    """Codes of the checks the GraphQL layer makes on arguments (the apps' services have their own)."""

    INVALID_ID = "INVALID_ID"  # an id argument that is neither a database id nor a global id of the type
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE"  # first/last below 0 or above the cap
    PERMISSION_DENIED = "PERMISSION_DENIED"  # a field's permission check refused the caller
    INVALID_INPUT = "INVALID_INPUT"  # a model's validation refused a value
    FIELD_ERROR = "FIELD_ERROR"  # graphql-core refused a field's value (e.g. an Int out of range)


class QueryErrorCode(str, Enum):
    """Codes of requests refused before anything runs (api/guard.py, api/limits.py)."""

    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"  # the query text is not GraphQL
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"  # not valid against the schema
    BAD_REQUEST = "BAD_REQUEST"  # variables that do not fit their declared types, an unknown operation name
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE"  # more characters or tokens than allowed
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"  # its cost (fields times page sizes) is over the limit
    TOO_MANY_VARIABLE_VALUES = "TOO_MANY_VARIABLE_VALUES"  # variables holding more values than allowed
    QUERY_TIMEOUT = "QUERY_TIMEOUT"  # a database statement ran past the request's time budget


class ServiceErrorCode(str, Enum):
    """Codes of failures that are not the request's fault."""

    INTERNAL_ERROR = "INTERNAL_ERROR"  # masked as "Unexpected error.": the log has the details
    RETRY_LATER = "RETRY_LATER"  # the database lost a race or its connection: nothing was stored, send it again


RETRY_LATER_MESSAGE = "The service was briefly unable to complete this request; nothing was changed. Retry it."
TIMEOUT_MESSAGE = "The request took longer than its time budget and was stopped."


class ClientError(Exception):
    """A refusal meant for the client: `message` is shown as written, `code` in `extensions.code`."""

    def __init__(self, code: Enum | str, message: str):
        super().__init__(message)
        self.code = code.value if isinstance(code, Enum) else code
        self.message = message
        # graphql-core copies an original error's `extensions` dict onto the GraphQL error.
        self.extensions = {"code": self.code}


@contextmanager
def client_errors(*domain_errors: type[Exception]) -> Iterator[None]:
    """Domain errors raised inside (each with `code` and `message`) reach the client as `ClientError`."""
    try:
        yield
    except domain_errors as exc:
        raise ClientError(exc.code, exc.message) from None  # type: ignore[attr-defined]


class ClientErrorsFrom(FieldExtension):
    """A field extension: the field's domain errors (each with `code` and `message`) reach the client.

    For an app whose selectors refuse requests with their own exception (analytics' AnalyticsError),
    so that its resolvers stay one call each.
    """

    def __init__(self, *domain_errors: type[Exception]):
        super().__init__()
        self.domain_errors = domain_errors

    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        with client_errors(*self.domain_errors):
            return next_(source, info, **kwargs)


# GraphQLError: graphql-core's own (parsing, validation, variable coercion) and strawberry's.
_SHOWN = (ClientError, PermissionDenied, ValidationError, GraphQLError)


def is_retryable(error: GraphQLError) -> bool:
    """A masked error that the client should simply retry (a deadlock or a lost connection that the
    service's own retries did not absorb: see batching.retry)."""
    return error.original_error is not None and retryable_db_error(error.original_error)


def is_timeout(error: GraphQLError) -> bool:
    """A database statement cancelled by the request's time budget (api/budget.py)."""
    original = error.original_error
    return original is not None and isinstance(getattr(original, "__cause__", None), QueryCanceled)


def code_of(error: GraphQLError) -> str:
    """The error's code, or for one raised without a code, the code it is shown with."""
    code = (error.extensions or {}).get("code")
    if code:
        return code
    if error.path is None:  # execution's own checks of the request: variables, the operation's name
        return QueryErrorCode.BAD_REQUEST.value
    if isinstance(error.original_error, PermissionDenied):
        return InputErrorCode.PERMISSION_DENIED.value
    if isinstance(error.original_error, ValidationError):
        return InputErrorCode.INVALID_INPUT.value
    return InputErrorCode.FIELD_ERROR.value


def is_shown_to_client(error: GraphQLError) -> bool:
    """Errors whose message is meant for the client; anything else is masked (no internals leak)."""
    original = error.original_error
    return original is None or isinstance(original, _SHOWN)
