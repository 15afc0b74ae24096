"""A planted campaign for known-answer tests and benchmarks (pure numpy: no Django import).

One segment's customers are split by the campaign's own hash (``engine.control_mask``) and, during the
window, convert with a known probability per group; a converter's purchase amount is
``AMOUNT_BASE + AMOUNT_SLOPE * pre_spend`` (times ``1 + amount_lift`` when treated) plus noise, so amounts
are correlated with pre-period spend and CUPED has something to remove. The planted lifts are the exact
expectations:

* conversion: ``conversion_lift`` (absolute);
* revenue per member: ``(p_c + lift) (1 + amount_lift) E[amount] - p_c E[amount]`` with
  ``E[amount] = AMOUNT_BASE + AMOUNT_SLOPE * E[pre_spend]``.

``heterogeneous=True`` puts the whole conversion lift on frequent customers (frequency above the median)
and none on the others, for the uplift model. ``actual_control_share`` plants a split that differs from
the planned one (sample-ratio mismatch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import GroupArrays, control_mask

PRE_SHAPE, PRE_SCALE = 2.0, 40.0  # pre-period spend ~ Gamma(2, 40): mean 80
AMOUNT_BASE, AMOUNT_SLOPE, AMOUNT_NOISE = 20.0, 0.5, 10.0


@dataclass
class PlantedCampaign:
    seed: int = 0
    customers: int = 4000
    holdout_share: float = 0.5
    base_conversion: float = 0.10
    conversion_lift: float = 0.04
    amount_lift: float = 0.10
    heterogeneous: bool = False
    actual_control_share: float | None = None  # None: the planned split (the hash); else a biased one

    @property
    def expected_amount(self) -> float:
        return AMOUNT_BASE + AMOUNT_SLOPE * PRE_SHAPE * PRE_SCALE

    @property
    def planted_revenue_lift(self) -> float:
        p_c, p_t = self.base_conversion, self.base_conversion + self.conversion_lift
        return p_t * (1 + self.amount_lift) * self.expected_amount - p_c * self.expected_amount


@dataclass
class PlantedMembers:
    external_ids: list[str]
    frequency: np.ndarray  # orders before the campaign (1..20)
    pre_spend: np.ndarray
    control: np.ndarray
    converted: np.ndarray
    amount: np.ndarray  # revenue in the window (0 for non-converters)
    true_uplift: np.ndarray  # each member's planted conversion uplift

    def arrays(self) -> GroupArrays:
        return GroupArrays(control=self.control, orders=self.converted.astype(np.int64), revenue=self.amount,
                           pre_revenue=self.pre_spend, hit=np.zeros(len(self.control), dtype=bool))


def planted_members(spec: PlantedCampaign, prefix: str = "PC") -> PlantedMembers:
    rng = np.random.default_rng(spec.seed)
    n = spec.customers
    external_ids = [f"{prefix}{spec.seed}-{i:06d}" for i in range(n)]
    if spec.actual_control_share is None:
        control = control_mask(spec.seed, external_ids, spec.holdout_share)
    else:
        control = rng.random(n) < spec.actual_control_share
    frequency = rng.integers(1, 21, size=n)
    pre_spend = rng.gamma(PRE_SHAPE, PRE_SCALE, size=n)
    if spec.heterogeneous:
        frequent = frequency > np.median(frequency)
        true_uplift = np.where(frequent, 2 * spec.conversion_lift, 0.0)
    else:
        true_uplift = np.full(n, spec.conversion_lift)
    probability = spec.base_conversion + np.where(control, 0.0, true_uplift)
    converted = rng.random(n) < probability
    amount = AMOUNT_BASE + AMOUNT_SLOPE * pre_spend + rng.normal(0.0, AMOUNT_NOISE, size=n)
    amount = np.maximum(amount, 1.0) * np.where(control, 1.0, 1.0 + spec.amount_lift)
    return PlantedMembers(external_ids=external_ids, frequency=frequency, pre_spend=pre_spend, control=control,
                          converted=converted, amount=np.where(converted, np.round(amount, 2), 0.0),
                          true_uplift=true_uplift)


def expected_variance_reduction(spec: PlantedCampaign) -> float:
    """The CUPED variance reduction the plant implies: the squared correlation of window revenue and
    pre-period spend (by the law of total covariance, per group mixed at the planned split)."""
    p = spec.base_conversion + (1 - spec.holdout_share) * spec.conversion_lift
    var_x = PRE_SHAPE * PRE_SCALE**2
    mean_x = PRE_SHAPE * PRE_SCALE
    # revenue y = C * A, A = base + slope x + e (treatment scale ignored: a small second-order term)
    cov_xy = p * AMOUNT_SLOPE * var_x
    e_a2 = (AMOUNT_BASE + AMOUNT_SLOPE * mean_x) ** 2 + AMOUNT_SLOPE**2 * var_x + AMOUNT_NOISE**2
    var_y = p * e_a2 - (p * (AMOUNT_BASE + AMOUNT_SLOPE * mean_x)) ** 2
    return cov_xy**2 / (var_x * var_y)
