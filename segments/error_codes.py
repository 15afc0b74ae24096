"""Codes the segmentation services raise: on a failed job's `error.code` and in payload errors."""

from enum import Enum


class SegmentsErrorCode(str, Enum):
    NO_CUSTOMERS = "NO_CUSTOMERS"  # nobody bought anything before the as-of date
    TOO_FEW_CUSTOMERS = "TOO_FEW_CUSTOMERS"  # fewer customers than segments asked for
    DBSCAN_TOO_LARGE = "DBSCAN_TOO_LARGE"  # DBSCAN's neighbourhood graph would exceed the memory guard
    NO_CLUSTERS = "NO_CLUSTERS"  # DBSCAN found only noise: eps too small or min_samples too large
    NOT_FOUND = "NOT_FOUND"  # no such run or segment
