"""GraphQL over HTTP (the GraphQL-over-HTTP spec): `application/graphql-response+json` as well as
`application/json`, chosen by the Accept header, and a refusal of oversized variables before their
JSON is decoded.

With `application/graphql-response+json` a request error (the document does not parse or validate,
the variables do not coerce: nothing was executed) is answered 400 without a `data` entry; with
`application/json` (also for `*/*` and no Accept) it stays 200 with `data: null`, as legacy clients
expect. An Accept that allows neither is answered 406. CI runs the graphql-http server audit against
a live server (tests/test_graphql_over_http.py).
"""

from __future__ import annotations

import json
from typing import Any

from cross_web import HTTPException
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from .budget import statement_time_budget
from .errors import QueryErrorCode

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def response_media_type(accept: str) -> str | None:
    """What to answer with for this Accept header; None when it allows neither JSON type."""
    if not accept.strip():
        return JSON
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip().lower() for p in part.split(";"))
        quality = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            ranges.append((-float(quality), position, media))
        except ValueError:
            continue
    for negative_quality, _, media in sorted(ranges):
        if negative_quality == 0:
            break
        if media == GRAPHQL_RESPONSE_JSON:
            return GRAPHQL_RESPONSE_JSON
        if media in (JSON, "application/*", "*/*"):
            return JSON
    return None


def is_request_error(result: Any) -> bool:
    """Nothing was executed: no data, and no error has a path (field errors always have one)."""
    return result.data is None and bool(result.errors) and all(e.path is None for e in result.errors)


def variables_too_many(body: bytes | str, max_values: int) -> bool:
    """More values than allowed, seen without decoding the JSON (a 2 MB body decodes into ~40 MB of
    objects): every value after the first in an array or object follows a comma, so the commas are
    fewer than the values (commas inside strings aside). Counted in C: a millisecond for 2 MB."""
    return body.count(b"," if isinstance(body, bytes) else ",") >= max_values


class RequestRefused(Exception):
    def __init__(self, code: QueryErrorCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


class GraphQLOverHTTP:
    """A mixin for strawberry's Django GraphQLView (placed before it)."""

    @property
    def graphql_ide(self) -> str | None:
        """GraphiQL only where GRAPHQL_IDE is on (development by default), read per request."""
        return "graphiql" if settings.GRAPHQL_IDE else None

    @graphql_ide.setter
    def graphql_ide(self, value: str | None) -> None:
        pass  # as_view(graphql_ide=...) is overruled by the setting

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        except RequestRefused as refused:
            return self.refusal(request, refused)

    def refusal(self, request: HttpRequest, refused: RequestRefused) -> HttpResponse:
        media = response_media_type(request.headers.get("Accept", "")) or JSON
        body: dict[str, Any] = {"errors": [{"message": refused.message, "extensions": {"code": refused.code.value}}]}
        if media == JSON:
            body = {"data": None, **body}
        return HttpResponse(json.dumps(body), status=400 if media == GRAPHQL_RESPONSE_JSON else 200,
                            content_type=f"{media}; charset=utf-8")

    def execute_operation(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # The time budget covers executing operations only: not the GraphiQL page, which needs no database.
        with statement_time_budget(settings.GRAPHQL_STATEMENT_TIMEOUT_MS):
            return super().execute_operation(request, *args, **kwargs)  # type: ignore[misc]

    def decode_json(self, data: str | bytes) -> object:
        if variables_too_many(data, settings.GRAPHQL_MAX_VARIABLE_VALUES):
            raise RequestRefused(QueryErrorCode.TOO_MANY_VARIABLE_VALUES,
                                 f"The variables hold more than {settings.GRAPHQL_MAX_VARIABLE_VALUES:,} values.")
        return super().decode_json(data)  # type: ignore[misc]

    def get_sub_response(self, request: HttpRequest) -> Any:
        media = response_media_type(request.headers.get("Accept", ""))
        if media is None:
            raise HTTPException(406, f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.")
        sub_response = super().get_sub_response(request)  # type: ignore[misc]
        sub_response.graphql_media_type = media
        return sub_response

    def process_result(self, request: HttpRequest, result: Any) -> Any:
        data = super().process_result(request, result)  # type: ignore[misc]
        media = response_media_type(request.headers.get("Accept", ""))
        if media == GRAPHQL_RESPONSE_JSON and is_request_error(result):
            data.pop("data", None)
        return data

    def create_response(self, response_data: Any, sub_response: Any) -> Any:
        response = super().create_response(response_data, sub_response)  # type: ignore[misc]
        media = getattr(sub_response, "graphql_media_type", JSON)
        response["Content-Type"] = f"{media}; charset=utf-8"
        if media == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400
        return response
