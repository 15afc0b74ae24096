"""Per-request and per-field costs of the GraphQL layer, cut without changing what the schema does.

See docs/performance.md for the measurements behind each piece.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import strawberry
from django.db.models import QuerySet
from django.db.models.manager import BaseManager
from django.db.models.fields.related_descriptors import ForwardManyToOneDescriptor
from django.db.models.query_utils import DeferredAttribute
from graphql import (
    FragmentSpreadNode,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    OperationType,
    Undefined,
    get_named_type,
)
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from strawberry.types.info import Info
from strawberry_django.fields.field import StrawberryDjangoField
from strawberry_django.optimizer import (
    DjangoOptimizerExtension,
    OptimizerConfig,
    OptimizerStore,
    _get_gql_definition,
    _get_model_hints,
    is_optimized,
    optimizer,
)
from strawberry_django.queryset import get_queryset_config
from strawberry_django.relay import DjangoListConnection, resolve_model_id
from strawberry_django.utils.inspect import get_possible_concrete_types, is_inheritance_qs
from strawberry_django.utils.typing import get_django_definition

from .graphql_inputs import coerce_list_variables, use_coerced_input_resolvers

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF


HINTS_CACHE_SIZE = 1024


class FieldOptimizer(DjangoOptimizerExtension):
    """strawberry-django's optimizer without its graphql-core middleware, with its hints cached.

    `DjangoOptimizerExtension.resolve` runs as middleware around every field of every request:
    one more Python call, a context-variable read and two isinstance checks for each of the ~1,300
    fields of a 100-row page, almost all of them scalars that can never be a QuerySet. The same
    step is put back by `use_fast_resolvers` as a wrapper on the fields that can return one
    (everything but the plain columns, cached foreign keys and node ids it resolves itself);
    strawberry-django's own fields also optimize their querysets in `get_queryset`, as before.

    `optimize` (what strawberry-django's fields call from `get_queryset`) walks the selection below
    the field and the types' hints to find the `only`/`select_related`/`prefetch_related`/`annotate`
    to add: ~1 ms per request for the products page, always the same for the same document. It is
    cached per (parsed operation, field path with type names, model, return type, optimizer
    settings), and only when the result is just `only` and `select_related` lists: those follow
    from the selection and the schema alone. Prefetches and annotations (their querysets and
    expressions may be built from the request: arguments, the user) are computed every time, and so
    is everything for a document with directives (@skip/@include may depend on variables) or
    fragment arguments. A cached store is applied to each request's queryset exactly as a fresh
    one would be.
    """

    resolve = SchemaExtension.resolve  # type: ignore[assignment]

    # Shared by the per-request instances: id(operation) -> (operation, cacheable); key -> (operation, schema,
    # store). Each entry holds its operation, so the id cannot be reused while the entry lives.
    _documents: ClassVar[dict[int, tuple[Any, bool]]] = {}
    _hints: ClassVar[dict[tuple, tuple[Any, Any, OptimizerStore]]] = {}

    def optimize(self, qs: Any, info: Any, *, store: OptimizerStore | None = None) -> Any:
        if not self.enabled.get():
            return qs
        if isinstance(qs, BaseManager):
            qs = qs.all()
        raw = info._raw_info if isinstance(info, Info) else info
        if (
            store
            or not isinstance(qs, QuerySet)
            or is_optimized(qs)
            or qs._result_cache is not None
            or is_inheritance_qs(qs)
            or not self._is_cacheable(raw.operation, raw.fragments)
        ):
            return super().optimize(qs, info, store=store)
        config = OptimizerConfig(
            enable_only=self.enable_only and raw.operation.operation == OperationType.QUERY,
            enable_select_related=self.enable_select_related,
            enable_prefetch_related=self.enable_prefetch_related,
            enable_annotate=self.enable_annotate_optimization,
            prefetch_custom_queryset=self.prefetch_custom_queryset,
        )
        key = (id(raw.operation), _typed_path(raw.path), get_named_type(raw.return_type).name, qs.model,
               dataclasses.astuple(config))
        entry = self._hints.get(key)
        if entry is not None and entry[0] is raw.operation and entry[1] is raw.schema:
            hints = entry[2]
        else:
            hints = _model_hints(qs, raw, config)
            if hints is None or hints.prefetch_related or hints.annotate:
                return super().optimize(qs, info, store=store)  # computed again there, as before
            _remember(self._hints, key, (raw.operation, raw.schema, hints.copy()))
        if hints:
            qs = hints.copy().apply(qs, info=raw, config=config)
            get_queryset_config(qs).optimized = True
        return qs

    @classmethod
    def _is_cacheable(cls, operation: Any, fragments: dict[str, Any]) -> bool:
        entry = cls._documents.get(id(operation))
        if entry is None or entry[0] is not operation:
            nodes = [operation, *fragments.values()]
            entry = (operation, not any(_has_directives(node.selection_set) for node in nodes))
            _remember(cls._documents, id(operation), entry)
        return entry[1]


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= HINTS_CACHE_SIZE:
        cache.pop(next(iter(cache)), None)  # the oldest
    cache[key] = value


def _typed_path(path: Any) -> tuple:
    """The response path without list indices, each key with its parent type's name."""
    keys = []
    while path is not None:
        if not isinstance(path.key, int):
            keys.append((path.key, path.typename))
        path = path.prev
    return tuple(keys)


def _has_directives(selection_set: Any) -> bool:
    """Whether any selection below has a directive, or is a fragment spread with arguments."""
    for selection in selection_set.selections if selection_set is not None else ():
        if selection.directives:
            return True
        if isinstance(selection, FragmentSpreadNode) and getattr(selection, "arguments", None):
            return True
        if getattr(selection, "selection_set", None) is not None and _has_directives(selection.selection_set):
            return True
    return False


def _model_hints(qs: QuerySet, info: Any, config: OptimizerConfig) -> OptimizerStore | None:
    """What strawberry_django.optimizer.optimize adds to `qs` (a QuerySet without model inheritance)."""
    schema = info.schema._strawberry_schema
    strawberry_type = schema.get_type_by_name(get_named_type(info.return_type).name)
    if strawberry_type is None:
        return None
    store = OptimizerStore()
    for inner_object_definition in get_possible_concrete_types(qs.model, schema, strawberry_type):
        new_store = _get_model_hints(
            qs.model,
            schema,
            inner_object_definition,
            parent_type=_get_gql_definition(schema, inner_object_definition),
            info=info,
            config=config,
            subclass_collection=None,
        )
        if new_store is not None:
            store |= new_store
    return store


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
_COLUMN, _NODE_ID, _ATTRIBUTE, _CACHED_RELATION, _ATTRIBUTE_OBJECT, _ATTRIBUTE_LIST = range(6)


class _Miss(Exception):
    """A planned step cannot give graphql-core's answer for this object: graphql-core does it."""


class _Plan(NamedTuple):
    """How to execute one selection set on one object type: the steps read directly, the rest.

    A step is (response name, kind, key, coerce or sub-plan, nullable, extra): a leaf read from the
    instance (`_COLUMN`, `_NODE_ID`: key is the attname; `_ATTRIBUTE`: a dataclass attribute) and
    coerced, or an object (`_CACHED_RELATION`: key is the foreign key's cache name;
    `_ATTRIBUTE_OBJECT`, `_ATTRIBUTE_LIST`: a relay Connection/Edge attribute) completed with a
    sub-plan that is itself all steps, extra being the object type's is_type_of. `rest` is
    graphql-core's grouped field set for the other fields (same FieldDetails lists).
    """

    steps: tuple[tuple[str, int, str, Any, bool, Any], ...]
    rest: dict[str, Any]
    order: tuple[str, ...]
    grouped_field_set: Any  # kept alive: plans are found by its id()


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with a short path for the fields `use_fast_resolvers` marked.

    For every column, node id and related object of every row, graphql-core builds a Path and a
    ResolveInfo, looks up middleware and arguments, calls the resolver and walks `complete_value`
    (non-null, then leaf or object: is_type_of, subfield collection, execute_fields) before it has a
    value: several microseconds a field, and a page of 100 products with their category and its
    parent is ~1,300 fields. graphql-core collects a selection set once per request and object type
    and reuses it for every row, so the plan for it is made once per request:

    - marked leaves (columns, node ids, relay attributes such as `cursor`, `hasNextPage`) are read
      from the object and coerced in one loop;
    - marked objects (foreign keys filled by `select_related`, an Edge's `node`, a Connection's
      `edges` and `pageInfo`) are completed in the same loop when everything selected below them is
      itself a marked field (so no resolver runs and nothing can raise a field error), after the
      same is_type_of check graphql-core makes;
    - the other fields go through graphql-core's `execute_fields`.

    Reading is free of side effects, so when any step finds something it cannot answer exactly as
    graphql-core would (a value not loaded, a null where the type is non-null, a failed coercion or
    is_type_of, a QuerySet where a list was expected) the whole object takes graphql-core's own path,
    and errors, null handling and paths stay exactly graphql-core's. Not used when any middleware is
    installed (middleware must see every field), nor for fields with arguments or directives, nor
    under @defer/@stream.
    """

    @classmethod
    def build(  # type: ignore[override]
        cls, schema: Any, document: Any, root_value: Any = None, context_value: Any = None,
        raw_variable_values: Any = None, *args: Any, **kwargs: Any,
    ) -> Any:
        """graphql-core's build, with lists of flat input objects coerced in one loop (config/graphql_inputs.py)."""
        parent = super().build

        def build(raw: Any) -> Any:
            return parent(schema, document, root_value, context_value, raw, *args, **kwargs)

        return coerce_list_variables(build, schema, document, raw_variable_values)

    def execute_fields(
        self, parent_type: Any, source_value: Any, path: Any, grouped_field_set: Any, position_context: Any
    ) -> Any:
        plan = self._plan_for(parent_type, grouped_field_set) if position_context is None else None
        if plan is None:
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        try:
            values = self._read(plan, source_value)
        except Exception:  # noqa: BLE001 - not loaded, not a model, not coercible: graphql-core decides
            values = None
        if values is None:  # (outside the except block: graphql-core's errors carry no context of ours)
            return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)
        if not plan.rest:
            return values
        rest = super().execute_fields(parent_type, source_value, path, plan.rest, position_context)
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                return self._merge(plan, values, await rest)

            return merged()
        return self._merge(plan, values, rest)

    def _plan_for(self, parent_type: Any, grouped_field_set: Any) -> _Plan | None:
        plans = self.__dict__.setdefault("_fast_plans", {})
        entry = plans.get(id(grouped_field_set))
        if entry is None or entry[0] is not parent_type:
            entry = plans[id(grouped_field_set)] = (parent_type, self._plan(parent_type, grouped_field_set))
        return entry[1]

    @classmethod
    def _read(cls, plan: _Plan, source: Any) -> dict[str, Any]:
        """The planned fields of `source`, or an exception when graphql-core must do this object."""
        values = {}
        for name, kind, key, then, nullable, is_type_of in plan.steps:
            if kind == _COLUMN:
                value = source.__dict__[key]
            elif kind == _CACHED_RELATION:
                value = source._state.fields_cache[key]
            elif kind == _NODE_ID:  # Node._id: the type name (carried in the is_type_of slot) and str(pk)
                value = source.__dict__[key]
                if value is None:
                    raise _Miss(name)
                value = GlobalID(type_name=is_type_of, node_id=str(value))
            else:
                value = getattr(source, key)
            if value is None:
                if not nullable:
                    raise _Miss(name)
                values[name] = None
            elif kind <= _ATTRIBUTE:  # a leaf: coerced as complete_leaf_value does
                value = then(value)
                if value is None or value is Undefined:
                    raise _Miss(name)
                values[name] = value
            elif kind == _ATTRIBUTE_LIST:
                if type(value) is not list:  # a QuerySet, a generator: graphql-core (and the optimizer)
                    raise _Miss(name)
                sub_plan, item_nullable = then
                items = []
                for item in value:
                    if item is None:
                        if not item_nullable:
                            raise _Miss(name)
                        items.append(None)
                    elif is_type_of is None or is_type_of(item, None) is True:
                        items.append(cls._read(sub_plan, item))
                    else:
                        raise _Miss(name)
                values[name] = items
            elif is_type_of is None or is_type_of(value, None) is True:
                values[name] = cls._read(then, value)
            else:
                raise _Miss(name)
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
        steps, rest = [], {}
        for name, field_details_list in grouped_field_set.items():
            step = self._step(parent_type, name, field_details_list)
            if step is None:
                rest[name] = field_details_list
            else:
                steps.append(step)
        if not steps:
            return None
        return _Plan(tuple(steps), rest, tuple(grouped_field_set), grouped_field_set)

    def _step(self, parent_type: Any, name: str, field_details_list: Any) -> tuple | None:
        node = field_details_list[0].node
        if node.arguments or node.directives or any(d.defer_usage is not None for d in field_details_list):
            return None
        field_def = self.schema.get_field(parent_type, node.name.value)
        resolve = field_def.resolve if field_def is not None else None
        if resolve is None:
            return None
        return_type = field_def.type
        nullable = not isinstance(return_type, GraphQLNonNull)
        named = return_type if nullable else return_type.of_type
        if getattr(resolve, "column", None):
            return (name, _COLUMN, resolve.column, named.coerce_output_value, nullable, None)
        if getattr(resolve, "node_pk", None):
            return (name, _NODE_ID, resolve.node_pk, named.coerce_output_value, False, parent_type.name)
        attribute = getattr(resolve, "attribute", None)
        cache_name = getattr(resolve, "cache_name", None)
        if attribute is None and cache_name is None:
            return None
        if isinstance(named, GraphQLLeafType):
            if attribute is None:
                return None
            return (name, _ATTRIBUTE, attribute, named.coerce_output_value, nullable, None)
        if isinstance(named, GraphQLList):
            if attribute is None:
                return None
            item_type = named.of_type
            item_nullable = not isinstance(item_type, GraphQLNonNull)
            item_named = item_type if item_nullable else item_type.of_type
            sub_plan = self._pure_sub_plan(item_named, field_details_list)
            if sub_plan is None:
                return None
            return (name, _ATTRIBUTE_LIST, attribute, (sub_plan, item_nullable), nullable, item_named.is_type_of)
        sub_plan = self._pure_sub_plan(named, field_details_list)
        if sub_plan is None:
            return None
        kind = _CACHED_RELATION if cache_name is not None else _ATTRIBUTE_OBJECT
        return (name, kind, cache_name or attribute, sub_plan, nullable, named.is_type_of)

    def _pure_sub_plan(self, object_type: Any, field_details_list: Any) -> _Plan | None:
        """The plan of an object's selection when every field in it is a step, else None."""
        if not isinstance(object_type, GraphQLObjectType):  # interfaces and unions: graphql-core
            return None
        grouped_field_set, new_defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return None
        plan = self._plan_for(object_type, grouped_field_set)
        if plan is None or plan.rest:
            return None
        return plan


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
