"""Codes the campaign services raise: in mutation payloads (`errors { field code message }`) and on failed jobs."""

from enum import Enum


class CampaignErrorCode(str, Enum):
    NOT_FOUND = "NOT_FOUND"  # no such campaign (or segment, or source campaign)
    INVALID = "INVALID"  # a field out of its range or of the wrong shape (picks, name, seed, rules)
    EMPTY_AUDIENCE = "EMPTY_AUDIENCE"  # the segments and rules select nobody
    HOLDOUT_OUT_OF_RANGE = "HOLDOUT_OUT_OF_RANGE"  # holdoutShare outside 0-0.5
    ENDS_BEFORE_START = "ENDS_BEFORE_START"  # endsAt not after startsAt
    SEGMENT_FROM_OTHER_RUN = "SEGMENT_FROM_OTHER_RUN"  # the segments must belong to one segmentation run
    UNKNOWN_SEGMENT = "UNKNOWN_SEGMENT"  # a segment that does not exist or whose run did not succeed
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"  # categoryId or a rule's category does not exist
    MEMBERS_PRUNED = "MEMBERS_PRUNED"  # the run's memberships were pruned: its audience is gone
    NOT_DRAFT = "NOT_DRAFT"  # only a DRAFT campaign can be changed or launched
    NOT_LAUNCHED = "NOT_LAUNCHED"  # only a LAUNCHED campaign can be ended
    NOT_ENDED = "NOT_ENDED"  # the uplift model needs an ended campaign
    NO_UPLIFT_MODEL = "NO_UPLIFT_MODEL"  # the source campaign has no fitted uplift model
    TOO_FEW_MEMBERS = "TOO_FEW_MEMBERS"  # too few members in a group to fit the uplift model
    PERMISSION_DENIED = "PERMISSION_DENIED"
    BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE"  # the job queue is down: the launch or uplift job did not start


class CampaignError(Exception):
    def __init__(self, code: CampaignErrorCode, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
