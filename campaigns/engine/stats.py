"""A campaign's measured effect from per-member arrays: lifts with 95 % intervals and p-values.

* conversion: ``statsmodels.stats.proportion.proportions_ztest`` (two-proportion z-test, pooled) for the
  p-value and ``statsmodels.stats.proportion.confint_proportions_2indep`` (Wald, difference) for the interval;
* revenue per member: ``scipy.stats.ttest_ind(equal_var=False)`` (Welch) and its ``confidence_interval``;
* CUPED: the same Welch test on ``y - theta (x - mean x)`` with ``x`` the member's pre-period revenue and
  ``theta = cov(x, y) / var(x)`` over all members; the variance reduction is ``1 - var(adjusted) / var(y)``
  (about the squared correlation of x and y);
* sample-ratio mismatch: ``scipy.stats.chisquare`` of the group sizes against the planned split.

Intervals (``low``, ``high``) are for the absolute lift, treatment minus control; ``relative`` is the
absolute lift over the control's level.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

SRM_ALPHA = 0.001
CONFIDENCE = 0.95


@dataclass
class Lift:
    absolute: float
    relative: float | None
    low: float
    high: float
    p_value: float
    variance_reduction: float | None = None


@dataclass
class GroupArrays:
    """One entry per member (same order in every array)."""

    control: np.ndarray  # bool
    orders: np.ndarray  # orders in the attribution window
    revenue: np.ndarray  # revenue in the window
    pre_revenue: np.ndarray  # revenue in the pre-period (the CUPED covariate)
    hit: np.ndarray  # bought one of their own frozen picks in the window

    @property
    def converted(self) -> np.ndarray:
        return self.orders > 0


@dataclass
class Results:
    groups: list[dict]
    conversion_lift: Lift | None
    revenue_lift: Lift | None
    cuped_revenue_lift: Lift | None
    srm_p_value: float | None
    srm_flagged: bool
    picks_hit_rate: dict[str, float | None]
    incremental_revenue: float | None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def _relative(absolute: float, base: float) -> float | None:
    return absolute / base if base else None


def conversion_lift(converted_t: int, n_t: int, converted_c: int, n_c: int) -> Lift | None:
    """Treatment minus control conversion rate, its Wald interval and the pooled z-test's p-value."""
    if n_t == 0 or n_c == 0:
        return None
    rate_t, rate_c = converted_t / n_t, converted_c / n_c
    if converted_t + converted_c in (0, n_t + n_c):  # no variation at all: nothing to test
        return Lift(rate_t - rate_c, _relative(rate_t - rate_c, rate_c), 0.0, 0.0, 1.0)
    _, p_value = proportions_ztest([converted_t, converted_c], [n_t, n_c])
    low, high = confint_proportions_2indep(converted_t, n_t, converted_c, n_c, method="wald", compare="diff",
                                           alpha=1 - CONFIDENCE)
    diff = rate_t - rate_c
    return Lift(diff, _relative(diff, rate_c), _finite(low), _finite(high), _finite(p_value))


def _welch(y_t: np.ndarray, y_c: np.ndarray, base: float) -> Lift | None:
    if len(y_t) < 2 or len(y_c) < 2:
        return None
    diff = float(y_t.mean() - y_c.mean())
    if float(y_t.var()) == 0.0 and float(y_c.var()) == 0.0:
        return Lift(diff, _relative(diff, base), diff, diff, 1.0 if diff == 0 else 0.0)
    test = scipy_stats.ttest_ind(y_t, y_c, equal_var=False)
    interval = test.confidence_interval(CONFIDENCE)
    return Lift(diff, _relative(diff, base), _finite(interval.low), _finite(interval.high), _finite(test.pvalue))


def revenue_lift(revenue: np.ndarray, control: np.ndarray) -> Lift | None:
    """Revenue per member, treatment minus control, by Welch's t-test."""
    y_c = revenue[control]
    return _welch(revenue[~control], y_c, float(y_c.mean()) if len(y_c) else 0.0)


def cuped_revenue_lift(revenue: np.ndarray, pre_revenue: np.ndarray, control: np.ndarray) -> Lift | None:
    """Revenue per member adjusted by the pre-period revenue (CUPED), by Welch's t-test on the adjusted values."""
    x = pre_revenue.astype(np.float64)
    y = revenue.astype(np.float64)
    var_x = float(x.var())
    theta = float(np.mean((x - x.mean()) * (y - y.mean())) / var_x) if var_x > 0 else 0.0
    adjusted = y - theta * (x - x.mean())
    y_c = y[control]
    lift = _welch(adjusted[~control], adjusted[control], float(y_c.mean()) if len(y_c) else 0.0)
    if lift is not None:
        var_y = float(y.var())
        lift.variance_reduction = 1.0 - float(adjusted.var()) / var_y if var_y > 0 else 0.0
    return lift


def srm_p_value(n_t: int, n_c: int, holdout_share: float) -> float | None:
    """Chi-square p-value of the group sizes against the planned split (None without a holdout)."""
    total = n_t + n_c
    if total == 0 or not 0 < holdout_share < 1:
        return None
    expected = [total * (1 - holdout_share), total * holdout_share]
    return _finite(scipy_stats.chisquare([n_t, n_c], f_exp=expected).pvalue)


def _group_row(name: str, arrays: GroupArrays, mask: np.ndarray) -> dict:
    members = int(mask.sum())
    converters = int(arrays.converted[mask].sum())
    revenue = float(arrays.revenue[mask].sum())
    return {"group": name, "members": members, "converters": converters,
            "conversion_rate": converters / members if members else 0.0, "orders": int(arrays.orders[mask].sum()),
            "revenue": round(revenue, 2), "revenue_per_member": revenue / members if members else 0.0}


def results_from_arrays(arrays: GroupArrays, *, holdout_share: float) -> Results:
    """Everything ``campaignResults`` shows but the daily series, from one entry per member."""
    control = arrays.control.astype(bool)
    treatment = ~control
    groups = [_group_row("TREATMENT", arrays, treatment), _group_row("CONTROL", arrays, control)]
    n_t, n_c = groups[0]["members"], groups[1]["members"]
    revenue = arrays.revenue.astype(np.float64)
    rpm_lift = revenue_lift(revenue, control)
    srm = srm_p_value(n_t, n_c, holdout_share)
    hit = arrays.hit.astype(bool)
    return Results(
        groups=groups,
        conversion_lift=conversion_lift(groups[0]["converters"], n_t, groups[1]["converters"], n_c),
        revenue_lift=rpm_lift,
        cuped_revenue_lift=cuped_revenue_lift(revenue, arrays.pre_revenue, control),
        srm_p_value=srm,
        srm_flagged=srm is not None and srm < SRM_ALPHA,
        picks_hit_rate={"treatment": float(hit[treatment].mean()) if n_t else None,
                        "control": float(hit[control].mean()) if n_c else None},
        incremental_revenue=rpm_lift.absolute * n_t if rpm_lift is not None else None,
    )


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array. A sort and a neighbour comparison: ``np.unique``
    (numpy 2's hash table for integers) takes about 50 times as long on a million int64 values."""
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def member_outcomes(*, n_members: int, first_id: int, control: np.ndarray, lines: dict[str, np.ndarray],
                    picks: dict[str, np.ndarray]) -> GroupArrays:
    """Per-member sums of purchase lines (members ``first_id .. first_id + n - 1``): window revenue, distinct
    orders in the window (by the lines' order hash), pre-period revenue, and whether a window line was one
    of the member's own picks."""
    member = lines["member_id"] - first_id
    window = lines["in_window"].astype(bool)
    amount = lines["amount"]
    revenue = np.bincount(member[window], weights=amount[window], minlength=n_members)
    pre_revenue = np.bincount(member[~window], weights=amount[~window], minlength=n_members)
    orders_key = distinct(member[window] * (1 << 32) + (lines["order"][window] & 0xFFFFFFFF))
    orders = np.bincount(orders_key >> 32, minlength=n_members)
    width = int(max(lines["product_id"].max(initial=0), picks["product_id"].max(initial=0))) + 1
    bought = member[window] * width + lines["product_id"][window]
    picked = distinct((picks["member_id"] - first_id) * width + picks["product_id"])
    # a window line is a hit when its (member, product) key is one of the picks' keys (both sorted: one search)
    at = np.searchsorted(picked, bought)
    found = picked[np.minimum(at, len(picked) - 1)] == bought if len(picked) else np.zeros(len(bought), dtype=bool)
    hit = np.zeros(n_members, dtype=bool)
    hit[member[window][found]] = True
    return GroupArrays(control=control, orders=orders.astype(np.int64), revenue=revenue, pre_revenue=pre_revenue,
                       hit=hit)


def daily_from_lines(*, first_id: int, control: np.ndarray, lines: dict[str, np.ndarray]) -> list[dict]:
    """Per day of the window's lines (``day``: days since 1970-01-01) and group: revenue and buying members."""
    window = lines["in_window"].astype(bool)
    member = lines["member_id"][window] - first_id
    day, amount = lines["day"][window], lines["amount"][window]
    if len(day) == 0:
        return []
    first_day = int(day.min())
    offset = day - first_day
    n_days = int(offset.max()) + 1
    in_control = control[member]
    revenue = np.bincount(offset * 2 + in_control, weights=amount, minlength=2 * n_days).reshape(n_days, 2)
    buyers = distinct(offset * (1 << 40) + member)
    buyer_offset, buyer_member = buyers >> 40, buyers & ((1 << 40) - 1)
    converters = np.bincount(buyer_offset * 2 + control[buyer_member], minlength=2 * n_days).reshape(n_days, 2)
    epoch = date(1970, 1, 1)
    return [{"date": (epoch + timedelta(days=first_day + i)).isoformat(),
             "treatment_revenue": round(float(revenue[i, 0]), 2), "control_revenue": round(float(revenue[i, 1]), 2),
             "treatment_converters": int(converters[i, 0]), "control_converters": int(converters[i, 1])}
            for i in range(n_days) if converters[i].sum()]
