"""graphql-core's executor with a short path for the fields `use_fast_resolvers` marked.

See docs/performance.md (items 5 and 7) for the measurements.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from graphql import GraphQLLeafType, GraphQLList, GraphQLNonNull, GraphQLObjectType, Undefined
from strawberry.relay import GlobalID
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from .variables import coerce_list_variables

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
        """graphql-core's build, with lists of flat input objects coerced in one loop (api/fast/variables.py)."""
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

