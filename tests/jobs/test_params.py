"""Job parameters declared once (jobs.params): validation, and GraphQL inputs that match the declaration."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest
from strawberry.types.base import get_object_definition

from jobs.params import JobParams, field_specs, param
from jobs.registry import JobParamsError, all_kinds


@dataclass
class Example(JobParams):
    count: int = param(5, low=1, high=10)
    share: float = param(0.5, low=0, high=1)
    radius: float = param(1.0, low=0, high=2, low_exclusive=True)
    mode: str = param("fast", choices=("fast", "slow"))
    enabled: bool = param(True)
    limit: int | None = param(None, low=1, high=3)
    names: list[str] = param(default_factory=lambda: ["a"])

    def check(self) -> None:
        if self.limit is not None and self.limit > self.count:
            raise JobParamsError("limit", "limit must not exceed count")


def test_defaults_come_from_the_declaration():
    assert dataclasses.asdict(Example()) == {"count": 5, "share": 0.5, "radius": 1.0, "mode": "fast",
                                             "enabled": True, "limit": None, "names": ["a"]}


@pytest.mark.parametrize(("given", "field", "message"), [
    ({"count": 0}, "count", "count must be an integer from 1 to 10"),
    ({"count": 2.5}, "count", "count must be an integer from 1 to 10"),
    ({"count": True}, "count", "count must be an integer from 1 to 10"),
    ({"share": 1.5}, "share", "share must be a number from 0 to 1"),
    ({"share": "0.5"}, "share", "share must be a number from 0 to 1"),
    ({"radius": 0}, "radius", "radius must be a number in (0, 2]"),
    ({"mode": "medium"}, "mode", "mode must be one of fast, slow"),
    ({"enabled": 1}, "enabled", "enabled must be true or false"),
    ({"count": None}, "count", "count must not be null"),
    ({"names": "a"}, "names", "names must be a list"),
    ({"limit": 4}, "limit", "limit must be an integer from 1 to 3"),
    ({"count": 2, "limit": 3}, "limit", "limit must not exceed count"),
])
def test_a_bad_value_names_its_field(given, field, message):
    with pytest.raises(JobParamsError) as caught:
        Example(**given)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_bounds_are_inclusive_and_none_is_allowed_where_optional():
    params = Example(count=10, share=0, radius=2, limit=None, names=("b", "c"))
    assert (params.count, params.share, params.radius, params.limit, params.names) == (10, 0, 2, None, ["b", "c"])


def test_a_parse_error_reaches_the_client_as_the_fields_message():
    from segments.params import SegmentationParams

    with pytest.raises(JobParamsError) as caught:
        SegmentationParams(as_of="yesterday")
    assert (caught.value.field, caught.value.message) == ("as_of", "as_of must be a date, YYYY-MM-DD")
    assert SegmentationParams(as_of="2024-07-01").as_of == "2024-07-01"


def _kinds_with_declared_params():
    return [kind for kind in all_kinds().values()
            if kind.params is not None and issubclass(kind.params, JobParams)]


def test_every_job_kind_declares_its_parameters_with_jobs_params():
    assert sorted(kind.name for kind in _kinds_with_declared_params()) == [
        "campaigns.launch", "campaigns.uplift", "forecasting.run", "jobs.selfcheck", "recommender.train", "segments.run"]


@pytest.mark.parametrize("input_name", ["RunSelfCheckInput", "RunSegmentationInput", "RunForecastInput",
                                        "TrainRecommenderInput"])
def test_each_graphql_job_input_has_the_declared_fields_and_defaults(input_name):
    from config.schema import schema

    kinds = {"RunSelfCheckInput": "jobs.selfcheck", "RunSegmentationInput": "segments.run",
             "RunForecastInput": "forecasting.run", "TrainRecommenderInput": "recommender.train"}
    params_class = all_kinds()[kinds[input_name]].params
    graphql_input = schema.get_type_by_name(input_name)
    definition = get_object_definition(graphql_input.origin if hasattr(graphql_input, "origin") else graphql_input,
                                       strict=True)
    graphql_defaults = {}
    for field in definition.fields:
        default = field.default
        graphql_defaults[field.python_name] = getattr(default, "value", default)
    declared = {}
    for spec in field_specs(params_class):
        declared[spec.name] = spec.default if spec.has_plain_default else graphql_defaults[spec.name]
    assert graphql_defaults == declared
