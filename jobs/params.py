"""Job parameters declared once: each field carries its default, its allowed values and its help text.

A job kind's parameters are a dataclass whose fields are made with :func:`param`. That one
declaration is the single source for:

- the defaults the job runs with (the services and engines take the dataclass, never their own);
- the validation of submitted values (:class:`JobParams.__post_init__`, raising ``JobParamsError``
  with the field's name, which the GraphQL layer turns into a typed ``INVALID`` error);
- the GraphQL input type (``jobs.schema.job_params_input`` reads the same fields, defaults and help).

Pure Python: engines may import a params module without pulling in Django.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from functools import cache
from types import NoneType, UnionType
from typing import Any

from .registry import JobParamsError

METADATA_KEY = "job_param"


@dataclass(frozen=True)
class Param:
    """What a field allows. Ranges are inclusive unless ``low_exclusive``."""

    help: str = ""
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False
    choices: tuple[str, ...] | None = None
    # Normalises a value or raises ValueError; its message reaches the client as the field's error.
    parse: Callable[[Any], Any] | None = None
    message: str | None = None  # replaces the generated out-of-range message


def param(default: Any = MISSING, *, help: str = "", low: float | None = None, high: float | None = None,
          low_exclusive: bool = False, choices: typing.Iterable[str] | None = None,
          parse: Callable[[Any], Any] | None = None, message: str | None = None,
          default_factory: Callable[[], Any] | Any = MISSING) -> Any:
    """A dataclass field of a job's parameters (see the module docstring)."""
    spec = Param(help=help, low=low, high=high, low_exclusive=low_exclusive,
                 choices=tuple(choices) if choices is not None else None, parse=parse, message=message)
    return dataclasses.field(default=default, default_factory=default_factory, metadata={METADATA_KEY: spec})


@dataclass(frozen=True)
class FieldSpec:
    """One parameter as the validation and the GraphQL input see it."""

    name: str
    kind: type  # bool, int, float, str or list
    optional: bool  # None is allowed
    param: Param
    default: Any  # MISSING when computed by a factory

    @property
    def has_plain_default(self) -> bool:
        return self.default is not MISSING and self.default is not None


def _kind_of(annotation: Any) -> tuple[type, bool]:
    """(bool | int | float | str | list, whether None is allowed) of a field's annotation."""
    optional = False
    if isinstance(annotation, UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [member for member in typing.get_args(annotation) if member is not NoneType]
        optional = len(members) < len(typing.get_args(annotation))
        if len(members) != 1:
            raise TypeError(f"a job parameter has one type besides None, not {annotation!r}")
        annotation = members[0]
    origin = typing.get_origin(annotation) or annotation
    if origin not in (bool, int, float, str, list):
        raise TypeError(f"unsupported job parameter type {annotation!r}")
    return origin, optional


@cache
def field_specs(params_class: type) -> tuple[FieldSpec, ...]:
    hints = typing.get_type_hints(params_class)
    specs = []
    for field in dataclasses.fields(params_class):
        kind, optional = _kind_of(hints[field.name])
        specs.append(FieldSpec(name=field.name, kind=kind, optional=optional,
                               param=field.metadata.get(METADATA_KEY, Param()), default=field.default))
    return tuple(specs)


def _range_text(spec: FieldSpec) -> str:
    low, high = spec.param.low, spec.param.high
    if spec.param.low_exclusive:
        return f"in ({low}, {high}]"
    return f"from {low} to {high}"


def _check_number(spec: FieldSpec, value: Any) -> None:
    integer = spec.kind is int
    kinds = (int,) if integer else (int, float)
    low, high = spec.param.low, spec.param.high
    in_range = ((low is None or (value > low if spec.param.low_exclusive else value >= low))
                and (high is None or value <= high)) if isinstance(value, kinds) else False
    if isinstance(value, bool) or not in_range:
        kind = "an integer" if integer else "a number"
        raise JobParamsError(spec.name, spec.param.message or f"{spec.name} must be {kind} {_range_text(spec)}")


def check_value(spec: FieldSpec, value: Any) -> Any:
    """The value, normalised, or JobParamsError naming the field."""
    if value is None:
        if spec.optional:
            return None
        raise JobParamsError(spec.name, f"{spec.name} must not be null")
    if spec.param.parse is not None:
        try:
            value = spec.param.parse(value)
        except (TypeError, ValueError) as exc:
            raise JobParamsError(spec.name, str(exc)) from None
    if spec.kind is bool:
        if not isinstance(value, bool):
            raise JobParamsError(spec.name, f"{spec.name} must be true or false")
    elif spec.kind in (int, float):
        _check_number(spec, value)
    elif spec.kind is str:
        if not isinstance(value, str):
            raise JobParamsError(spec.name, f"{spec.name} must be a string")
        if spec.param.choices is not None and value not in spec.param.choices:
            raise JobParamsError(spec.name, f"{spec.name} must be one of {', '.join(spec.param.choices)}")
    elif spec.kind is list:
        if not isinstance(value, (list, tuple)):
            raise JobParamsError(spec.name, f"{spec.name} must be a list")
        value = list(value)
    return value


class JobParams:
    """Base of a job kind's parameter dataclass: validates every field, then the cross-field ``check``."""

    def __post_init__(self) -> None:
        for spec in field_specs(type(self)):
            setattr(self, spec.name, check_value(spec, getattr(self, spec.name)))
        self.check()

    def check(self) -> None:
        """Rules that join several fields; raise JobParamsError naming the field to correct."""
