from django.contrib import admin
from django.urls import include, path

from api.views import ShopGraphQLView

from .schema import schema

urlpatterns = [
    path("admin/", admin.site.urls),
    path("segments/", include("segments.urls")),  # audience CSV exports (staff only)
    # CSRF is checked for requests with a session cookie (staff, GraphiQL), not for anonymous front ends.
    path("graphql/", ShopGraphQLView.as_view(schema=schema, graphql_ide="graphiql")),
]
