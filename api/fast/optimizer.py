"""strawberry-django's optimizer without its per-field middleware, with its `only`/`select_related` hints cached.

See docs/performance.md (items 4 and 8) for the measurements.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.db.models.manager import BaseManager
from graphql import FragmentSpreadNode, OperationType, get_named_type
from strawberry.extensions import SchemaExtension
from strawberry.types.info import Info
from strawberry_django.optimizer import (
    DjangoOptimizerExtension,
    OptimizerConfig,
    OptimizerStore,
    _get_gql_definition,
    _get_model_hints,
    is_optimized,
)
from strawberry_django.queryset import get_queryset_config
from strawberry_django.utils.inspect import get_possible_concrete_types, is_inheritance_qs

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
