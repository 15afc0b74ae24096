"""Variables that are lists of flat input objects, coerced in one loop: the variables of `ingestEvents`.

graphql-core coerces such a variable with a recursive `coerce_input_value` per field, after a walk of
the whole value for its nesting depth: exact but general, and a large part of a 1,000-event request
(docs/performance.md, "ingestEvents"). `coerce_list_variables` runs graphql-core's own coercion
algorithm for such variables in one loop, with each leaf coerced by the type's own
`coerce_input_value`. Anything it cannot handle exactly (a value of the wrong type, a missing required
field, an unknown field, anything but a JSON list of dicts) makes it give up, and graphql-core's
coercion runs from the start and reports its normal errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    OperationDefinitionNode,
    Undefined,
)
from graphql.execution.values import VariableValueSource
from graphql.type.definition import is_required_input_field
from graphql.type.scalars import GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, coerce_int, coerce_string
from graphql.utilities.coerce_input_value import coerce_default_value
from graphql.utilities.type_from_ast import type_from_ast



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

