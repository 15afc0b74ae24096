"""The root GraphQL schema, assembled from each app's ``schema.Query`` and ``schema.Mutation``.

How it runs (limits, error masking, the fast path or the stock one) is `api.build`'s business.
"""

from importlib import import_module

from django.conf import settings
from strawberry.tools import merge_types

from api.build import build_schema

# Order matters only for the order of fields in the schema's documentation.
SCHEMA_APPS = ["catalog", "behavior", "analytics", "jobs", "recommender", "segments", "forecasting", "campaigns",
               "access", "privacy"]


def _collect(name: str) -> tuple[type, ...]:
    found = []
    for app in SCHEMA_APPS:
        try:
            module = import_module(f"{app}.schema")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.schema":
                raise
            continue
        if hasattr(module, name):
            found.append(getattr(module, name))
    return tuple(found)


Query = merge_types("Query", _collect("Query"))
_mutations = _collect("Mutation")
Mutation = merge_types("Mutation", _mutations) if _mutations else None

schema = build_schema(query=Query, mutation=Mutation, fast_path=settings.GRAPHQL_FAST_PATH)
