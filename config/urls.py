from django.contrib import admin
from django.urls import include, path

from api.views import ShopGraphQLView

from .health import healthz, readyz
from .schema import schema

urlpatterns = [
    path("healthz", healthz),  # liveness (no dependency)
    path("readyz", readyz),  # readiness: PostgreSQL and Redis answer (503 otherwise)
    path("admin/", admin.site.urls),
    path("segments/", include("segments.urls")),  # audience CSV exports (staff only)
    path("campaigns/", include("campaigns.urls")),  # treatment-list CSV exports (staff only)
    path("dashboard/", include("dashboard.urls")),  # staff pages drawn from the GraphQL API (docs/dashboard.md)
    # CSRF is checked for requests with a session cookie (staff, GraphiQL), not for anonymous front ends.
    path("graphql/", ShopGraphQLView.as_view(schema=schema, graphql_ide="graphiql"), name="graphql"),
]
