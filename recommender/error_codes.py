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
    # Serving (GraphQL errors' extensions.code on `recommendations`)
    SESSION_MINUTES_OUT_OF_RANGE = "SESSION_MINUTES_OUT_OF_RANGE"  # sessionMinutes outside 1..MAX_SESSION_MINUTES


class TrainResultCode(str, Enum):
    """How a recommender.train job that succeeded came out (Job.result_code): what clients branch on."""

    ACTIVATED = "ACTIVATED"  # the gate passed (better than every baseline judged); now served
    ACTIVATED_NOT_WORSE = "ACTIVATED_NOT_WORSE"  # not significantly worse than any baseline; now served
    READY = "READY"  # passed or not worse, but activate was false: activate it when you choose
    REJECTED = "REJECTED"  # significantly worse than a baseline on a judged question; not served
    NOT_JUDGEABLE = "NOT_JUDGEABLE"  # too few customers in the test window to judge it; not served


class RecommenderError(Exception):
    def __init__(self, code: RecommenderErrorCode, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
