"""Batch mutations without per-item input objects: the GraphQL layer of `ingestEvents` and the like.

A mutation that takes a list of 1,000 flat input objects spends most of its time in two generic steps
(docs/performance.md, "ingestEvents"): graphql-core coercing the variable (a recursive
`coerce_input_value` per field, after a walk of the whole value for its nesting depth), then strawberry
converting the coerced dicts into input dataclasses (`convert_argument` per field, resolving each
field's type every time). Both are exact but general; for lists of input objects whose fields are all
scalars or enums, two specialised steps give the same values:

- `coerce_list_variables`: graphql-core's own coercion algorithm for such variables in one loop, with
  each leaf coerced by the type's own `coerce_input_value`. Anything it cannot handle exactly (a value
  of the wrong type, a missing required field, an unknown field, anything but a JSON list of dicts)
  makes it give up, and graphql-core's coercion runs from the start and reports its normal errors.
- `use_coerced_input_resolvers`: for a resolver marked `@takes_coerced_inputs(fast)`, the GraphQL
  resolver hands graphql-core's coerced dicts, mapped to the dataclass fields' Python names (what
  `vars()` of strawberry's input object would be), to `fast` instead of building input objects. The
  field's extensions (permission checks) run exactly as strawberry chains them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial, reduce
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    OperationDefinitionNode,
    Undefined,
)
from graphql.execution.values import VariableValueSource
from graphql.type.definition import is_required_input_field
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, coerce_int, coerce_string
from graphql.utilities.coerce_input_value import coerce_default_value
from graphql.utilities.type_from_ast import type_from_ast
from strawberry.extensions.field_extension import FieldExtension, build_field_extension_resolvers
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF

# --- variables: lists of flat input objects -----------------------------------------------------------


_STRING, _INT = "String", "Int"  # built-in leaves whose valid values need no call


def _input_object_plan(input_type: Any) -> tuple | None:
    """(field names, steps, out_type) for an input object whose fields are all scalars or enums."""
    if not isinstance(input_type, GraphQLInputObjectType) or input_type.is_one_of:
        return None
    steps = []
    for name, field in input_type.fields.items():
        non_null = isinstance(field.type, GraphQLNonNull)
        leaf = field.type.of_type if non_null else field.type
        if not isinstance(leaf, (GraphQLScalarType, GraphQLEnumType)):
            return None
        coerce = leaf.coerce_input_value
        required = is_required_input_field(field)
        default = Undefined if required else coerce_default_value(field)
        shortcut = _STRING if coerce is coerce_string else _INT if coerce is coerce_int else None
        steps.append((name, field.out_name or name, non_null, required, default, coerce, shortcut))
    return frozenset(input_type.fields), tuple(steps), input_type.out_type


def list_variable_coercer(var_type: Any) -> Callable[[Any], Any] | None:
    """A coercer equal to graphql-core's `coerce_input_value(value, var_type)` for [I!]!, [I], ... where I
    is a flat input object, returning Undefined whenever graphql-core might do anything else."""
    list_non_null = isinstance(var_type, GraphQLNonNull)
    list_type = var_type.of_type if list_non_null else var_type
    if not isinstance(list_type, GraphQLList):
        return None
    item_non_null = isinstance(list_type.of_type, GraphQLNonNull)
    plan = _input_object_plan(list_type.of_type.of_type if item_non_null else list_type.of_type)
    if plan is None:
        return None
    names, steps, out_type = plan

    def coerce(value: Any) -> Any:
        if type(value) is not list:  # None, a single item, other iterables: graphql-core's own rules
            return Undefined
        coerced = []
        for item in value:
            if item is None:
                if item_non_null:
                    return Undefined
                coerced.append(None)
                continue
            if type(item) is not dict or not names.issuperset(item):
                return Undefined  # unknown fields (or Undefined values): graphql-core decides and reports
            out = {}
            for name, out_name, non_null, required, default, coerce_leaf, shortcut in steps:
                field_value = item.get(name, Undefined)
                if field_value is Undefined:
                    if required:
                        return Undefined
                    if default is not Undefined:
                        out[out_name] = default
                elif field_value is None:
                    if non_null:
                        return Undefined
                    out[out_name] = None
                elif shortcut is _STRING and type(field_value) is str:
                    out[out_name] = field_value  # what coerce_string returns
                elif shortcut is _INT and type(field_value) is int and GRAPHQL_MIN_INT <= field_value <= GRAPHQL_MAX_INT:
                    out[out_name] = field_value  # what coerce_int returns (int(value))
                else:
                    try:
                        field_value = coerce_leaf(field_value)
                    except Exception:  # noqa: BLE001 - invalid: graphql-core reports it
                        return Undefined
                    if field_value is Undefined:
                        return Undefined
                    out[out_name] = field_value
            coerced.append(out_type(out))
        return coerced

    return coerce


_document_plans: dict[int, tuple[Any, Any, tuple]] = {}  # id(document) -> (document, schema, coercers)
_PLANS_SIZE = 512


def _variable_coercers(schema: Any, document: Any) -> tuple:
    """(variable name, coercer) for the variables of the document's single operation that can use one."""
    entry = _document_plans.get(id(document))
    if entry is not None and entry[0] is document and entry[1] is schema:
        return entry[2]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    coercers = []
    if len(operations) == 1:
        for var_def in operations[0].variable_definitions or ():
            var_type = type_from_ast(schema, var_def.type)
            coerce = list_variable_coercer(var_type) if var_type is not None else None
            if coerce is not None:
                coercers.append((var_def.variable.name.value, coerce))
    if len(_document_plans) >= _PLANS_SIZE:
        _document_plans.pop(next(iter(_document_plans)), None)
    _document_plans[id(document)] = (document, schema, tuple(coercers))
    return tuple(coercers)


def coerce_list_variables(build: Callable[[Any], Any], schema: Any, document: Any, raw_variable_values: Any) -> Any:
    """`Executor.build` (as `build(raw_variable_values)`) with the list-of-inputs variables coerced by
    `list_variable_coercer`.

    The executor is built with an empty list in their place (always a valid value of a list type, and
    instant to coerce), then given the coerced values and the original sources. If any of them does not
    coerce, or the build fails for another reason, graphql-core builds from the original values and
    reports its own errors.
    """
    coercers = _variable_coercers(schema, document) if raw_variable_values else ()
    fast = {}
    for name, coerce in coercers:
        value = raw_variable_values.get(name, Undefined)
        if value is Undefined or value is None:
            continue
        coerced = coerce(value)
        if coerced is Undefined:
            return build(raw_variable_values)
        fast[name] = (value, coerced)
    if not fast:
        return build(raw_variable_values)
    executor = build({**raw_variable_values, **{name: [] for name in fast}})
    if isinstance(executor, list):  # errors elsewhere: let graphql-core report them from the real values
        return build(raw_variable_values)
    sources, values = executor.variable_values
    for name, (value, coerced) in fast.items():
        sources[name] = VariableValueSource(sources[name].signature, value)
        values[name] = coerced
    return executor


# --- arguments: coerced dicts straight to the resolver ------------------------------------------------

_coerced_input_resolvers: dict[Callable[..., Any], Callable[..., Any]] = {}


def takes_coerced_inputs(fast: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a resolver: the GraphQL layer may call `fast` instead, with the same keyword arguments,
    each input object replaced by the dict `vars()` of it would be (Python field names)."""

    def mark(resolver: Callable[..., Any]) -> Callable[..., Any]:
        _coerced_input_resolvers[resolver] = fast
        return resolver

    return mark


def _is_plain_leaf(type_: Any, scalar_registry: Any) -> bool:
    """A scalar (not GlobalID, which strawberry decodes) or an enum, optional or not: strawberry's
    convert_argument returns graphql-core's coerced value for it unchanged."""
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    if type_ is GlobalID or isinstance(type_, (StrawberryMaybe, StrawberryOptional, StrawberryList)):
        return False
    return is_scalar(type_, scalar_registry) or isinstance(type_, StrawberryEnumDefinition) or has_enum_definition(type_)


def input_dict_converter(input_cls: type, config: Any, scalar_registry: Any) -> Callable[[dict], dict] | None:
    """graphql-core's coerced dict of a flat strawberry input -> `vars(strawberry's input object)`."""
    if not has_object_definition(input_cls):
        return None
    definition = input_cls.__strawberry_definition__
    if not definition.is_input or definition.from_input is not None or hasattr(input_cls, "__post_init__"):
        return None
    fields = []
    for field in definition.fields:
        if not _is_plain_leaf(field.resolve_type(type_definition=definition), scalar_registry):
            return None
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            return None  # a fresh default per object: leave it to strawberry
        else:
            default = None  # strawberry's implicit default for input fields
        fields.append((config.name_converter.from_field(field), field.python_name, default))
    fields = tuple(fields)

    def convert(coerced: dict) -> dict:
        return {python_name: coerced.get(graphql_name, default) for graphql_name, python_name, default in fields}

    return convert


def _argument_converter(type_: Any, config: Any, scalar_registry: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, StrawberryMaybe):
        return None
    if isinstance(type_, StrawberryOptional):
        inner = _argument_converter(type_.of_type, config, scalar_registry)
        return None if inner is None else (lambda value: None if value is None else inner(value))
    if isinstance(type_, StrawberryList):
        item = _argument_converter(type_.of_type, config, scalar_registry)
        return None if item is None else (lambda value: [None if v is None else item(v) for v in value])
    if _is_plain_leaf(type_, scalar_registry):
        return lambda value: value
    return input_dict_converter(type_, config, scalar_registry) if isinstance(type_, type) else None


def _coerced_input_resolver(strawberry_schema: Any, field: Any, fast: Callable[..., Any]) -> Callable[..., Any] | None:
    if field.is_async or strawberry_schema.schema_converter._get_field_exception_handlers(field):
        return None
    if any(type(ext).map_arguments is not FieldExtension.map_arguments for ext in field.extensions):
        return None
    config, registry = strawberry_schema.config, strawberry_schema.schema_converter.scalar_registry
    arguments = []
    for argument in field.arguments:
        convert = _argument_converter(argument.type, config, registry)
        if convert is None:
            return None
        arguments.append((config.name_converter.from_argument(argument), argument.python_name, convert))
    chain = reduce(lambda chained, next_: partial(next_, chained), build_field_extension_resolvers(field),
                   lambda _source, _info, **kwargs: fast(**kwargs))
    info_class = config.info_class

    def resolve(source: Any, info: Any, **raw: Any) -> Any:
        # As strawberry's resolver: arguments first, then the extension chain (permissions), then the call.
        kwargs = {python_name: convert(raw[name]) for name, python_name, convert in arguments if name in raw}
        return chain(source, info_class(_raw_info=info, _field=field), **kwargs)

    resolve.fast_path = "coerced inputs"  # type: ignore[attr-defined]
    return resolve


def use_coerced_input_resolvers(strawberry_schema: Any) -> int:
    """Install the resolvers marked with `takes_coerced_inputs`; returns how many."""
    installed = 0
    for gql_type in strawberry_schema._schema.type_map.values():
        if not isinstance(gql_type, GraphQLObjectType) or gql_type.name.startswith("__"):
            continue
        for gql_field in gql_type.fields.values():
            field = (gql_field.extensions or {}).get(_BACKREF)
            wrapped = getattr(getattr(field, "base_resolver", None), "wrapped_func", None)
            fast = _coerced_input_resolvers.get(wrapped) if wrapped is not None else None
            if fast is None:
                continue
            resolve = _coerced_input_resolver(strawberry_schema, field, fast)
            if resolve is not None:
                gql_field.resolve = resolve
                installed += 1
    return installed
