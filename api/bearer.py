"""`Authorization: Bearer <API key or customer token>` on the GraphQL endpoint (access.services).

With the header, `request.user` becomes the key's or token's principal for this request, whatever
session cookie came along (so no CSRF check is needed: the cookie is not used). A header that names no
valid credential is refused with 401 and the code UNAUTHENTICATED; a key over its rate limit with 429,
RATE_LIMITED and Retry-After. Both bodies have the GraphQL error shape, so clients branch on the code.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from access.error_codes import AccessError, AccessErrorCode
from access.services import bearer_user


def uses_bearer(request: HttpRequest) -> bool:
    return "HTTP_AUTHORIZATION" in request.META


def bearer_refusal(request: HttpRequest) -> JsonResponse | None:
    """Authenticate the request's Bearer header, if any: None when it is absent or valid, else the refusal."""
    if not uses_bearer(request):
        return None
    try:
        request.user = bearer_user(request.META["HTTP_AUTHORIZATION"])
    except AccessError as exc:
        limited = exc.code is AccessErrorCode.RATE_LIMITED
        response = JsonResponse({"data": None, "errors": [{"message": exc.message,
                                                           "extensions": {"code": exc.code.value}}]},
                                status=429 if limited else 401)
        if limited:
            response["Retry-After"] = str(exc.retry_after)
        else:
            response["WWW-Authenticate"] = 'Bearer realm="graphql"'
        return response
    return None
