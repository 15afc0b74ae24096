"""The `forecasting.run` job's parameters: the one place their defaults, ranges and help are written.

The job validates with this dataclass, ``forecast_run`` takes it (and builds the engine's
configuration from it), and the GraphQL input ``RunForecastInput`` is generated from it (jobs.params).
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.params import JobParams, param

from .models import Measure


@dataclass
class ForecastParams(JobParams):
    horizon: int = param(28, low=1, high=90, help="Days to forecast.")
    measure: str = param(Measure.UNITS.value, choices=Measure.values, help="Net units or net revenue.")
    top_products: int = param(20, low=0, high=100_000,
                              help="Best sellers by net units to forecast (ignored with allProducts).")
    all_products: bool = param(False, help="Forecast every product that sold.")
    n_windows: int = param(3, low=1, high=6, help="Backtest origins, `horizon` days apart.")
    level: int = param(80, low=50, high=99, help="Interval coverage, percent.")
    history_days: int = param(91, low=0, high=3660, help="Days of history stored with each series.")
