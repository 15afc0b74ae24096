"""The kinds of job the service runs, registered by the apps that own them.

An app registers a kind from its own ``jobs.py`` (imported in its AppConfig.ready) with:

    @job_kind("recommender.train", permission="recommender.add_modelversion", params=TrainParams)
    def recommender_train_job(ctx: JobContext) -> JobResult: ...

``params`` is a callable that takes the submitted dict and returns the cleaned dict: normally a
``jobs.params.JobParams`` dataclass, the single declaration of each parameter's default, range and
help (turned back into a dict by the registry; the GraphQL input is generated from it too); it
raises ``JobParamsError`` for bad input. The runner calls ``ctx.progress(fraction, message)`` as it
goes, which records progress and raises ``JobCancelled`` when a cancel was requested; it returns a
``JobResult`` naming what it produced. Whatever the runner puts in service must be switched only at
its very end, in one transaction, so a failure or a cancel leaves the previous result serving.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class JobParamsError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class JobCancelled(Exception):
    pass


class JobTransientError(Exception):
    """A failure that may pass (a lock timeout, a service briefly away): the job is retried with backoff."""


class JobFailed(Exception):
    """A failure the runner can name: its code reaches the client, never a traceback."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class JobResult:
    result_type: str = ""
    result_id: int | None = None
    message: str = "done"
    result_code: str = ""  # how it came out, for clients to branch on (Job.result_code)


@dataclass
class JobContext:
    job_id: int
    params: dict[str, Any]
    report: Callable[[float, str], None]

    def progress(self, fraction: float, message: str = "") -> None:
        self.report(min(max(float(fraction), 0.0), 1.0), message)


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable[[JobContext], JobResult]
    permission: str
    params: Callable[..., Any] | None = None

    def clean_params(self, raw: dict[str, Any] | None) -> dict[str, Any]:
        raw = dict(raw or {})
        if self.params is None:
            return raw
        if dataclasses.is_dataclass(self.params):
            known = {f.name for f in dataclasses.fields(self.params)}
            unknown = sorted(set(raw) - known)
            if unknown:
                raise JobParamsError(unknown[0], f"unknown parameter '{unknown[0]}'")
            try:
                return dataclasses.asdict(self.params(**raw))
            except TypeError as exc:
                raise JobParamsError("params", str(exc)) from exc
        return dict(self.params(raw))


_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, *, permission: str, params: Callable[..., Any] | None = None):
    def register(func: Callable[[JobContext], JobResult]) -> Callable[[JobContext], JobResult]:
        _KINDS[name] = JobKind(name=name, run=func, permission=permission, params=params)
        return func

    return register


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def all_kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


_REAP_CALLBACKS: list[Callable[[], None]] = []


def on_reap(callback: Callable[[], None]) -> Callable[[], None]:
    """Register ``callback`` to run at the end of every reap (after jobs whose worker died were re-queued
    or failed): an app cleans up what such jobs left half-done, e.g. segments fails a run left BUILDING."""
    if callback not in _REAP_CALLBACKS:
        _REAP_CALLBACKS.append(callback)
    return callback


def reap_callbacks() -> tuple[Callable[[], None], ...]:
    return tuple(_REAP_CALLBACKS)
