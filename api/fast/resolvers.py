"""Cheaper resolvers for the fields where strawberry's generic path does trivial work.

See docs/performance.md (items 3 and 4) for the measurements.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.query_utils import DeferredAttribute
from graphql import GraphQLObjectType
from strawberry import relay
from strawberry.relay import GlobalID
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import DjangoOptimizerExtension, optimizer
from strawberry_django.relay import resolve_model_id
from strawberry_django.utils.typing import get_django_definition

from .arguments import use_coerced_input_resolvers
from .optimizer import FieldOptimizer

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


def _with_optimizer_step(resolve: Callable[..., Any]) -> Callable[..., Any]:
    """What DjangoOptimizerExtension.resolve did as middleware, on this one field."""
    middleware = DjangoOptimizerExtension.resolve

    def resolve_and_optimize(source: Any, info: Any, **kwargs: Any) -> Any:
        ext = optimizer.get()
        if ext is None:
            return resolve(source, info, **kwargs)
        return middleware(ext, resolve, source, info, **kwargs)

    return resolve_and_optimize


def _plain_attribute_resolver(attname: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        try:
            return source.__dict__[attname]
        except (KeyError, AttributeError):
            # Deferred (not loaded) or not a model instance: the field's own resolver does it right.
            return fallback(source, info, **kwargs)

    resolve.fast_path = "column"  # type: ignore[attr-defined]
    resolve.column = attname  # type: ignore[attr-defined]
    return resolve


def _cached_relation_resolver(cache_name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        try:
            return source._state.fields_cache[cache_name]
        except (KeyError, AttributeError):
            return fallback(source, info, **kwargs)

    resolve.fast_path = "foreign key"  # type: ignore[attr-defined]
    resolve.cache_name = cache_name  # type: ignore[attr-defined]
    return resolve


def _node_id_resolver(attname: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        try:
            pk = source.__dict__[attname]
        except (KeyError, AttributeError):
            return fallback(source, info, **kwargs)
        # Node._id with strawberry-django's resolve_model_id and Node.resolve_typename: the type
        # name is info.path.typename, the id str(instance.__dict__[pk attname]).
        return GlobalID(type_name=info.path.typename, node_id=str(pk))

    resolve.fast_path = "node id"  # type: ignore[attr-defined]
    resolve.node_pk = attname  # type: ignore[attr-defined]
    return resolve


# Kinds of planned steps (see FastExecutionContext).

def _fast_resolver(model: type, origin: type, gql_field: Any, field: Any) -> Callable[..., Any] | None:
    """A cheaper resolver that returns exactly what the field's own resolver returns, or None."""
    fallback = gql_field.resolve
    if field.extensions or field.arguments:  # permissions and other field extensions live there
        return None
    if isinstance(field, StrawberryDjangoField):
        if type(field).get_result is not StrawberryDjangoField.get_result or field.base_resolver is not None:
            return None
        descriptor = model.__dict__.get(field.django_name or field.python_name)
        # Exact types only: subclasses (files, foreign-key ids) have their own __get__/__set__.
        if type(descriptor) is DeferredAttribute and not descriptor.field.is_relation:
            return _plain_attribute_resolver(descriptor.field.attname, fallback)
        if type(descriptor) is ForwardManyToOneDescriptor and field.is_relation:
            # get_result returns field.get_cached_value(source) when the optimizer's select_related
            # filled the cache; otherwise the original resolver fetches it.
            return _cached_relation_resolver(descriptor.field.cache_name, fallback)
        return None
    if (
        field.python_name == "_id"
        and issubclass(origin, relay.Node)
        and getattr(getattr(field.base_resolver, "wrapped_func", None), "__func__", None) is relay.Node._id.__func__
        and getattr(origin.resolve_id, "__func__", None) is resolve_model_id
        and getattr(origin.resolve_typename, "__func__", None) is relay.Node.resolve_typename.__func__
    ):
        id_attr = origin.resolve_id_attr()
        if id_attr == "pk":
            id_attr = model._meta.pk.attname
        if type(model.__dict__.get(id_attr)) is DeferredAttribute:
            return _node_id_resolver(id_attr, fallback)
    return None


def _is_relay_container_attribute(origin: Any, field: Any) -> bool:
    """A resolver-less field of strawberry's own relay Edge / PageInfo types."""
    return (
        isinstance(origin, type)
        and issubclass(origin, (relay.Edge, relay.PageInfo))
        and field.base_resolver is None
        and not field.extensions
    )


def _relay_attribute(origin: Any, gql_field: Any, field: Any) -> str | None:
    """The attribute name of a basic field of a relay Connection / Edge / PageInfo type, else None.

    strawberry resolves such a field with `_get_basic_result`, i.e. `field.get_result(source, None,
    [], {})`, which for a field without resolver is `getattr(source, field.python_name)`. These types
    are dataclasses filled by `resolve_connection`, so reading the attribute has no side effect.
    """
    if (
        isinstance(origin, type)
        and issubclass(origin, (relay.Connection, relay.Edge, relay.PageInfo))
        and getattr(gql_field.resolve, "_is_default", False)
        and type(field).get_result is StrawberryField.get_result
        and field.base_resolver is None
        and not field.extensions
        and field.default_resolver is getattr
    ):
        return field.python_name
    return None


def use_fast_resolvers(schema: Any) -> dict[str, int]:
    """Cheaper resolvers for the fields where strawberry's generic path does trivial work.

    strawberry-django marks every field of a Django type as non-basic, so each scalar (`sku`,
    `name`, `price`, ...) goes through strawberry's full resolver path: an `Info` object, argument
    conversion, the field-extension chain and `StrawberryDjangoField.get_result`, whose first step
    for a loaded column is to return `instance.__dict__[attname]`. That is ~20 us per field, most
    of the per-row cost of a page. For the fields where it is exactly equivalent, this installs a
    resolver that does that first step directly:

    - plain columns (`DeferredAttribute`, not a file or relation): the loaded value;
    - forward foreign keys: the related instance the optimizer's `select_related` cached;
    - relay `id` of strawberry-django nodes with the default id/typename resolution: the GlobalID.

    Only fields with no custom resolver, no field extensions (permissions live there) and no
    arguments qualify; whenever the value is not loaded, the original resolver runs. Every other
    field gets the optimizer's per-field step (`FieldOptimizer`), which the schema must use.
    Returns counts per kind, for the record.
    """
    if not any(ext is FieldOptimizer or isinstance(ext, FieldOptimizer) for ext in schema.extensions):
        raise ValueError("use_fast_resolvers needs FieldOptimizer (not DjangoOptimizerExtension) in the schema")
    counts: dict[str, int] = {"coerced inputs": use_coerced_input_resolvers(schema)}
    for gql_type in schema._schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name.startswith("__"):
            continue
        type_def = (gql_type.extensions or {}).get(_BACKREF)
        origin = getattr(type_def, "origin", None)
        django_def = get_django_definition(origin) if origin is not None else None
        for gql_field in gql_type.fields.values():
            field = (gql_field.extensions or {}).get(_BACKREF)
            if gql_field.resolve is None or field is None:
                continue
            if getattr(gql_field.resolve, "fast_path", None) == "coerced inputs":
                gql_field.resolve = _with_optimizer_step(gql_field.resolve)  # as any other resolver
                gql_field.resolve.fast_path = "coerced inputs"  # type: ignore[attr-defined]
                continue
            fast = _fast_resolver(django_def.model, origin, gql_field, field) if django_def else None
            attribute = _relay_attribute(origin, gql_field, field)
            if fast is None and _is_relay_container_attribute(origin, field):
                kind = "relay attribute"  # an Edge's node, a PageInfo flag: plain attributes, never a QuerySet
            elif fast is not None:
                gql_field.resolve = fast
                kind = fast.fast_path  # type: ignore[attr-defined]
            else:
                gql_field.resolve = _with_optimizer_step(gql_field.resolve)
                kind = "optimizer step"
            if attribute is not None:
                # FastExecutionContext may read it directly (a Connection's edges: only as a list,
                # which a QuerySet for the optimizer never is).
                gql_field.resolve.attribute = attribute  # type: ignore[attr-defined]
            counts[kind] = counts.get(kind, 0) + 1
    return counts


