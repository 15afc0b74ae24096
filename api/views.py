"""The GraphQL endpoint: CSRF is checked where a session could be abused, and only there.

A shop's front end posts queries (the catalogue, recommendations) from the browser or a server without
Django's CSRF cookie; those requests carry no session, so a forged one could do nothing its sender
could not do anyway, and refusing them would break every front end that POSTs. A request that carries
the session cookie (a logged-in staff user, GraphiQL) is checked exactly as Django checks any view.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware, get_token
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from strawberry.django.views import GraphQLView

from .bearer import bearer_refusal, uses_bearer
from .graphiql import graphiql_html
from .http import GraphQLOverHTTP


def _no_response(request):  # CsrfViewMiddleware needs a get_response; the view is called separately
    return None


_csrf = CsrfViewMiddleware(_no_response)


@method_decorator(csrf_exempt, name="dispatch")
class ShopGraphQLView(GraphQLOverHTTP, GraphQLView):
    def dispatch(self, request, *args, **kwargs):
        refused = bearer_refusal(request)  # API keys and customer tokens: api/bearer.py
        if refused is not None:
            return refused
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            get_token(request)  # GraphiQL's page: it sends the csrftoken cookie back as X-CSRFToken
        elif settings.SESSION_COOKIE_NAME in request.COOKIES and not uses_bearer(request):
            rejected = _csrf.process_view(request, None, (), {})
            if rejected is not None:
                return rejected
        return super().dispatch(request, *args, **kwargs)

    @property
    def graphql_ide_html(self) -> str:  # GraphiQL from our static files, not a CDN (api/graphiql.py)
        return graphiql_html()
