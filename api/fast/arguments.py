"""Batch mutations without per-item input objects: the arguments of `ingestEvents` and the like.

strawberry converts graphql-core's coerced dicts into input dataclasses (`convert_argument` per field,
resolving each field's type every time): exact but general, and most of a 1,000-event request
(docs/performance.md, "ingestEvents"). For a resolver marked `@takes_coerced_inputs(fast)` (api/fast/marks.py), the GraphQL
resolver hands graphql-core's coerced dicts, mapped to the dataclass fields' Python names (what `vars()`
of strawberry's input object would be), to `fast` instead of building input objects. The field's
extensions (permission checks) run exactly as strawberry chains them.

The mark (`marks.takes_coerced_inputs`) does nothing by itself: with GRAPHQL_FAST_PATH off, strawberry
calls the resolver as usual.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial, reduce
from typing import Any

from graphql import GraphQLObjectType
from strawberry.extensions.field_extension import FieldExtension, build_field_extension_resolvers
from strawberry.relay import GlobalID
from strawberry.scalars import is_scalar
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition

from .marks import coerced_input_resolvers

_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF

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
            fast = coerced_input_resolvers.get(wrapped) if wrapped is not None else None
            if fast is None:
                continue
            resolve = _coerced_input_resolver(strawberry_schema, field, fast)
            if resolve is not None:
                gql_field.resolve = resolve
                installed += 1
    return installed
