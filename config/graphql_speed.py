"""Per-request and per-field costs of the GraphQL layer, cut without changing what the schema does.

See docs/performance.md for the measurements behind each piece.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import strawberry
from django.db.models import QuerySet
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.query_utils import DeferredAttribute
from graphql import GraphQLNonNull, GraphQLObjectType, Undefined
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import DjangoOptimizerExtension, optimizer
from strawberry_django.queryset import get_queryset_config
from strawberry_django.relay import DjangoListConnection, resolve_model_id
from strawberry_django.utils.typing import get_django_definition

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


class FieldOptimizer(DjangoOptimizerExtension):
    """strawberry-django's optimizer without its graphql-core middleware.

    `DjangoOptimizerExtension.resolve` runs as middleware around every field of every request:
    one more Python call, a context-variable read and two isinstance checks for each of the ~1,300
    fields of a 100-row page, almost all of them scalars that can never be a QuerySet. The same
    step is put back by `use_fast_resolvers` as a wrapper on the fields that can return one
    (everything but the plain columns, cached foreign keys and node ids it resolves itself);
    strawberry-django's own fields also optimize their querysets in `get_queryset`, as before.
    """

    resolve = SchemaExtension.resolve  # type: ignore[assignment]


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


class _Plan(NamedTuple):
    """How to execute one selection set on one object type: the leaves read directly, the rest."""

    leaves: tuple[tuple[str, str, Callable[[Any], Any], str | None], ...]  # name, attname, coerce, node type
    rest: dict[str, Any]  # graphql-core's grouped field set for the other fields (same FieldDetails lists)
    order: tuple[str, ...]
    grouped_field_set: Any  # kept alive: plans are found by its id()


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with a short path for the leaves `use_fast_resolvers` marked.

    For every column or node id of every row, graphql-core builds a Path and a ResolveInfo, looks up
    middleware and arguments, calls the resolver and walks `complete_value` twice (non-null, then
    leaf) before coercing the value: several microseconds a field, ten fields a row. graphql-core
    collects a selection set once per request and object type and reuses it for every row, so the
    plan for it is made once: the marked leaves (no arguments) are read from the loaded instance
    and coerced in one loop, and only the other fields go through `execute_fields`. If any of those
    leaves is not loaded, is null or fails to coerce, the whole object takes graphql-core's own path,
    so errors, null handling and paths stay exactly graphql-core's. Not used when any middleware is
    installed (middleware must see every field).
    """

    def execute_fields(
        self, parent_type: Any, source_value: Any, path: Any, grouped_field_set: Any, position_context: Any
    ) -> Any:
        plans = self.__dict__.setdefault("_fast_plans", {})
        entry = plans.get(id(grouped_field_set))
        if entry is None or entry[0] is not parent_type:
            entry = plans[id(grouped_field_set)] = (parent_type, self._plan(parent_type, grouped_field_set))
        plan = entry[1]
        values = self._read_leaves(plan, source_value) if plan is not None else None
        if values is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        if not plan.rest:
            return values
        rest = super().execute_fields(parent_type, source_value, path, plan.rest, position_context)
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                return self._merge(plan, values, await rest)

            return merged()
        return self._merge(plan, values, rest)

    @staticmethod
    def _read_leaves(plan: _Plan, source: Any) -> dict[str, Any] | None:
        try:
            loaded = source.__dict__
            values = {}
            for name, attname, coerce, node_type in plan.leaves:
                value = loaded[attname]
                if value is None:
                    return None
                if node_type is not None:
                    value = GlobalID(type_name=node_type, node_id=str(value))
                value = coerce(value)
                if value is None or value is Undefined:
                    return None
                values[name] = value
        except Exception:  # noqa: BLE001 - not loaded, not a model, not coercible: graphql-core decides
            return None
        return values

    @staticmethod
    def _merge(plan: _Plan, values: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
        merged = {}
        for name in plan.order:
            if name in values:
                merged[name] = values[name]
            elif name in rest:
                merged[name] = rest[name]
        return merged

    def _plan(self, parent_type: Any, grouped_field_set: Any) -> _Plan | None:
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return None
        leaves, rest = [], {}
        for name, field_details_list in grouped_field_set.items():
            node = field_details_list[0].node
            field_def = self.schema.get_field(parent_type, node.name.value)
            resolve = field_def.resolve if field_def is not None else None
            attname = getattr(resolve, "column", None) or getattr(resolve, "node_pk", None)
            if attname is None or node.arguments or node.directives:
                rest[name] = field_details_list
                continue
            return_type = field_def.type
            leaf = return_type.of_type if isinstance(return_type, GraphQLNonNull) else return_type
            node_type = parent_type.name if getattr(resolve, "node_pk", None) else None
            leaves.append((name, attname, leaf.coerce_output_value, node_type))
        if not leaves:
            return None
        return _Plan(tuple(leaves), rest, tuple(grouped_field_set), grouped_field_set)


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
    counts: dict[str, int] = {}
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
            fast = _fast_resolver(django_def.model, origin, gql_field, field) if django_def else None
            if fast is None and _is_relay_container_attribute(origin, field):
                continue  # an Edge's node, a PageInfo flag: plain attributes, never a QuerySet
            if fast is not None:
                gql_field.resolve = fast
                kind = fast.fast_path  # type: ignore[attr-defined]
            else:
                gql_field.resolve = _with_optimizer_step(gql_field.resolve)
                kind = "optimizer step"
            counts[kind] = counts.get(kind, 0) + 1
    return counts


@strawberry.type(name="Connection", description="A connection to a list of items.")
class CountedListConnection(DjangoListConnection[relay.NodeType]):
    """`DjangoListConnection` whose `totalCount` is a plain `COUNT(*)` instead of a window function.

    With the optimizer on, strawberry-django adds `COUNT(1) OVER ()` to the page query when
    `totalCount` is selected. That saves a round trip but makes PostgreSQL build every matching row,
    joins included, before it can return the first page: on 5,000 products the page query went from
    0.3 ms to 6-40 ms. A separate `SELECT COUNT(*)` (no joins, no ordering) plus a `LIMIT`ed page
    that can walk the ordering index is far cheaper, and still two queries at every page size.
    The schema is unchanged (same type name and fields). Nested connections that the optimizer
    prefetches, and `last` without `before`, keep strawberry-django's own handling.
    """

    @classmethod
    def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Any,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        **kwargs: Any,
    ) -> Any:
        if (
            not isinstance(nodes, QuerySet)
            or get_queryset_config(nodes).optimized_by_prefetching
            or ((last or 0) > 0 and before is None)
        ):
            return super().resolve_connection(
                nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
            )
        # relay.ListConnection's slicing (first + 1 rows for hasNextPage), without the window annotation;
        # DjangoListConnection.total_count then falls back to nodes.count().
        conn = super(DjangoListConnection, cls).resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, **kwargs
        )
        if inspect.isawaitable(conn):

            async def with_nodes() -> Any:
                resolved = await conn
                resolved.nodes = nodes
                return resolved

            return with_nodes()
        conn.nodes = nodes
        return conn
