"""Job kinds that exist only in the tests, and a stand-in for "what is in service".

``tests.publish`` behaves like an ML kind should: it works through its steps reporting progress and
puts its result in service (``SERVING``) only at the very end. Hooks let a test fail it, cancel it or
have it raise a transient error at a given step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from jobs import registry
from jobs.registry import JobContext, JobFailed, JobParamsError, JobResult, JobTransientError

SERVING: dict[str, int] = {}
HOOKS: dict[str, object] = {}


@dataclass
class PublishParams:
    version: int = 1
    steps: int = 3
    fail_at_step: int = 0

    def __post_init__(self):
        if self.version < 1:
            raise JobParamsError("version", "version must be at least 1")
        if self.fail_at_step < 0:
            raise JobParamsError("fail_at_step", "fail_at_step must be 0 (never) or a step number")


def publish_run(ctx: JobContext) -> JobResult:
    steps = ctx.params["steps"]
    for step in range(1, steps + 1):
        hook = HOOKS.get("before_step")
        if hook:
            hook(ctx, step)  # type: ignore[operator]
        if step == ctx.params["fail_at_step"]:
            raise JobFailed("NOT_ENOUGH_DATA", f"step {step} found too little data")
        ctx.progress(step / (steps + 1), f"step {step}/{steps}")
    SERVING["version"] = ctx.params["version"]  # the switch, at the very end
    return JobResult(result_type="tests.version", result_id=ctx.params["version"], message="published")


@pytest.fixture
def publish_kind():
    """Registers tests.publish (permission jobs.add_job) for one test; SERVING starts at version 1."""
    registry.job_kind("tests.publish", permission="jobs.add_job", params=PublishParams)(publish_run)
    SERVING.clear()
    SERVING["version"] = 1
    HOOKS.clear()
    yield SERVING
    registry._KINDS.pop("tests.publish", None)
    HOOKS.clear()


def transient_then(times: int):
    """A before_step hook that raises a transient error on the first step of its first ``times`` runs."""
    calls = {"n": 0}

    def hook(ctx, step):
        if step == 1:
            calls["n"] += 1
            if calls["n"] <= times:
                raise JobTransientError("the feature store was briefly unavailable")

    return hook
