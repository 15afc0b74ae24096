"""Codes the recommender's services raise (in mutation payloads and on failed training jobs)."""

from enum import Enum


class RecommenderErrorCode(str, Enum):
    # Training (Job.error_code of a failed recommender.train run)
    NO_DATA = "NO_DATA"  # no customer events, or too few to split into training/validation/test
    # Activation / rollback (mutation errors)
    NOT_FOUND = "NOT_FOUND"
    ALREADY_ACTIVE = "ALREADY_ACTIVE"
    GATE_NOT_PASSED = "GATE_NOT_PASSED"  # did not beat the baselines; resend with override=true
    NO_PREVIOUS_VERSION = "NO_PREVIOUS_VERSION"
    ARTIFACT_MISSING = "ARTIFACT_MISSING"


class RecommenderError(Exception):
    def __init__(self, code: RecommenderErrorCode, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
