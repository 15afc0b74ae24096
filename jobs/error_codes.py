"""Codes the jobs layer puts in mutation payloads and on failed job rows."""

from enum import Enum


class JobErrorCode(str, Enum):
    # In a mutation's `errors` (the job was not submitted, or not cancelled).
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    INVALID = "INVALID"
    BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_FINISHED = "ALREADY_FINISHED"


class JobFailureCode(str, Enum):
    """Codes the machinery itself writes to `Job.error_code`; a kind adds its own via JobFailed(code)."""

    BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"
    WORKER_LOST = "WORKER_LOST"
    TIME_LIMIT = "TIME_LIMIT"
    NOT_STARTED = "NOT_STARTED"
    UNKNOWN_KIND = "UNKNOWN_KIND"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    TRANSIENT_ERROR = "TRANSIENT_ERROR"
