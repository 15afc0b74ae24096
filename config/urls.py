from django.contrib import admin
from django.urls import include, path
from strawberry.django.views import GraphQLView

from .schema import schema

urlpatterns = [
    path("admin/", admin.site.urls),
    # Session-authenticated, so Django's CSRF check stays on (GraphiQL sends the token).
    path("segments/", include("segments.urls")),  # audience CSV exports (staff only)
    path("graphql/", GraphQLView.as_view(schema=schema, graphql_ide="graphiql")),
]
