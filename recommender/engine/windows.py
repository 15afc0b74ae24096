"""The evaluation windows, chosen from the data: the latest periods that hold enough customers to judge.

The rule (docs/recommender.md states it for users):

* the target is ``min(TARGET_USERS, TARGET_SHARE x active customers)`` judged customers (at least
  ``MIN_TARGET_USERS``), where the active customers are those with a purchase in the data;
* the test window is the shortest run of the latest whole days, at least ``MIN_WINDOW_DAYS``, in which that
  many customers who had an event before the window bought something (the customers a time split can
  judge); it is never longer than ``MAX_WINDOW_SHARE`` of the data's span, even if that holds fewer;
* the validation window is chosen the same way in the days before the test window, for ``target /
  validation_share`` buyers, since only that share of them is held out to tune on.

A ``test_days`` / ``validation_days`` given to the job overrides the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TARGET_USERS = 500
TARGET_SHARE = 0.10
MIN_TARGET_USERS = 10
MIN_WINDOW_DAYS = 7
MAX_WINDOW_SHARE = 0.25  # of the span of the data: most of it stays for training

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class WindowChoice:
    test_days: int
    validation_days: int
    target_users: int  # judged customers each window was sized for
    active_customers: int
    test_buyers: int  # customers the test window can judge (bought in it, seen before it)
    chosen: str  # "data" (this rule), "params" (test_days/validation_days given), or "data+params"

    def as_info(self) -> dict:
        return {"test_days": self.test_days, "validation_days": self.validation_days,
                "target_users": self.target_users, "active_customers": self.active_customers,
                "test_buyers": self.test_buyers, "chosen": self.chosen,
                "rule": (f"shortest latest window of >= {MIN_WINDOW_DAYS} days holding min({TARGET_USERS}, "
                         f"{TARGET_SHARE:.0%} of active customers) judgeable buyers, at most "
                         f"{MAX_WINDOW_SHARE:.0%} of the span")}


def target_users(active_customers: int) -> int:
    return max(MIN_TARGET_USERS, min(TARGET_USERS, math.ceil(TARGET_SHARE * active_customers)))


def judgeable_buyers_by_days(user_rows: np.ndarray, times_ns: np.ndarray, is_purchase: np.ndarray, end_ns: int,
                             max_days: int) -> np.ndarray:
    """For d = 0..max_days: how many customers bought in the last d days before ``end_ns`` having had an
    event before those days. Events at or after ``end_ns`` are ignored.

    A customer counts for d exactly when their first event is before ``end - d`` and their latest purchase is
    at or after it, so each customer adds one on an interval of d: two sorted searches count them all."""
    before_end = times_ns < end_ns
    users, times = user_rows[before_end], times_ns[before_end]
    purchase = is_purchase[before_end]
    if not purchase.any():
        return np.zeros(max_days + 1, dtype=np.int64)
    size = int(max(users.max(), 0)) + 1
    first = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, users, times)
    last_purchase = np.full(size, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_purchase, users[purchase], times[purchase])
    buyers = last_purchase > np.iinfo(np.int64).min
    # customer counts for d when end - d*day <= last purchase (d >= since_purchase) and first < end - d*day
    since_purchase = np.ceil((end_ns - last_purchase[buyers]) / _DAY_NS)
    since_first = (end_ns - first[buyers]) / _DAY_NS  # d must be < this
    days = np.arange(max_days + 1)
    started = np.searchsorted(np.sort(since_purchase), days, side="right")
    gone = np.searchsorted(np.sort(since_first), days, side="right")
    return (started - gone).astype(np.int64)


def shortest_window(counts: np.ndarray, target: int, *, min_days: int, max_days: int) -> int:
    """The fewest days (from ``min_days`` to ``max_days``) whose count reaches ``target``; ``max_days`` if none."""
    max_days = max(min_days, min(max_days, len(counts) - 1))
    for days in range(min_days, max_days + 1):
        if counts[days] >= target:
            return days
    return max_days


def choose_windows(user_rows: np.ndarray, times_ns: np.ndarray, is_purchase: np.ndarray, *,
                   validation_share: float, test_days: int | None = None,
                   validation_days: int | None = None) -> WindowChoice:
    """The test and validation windows, in days before the latest event (see the module docstring)."""
    end_ns = int(times_ns.max()) + 1  # the latest event is inside the test window
    span_days = (end_ns - int(times_ns.min())) / _DAY_NS
    max_days = max(MIN_WINDOW_DAYS, int(MAX_WINDOW_SHARE * span_days))
    active = int(len(np.unique(user_rows[is_purchase])))
    target = target_users(active)
    given = {"test": test_days is not None, "validation": validation_days is not None}
    test_counts = judgeable_buyers_by_days(user_rows, times_ns, is_purchase, end_ns, max(max_days, test_days or 0))
    if test_days is None:
        test_days = shortest_window(test_counts, target, min_days=MIN_WINDOW_DAYS, max_days=max_days)
    if validation_days is None:
        test_start_ns = end_ns - 1 - test_days * _DAY_NS  # as time_split measures it from the latest event
        validation_counts = judgeable_buyers_by_days(user_rows, times_ns, is_purchase, test_start_ns, max_days)
        validation_days = shortest_window(validation_counts, math.ceil(target / max(validation_share, 1e-9)),
                                          min_days=MIN_WINDOW_DAYS, max_days=max_days)
    chosen = "params" if all(given.values()) else ("data+params" if any(given.values()) else "data")
    return WindowChoice(test_days=int(test_days), validation_days=int(validation_days), target_users=target,
                        active_customers=active, test_buyers=int(test_counts[min(test_days, len(test_counts) - 1)]),
                        chosen=chosen)
