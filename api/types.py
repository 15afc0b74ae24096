"""One app's fields on another app's GraphQL type, without the owner knowing about them.

strawberry has no `extend type`: a type's fields are fixed when its class is decorated. An app whose
data belongs on another app's type (a customer's segment, from segments, on behavior's Customer)
declares the fields on a type of its own over the same model, never itself in the schema, and adds
them with `add_fields` when its schema module is imported: before the root schema is built
(config/schema.py imports every app's schema module first). The fields keep their resolvers,
permission extensions and optimizer hints; they come after the owner's own fields.
"""

from __future__ import annotations

import copy

from strawberry.types.base import get_object_definition
from strawberry_django.utils.typing import get_django_definition


def add_fields(target: type, source: type) -> None:
    """Give the strawberry-django type `target` the fields declared on `source` (same model)."""
    target_definition = get_object_definition(target, strict=True)
    source_definition = get_object_definition(source, strict=True)
    target_model = get_django_definition(target).model  # type: ignore[union-attr]
    source_model = get_django_definition(source).model  # type: ignore[union-attr]
    if target_model is not source_model:
        raise TypeError(f"{source.__name__} declares fields of {source_model.__name__}, not {target_model.__name__}")
    taken = {field.python_name for field in target_definition.fields}
    for field in source_definition.fields:
        if field.python_name in taken:
            raise TypeError(f"{target.__name__} already has a field {field.python_name!r}")
        added = copy.copy(field)
        added.origin = target
        target_definition.fields.append(added)
