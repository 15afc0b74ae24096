"""GraphQL for jobs: the `Job` type, `job`/`jobs` queries, `cancelJob`, and `submit_job` for the ML apps.

An ML app's mutation is one line over ``submit_job``::

    @strawberry.mutation
    def run_forecast(self, info: Info, input: RunForecastInput) -> JobPayload:
        return submit_job(info, kind="forecasting.run", params=strawberry.asdict(input))
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

import strawberry
import strawberry_django
from strawberry import auto, relay
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from api.connections import CappedListConnection
from api.ids import database_id
from api.permissions import is_staff_with_perm, staff_with_perm

from .error_codes import JobErrorCode
from .models import Job, JobStatus
from .params import field_specs
from .registry import JobParamsError, get_kind
from .selfcheck import SelfCheckParams
from .services import JobAlreadyFinished, JobBrokerUnavailable, JobNotFound, UnknownJobKind, job_cancel, job_submit

JobStatusEnum = strawberry.enum(JobStatus, name="JobStatus")
JobErrorCodeEnum = strawberry.enum(JobErrorCode, name="JobErrorCode")
VIEW_PERM = "jobs.view_job"


@strawberry.type(name="JobFailure", description="Why a job failed: a code to branch on and a message for people.")
class JobFailureType:
    code: str
    message: str


@strawberry.type(name="JobResultRef", description="What a job produced, e.g. type 'recommender.modelversion'.")
class JobResultRefType:
    type: str
    id: strawberry.ID


@strawberry_django.type(Job, name="Job")
class JobType(relay.Node):
    kind: auto
    status: JobStatusEnum
    progress: auto
    message: auto
    params: JSON
    submitted_at: auto
    queued_at: auto
    started_at: auto
    finished_at: auto
    heartbeat_at: auto
    attempts: auto
    cancel_requested: auto

    @strawberry_django.field(only=["result_code"], description="How a finished run came out, as a code to branch "
                                                                "on (each job kind documents its codes); null if none.")
    def result_code(self) -> str | None:
        return self.result_code or None  # type: ignore[attr-defined]

    @strawberry_django.field(only=["id"], description="The database id (`job(id:)` takes it or the global id).")
    def pk(self) -> int:
        return self.pk  # type: ignore[attr-defined]

    @strawberry_django.field(only=["error_code", "error_message"])
    def error(self) -> JobFailureType | None:
        if not self.error_code:  # type: ignore[attr-defined]
            return None
        return JobFailureType(code=self.error_code, message=self.error_message)  # type: ignore[attr-defined]

    @strawberry_django.field(only=["result_type", "result_id"])
    def result(self) -> JobResultRefType | None:
        if not self.result_type or self.result_id is None:  # type: ignore[attr-defined]
            return None
        return JobResultRefType(type=self.result_type, id=strawberry.ID(str(self.result_id)))  # type: ignore[attr-defined]


@strawberry.type(name="JobPayloadError")
class JobPayloadError:
    field: str | None
    code: JobErrorCodeEnum
    message: str


@strawberry.type(name="JobPayload")
class JobPayload:
    job: JobType | None = None
    errors: list[JobPayloadError] = dataclasses.field(default_factory=list)


def _error(code: JobErrorCode, message: str, field: str | None = None, job: Job | None = None) -> JobPayload:
    return JobPayload(job=job, errors=[JobPayloadError(field=field, code=code, message=message)])  # type: ignore[arg-type]


def _user(info: Info):
    return info.context.request.user


def _plain(params: Any) -> dict[str, Any]:
    """A strawberry input (or dict) as a plain dict: enums by value, UNSET fields dropped."""
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = strawberry.asdict(params)
    out = {}
    for key, value in dict(params or {}).items():
        if value is strawberry.UNSET:
            continue
        out[key] = value.value if isinstance(value, Enum) else value
    return out


def submit_job(info: Info, *, kind: str, params: dict[str, Any] | Any) -> JobPayload:
    """Submit a job of ``kind`` for the requesting user: permission, validation and queueing, as a payload.

    Errors: PERMISSION_DENIED (not staff with the kind's permission), INVALID (field = the input field,
    camelCase), UNKNOWN_KIND, BROKER_UNAVAILABLE (the job is returned FAILED: it will not run).
    """
    job_kind = get_kind(kind)
    if job_kind is None:
        return _error(JobErrorCode.UNKNOWN_KIND, f"Unknown job kind '{kind}'.", field="kind")
    user = _user(info)
    if not is_staff_with_perm(user, job_kind.permission):  # the rule the other mutations' extensions apply
        return _error(JobErrorCode.PERMISSION_DENIED, f"You need staff status and the '{job_kind.permission}' "
                                                      "permission to run this job.")
    try:
        job = job_submit(kind=kind, params=_plain(params), user=user)
    except UnknownJobKind as exc:
        return _error(JobErrorCode.UNKNOWN_KIND, exc.message, field="kind")
    except JobParamsError as exc:
        return _error(JobErrorCode.INVALID, exc.message, field=to_camel_case(exc.field))
    except JobBrokerUnavailable as exc:
        return _error(JobErrorCode.BROKER_UNAVAILABLE, "The job queue is unavailable; the job was not started. "
                                                       "Try again later.", job=exc.job)
    return JobPayload(job=job)  # type: ignore[arg-type]


NO_JOB_TO_CANCEL = ("No job with this id that you may cancel (cancelling needs jobs.change_job or the "
                    "permission to run the job's kind).")


def _visible_jobs(info: Info):
    """Staff with jobs.view_job (or a key with jobs:run) see every job; other staff see the jobs they submitted."""
    user = _user(info)
    qs = Job.objects.all()
    if user.has_perm(VIEW_PERM):
        return qs
    return qs.filter(submitted_by=user) if user.pk is not None else qs.none()


@strawberry.type
class Query:
    @strawberry_django.field(
        description="A job by its id (database or global). Staff: every job with jobs.view_job, else their own.",
        extensions=staff_with_perm(),
    )
    def job(self, info: Info, id: strawberry.ID) -> JobType | None:
        pk = database_id(id, type_name="Job")
        return None if pk is None else _visible_jobs(info).filter(pk=pk).first()

    @strawberry_django.connection(
        CappedListConnection[JobType],
        description="Jobs, newest first, optionally of one kind and status.",
        extensions=staff_with_perm(),
    )
    def jobs(self, info: Info, kind: str | None = None, status: JobStatusEnum | None = None) -> list[Job]:
        qs = _visible_jobs(info).order_by("-submitted_at", "-id")
        if kind:
            qs = qs.filter(kind=kind)
        if status:
            qs = qs.filter(status=status.value if isinstance(status, Enum) else status)
        return qs  # type: ignore[return-value]


def job_params_input(params_class: type, *, name: str, description: str,
                     graphql_types: dict[str, Any] | None = None) -> type:
    """The GraphQL input of a job kind, generated from its parameters (jobs.params): same fields, defaults, help.

    ``graphql_types`` overrides a field's GraphQL type, e.g. an enum for a field of choices (the default
    becomes the enum member of that value) or ``date`` for an ISO date string. A field whose default is
    None or computed shows no default: leaving it out lets the job fill it in.
    """
    graphql_types = graphql_types or {}
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for spec in field_specs(params_class):
        plain_type = {list: list[str]}.get(spec.kind, spec.kind)
        field_type = graphql_types.get(spec.name, plain_type)
        if spec.has_plain_default:
            default = field_type(spec.default) if isinstance(field_type, type) and issubclass(field_type, Enum) \
                else spec.default
            annotations[spec.name] = field_type
        else:
            default = strawberry.UNSET
            annotations[spec.name] = field_type | None
        namespace[spec.name] = strawberry.field(default=default, description=spec.param.help or None)
    namespace["__annotations__"] = annotations
    return strawberry.input(type(name, (), namespace), name=name, description=description)


RunSelfCheckInput = job_params_input(SelfCheckParams, name="RunSelfCheckInput",
                                     description="A diagnostic job: N sleeping steps with progress.")


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Submit the diagnostic job jobs.selfcheck (needs jobs.add_job): proves that "
                                     "a worker takes jobs, reports progress and obeys cancel.")
    def run_self_check(self, info: Info, input: RunSelfCheckInput | None = None) -> JobPayload:
        return submit_job(info, kind="jobs.selfcheck", params=input or {})

    @strawberry.mutation(description="Cancel a job: a queued one at once, a running one at its next progress step.")
    def cancel_job(self, info: Info, id: strawberry.ID) -> JobPayload:
        # A job the caller may not cancel is answered exactly as a missing one, so that the answer does
        # not say which ids exist: non-staff are refused before any lookup, staff get NOT_FOUND for both.
        user = _user(info)
        if not is_staff_with_perm(user):
            return _error(JobErrorCode.PERMISSION_DENIED, "You need staff status to cancel jobs.")
        pk = database_id(id, type_name="Job")
        job = None if pk is None else Job.objects.filter(pk=pk).only("id", "kind", "submitted_by_id").first()
        job_kind = None if job is None else get_kind(job.kind)
        allowed = job is not None and (is_staff_with_perm(user, "jobs.change_job") or (
            job_kind is not None and is_staff_with_perm(user, job_kind.permission)))
        if not allowed:
            return _error(JobErrorCode.NOT_FOUND, NO_JOB_TO_CANCEL, field="id")
        try:
            job = job_cancel(job_id=job.pk)
        except JobNotFound:
            return _error(JobErrorCode.NOT_FOUND, NO_JOB_TO_CANCEL, field="id")
        except JobAlreadyFinished as exc:
            return _error(JobErrorCode.ALREADY_FINISHED, f"The job has already finished ({exc.job.status}).",
                          field="id", job=exc.job)
        return JobPayload(job=job)  # type: ignore[arg-type]


__all__ = ["JobPayload", "JobPayloadError", "JobType", "Mutation", "Query", "submit_job"]
