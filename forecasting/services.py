"""Writes: a forecasting run (series -> backtest -> choice -> forecast, stored whole at the end), pruning."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import numpy as np
from django.db import transaction

from analytics.services import rollups_refresh_pending

from . import engine
from .error_codes import ForecastErrorCode
from .models import ForecastRun, ForecastSeries, Measure, Scope
from .params import ForecastParams
from .selectors import daily_series, sales_date_range, top_product_ids

Progress = Callable[[float, str], None]
KEEP_RUNS = 10


class ForecastFailed(Exception):
    def __init__(self, code: ForecastErrorCode, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _none_progress(fraction: float, message: str) -> None:
    return None


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 3) for v in values]


def forecast_run(*, params: ForecastParams, n_jobs: int = 2, job_id: int | None = None,
                 progress: Progress = _none_progress) -> ForecastRun:
    """Forecast the total, every category and the top products (or all), and store the run.

    Nothing is written until everything has been computed; then the run and all its series are written in
    one transaction, so the served forecast switches at once and a failure leaves the previous run served.
    """
    timings: dict[str, float] = {}
    tic = time.perf_counter()
    progress(0.01, "reading sales")
    rollups_refresh_pending()  # the series are read from the daily rollups: first catch up deferred refreshes
    bounds = sales_date_range()
    if bounds is None:
        raise ForecastFailed(ForecastErrorCode.NO_SALES, "There are no purchases to forecast from.")
    start, end = bounds
    config = engine.EngineConfig(horizon=params.horizon, n_windows=params.n_windows, level=params.level,
                                 n_jobs=n_jobs)
    if (end - start).days + 1 < config.min_days():
        raise ForecastFailed(ForecastErrorCode.NOT_ENOUGH_HISTORY,
                             f"{(end - start).days + 1} days of sales; a {params.n_windows}-origin backtest of "
                             f"{params.horizon} days needs at least {config.min_days()}.")
    products = top_product_ids(limit=None if params.all_products else params.top_products)
    panel = daily_series(measure=params.measure, start=start, end=end, product_ids=products)
    timings["series"] = time.perf_counter() - tic
    progress(0.1, f"{len(panel.keys)} series over {panel.values.shape[1]} days")

    tic = time.perf_counter()
    result = engine.forecast_panel(panel.values, start, config,
                                   progress=lambda f, m: progress(0.1 + 0.8 * f, m))
    timings["models"] = time.perf_counter() - tic
    timings.update({f"models_{k}": v for k, v in result.timings.items()})

    progress(0.92, "storing")
    tic = time.perf_counter()
    run = _store(panel=panel, result=result, config=config, measure=params.measure, job_id=job_id,
                 timings=timings, history_days=params.history_days,
                 params={"top_products": params.top_products, "all_products": params.all_products,
                         "history_days": params.history_days})
    return run


def _summary(panel, result: engine.PanelForecast) -> dict:
    base = result.scores[engine.BASELINE]["mase"]
    chosen_mase = np.array([result.scores[m]["mase"][i] for i, m in enumerate(result.chosen)])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = chosen_mase / base
    summary: dict = {"models": dict(Counter(result.chosen.tolist())), "sparse": int(result.sparse.sum())}
    for scope in Scope.values:
        rows = np.array([k[0] == scope for k in panel.keys])
        valid = rows & np.isfinite(ratio)
        if valid.any():
            summary[f"{scope}_median_mase_ratio"] = round(float(np.median(ratio[valid])), 4)
            summary[f"{scope}_beat_baseline"] = f"{int((ratio[valid] < 1).sum())}/{int(valid.sum())}"
    return summary


def _store(*, panel, result: engine.PanelForecast, config: engine.EngineConfig, measure: str,
           job_id: int | None, timings: dict, history_days: int, params: dict) -> ForecastRun:
    tic = time.perf_counter()
    history = panel.values[:, -history_days:] if history_days > 0 else panel.values[:, :0]
    rows = []
    for i, (scope, pk) in enumerate(panel.keys):
        model = result.chosen[i]
        chosen, base = result.scores[model], result.scores[engine.BASELINE]
        rows.append(ForecastSeries(
            scope=scope,
            category_id=pk if scope == Scope.CATEGORY else None,
            product_id=pk if scope == Scope.PRODUCT else None,
            model=model, sparse=bool(result.sparse[i]), adi=_num(result.adi[i]),
            mase=_num(chosen["mase"][i]), smape=_num(chosen["smape"][i]), coverage=_num(chosen["coverage"][i]),
            baseline_mase=_num(base["mase"][i]), baseline_smape=_num(base["smape"][i]),
            baseline_coverage=_num(base["coverage"][i]),
            history=_rounded(history[i]), point=_rounded(result.point[i]), lower=_rounded(result.lower[i]),
            upper=_rounded(result.upper[i]),
        ))
    summary = _summary(panel, result)
    with transaction.atomic():
        run = ForecastRun.objects.create(
            job_id=job_id, measure=measure, horizon=config.horizon, n_windows=config.n_windows, level=config.level,
            params=params, history_start=panel.start, history_end=panel.end, series_count=len(rows),
            summary=summary, timings={},
        )
        for row in rows:
            row.run = run
        ForecastSeries.objects.bulk_create(rows, batch_size=2000)
        timings["store"] = time.perf_counter() - tic
        run.timings = {k: round(v, 3) for k, v in timings.items()}
        run.save(update_fields=["timings"])
    return run


def forecast_runs_prune(*, keep: int = KEEP_RUNS) -> int:
    """Delete all but the ``keep`` newest runs per measure; returns how many runs were deleted."""
    deleted = 0
    for measure in Measure.values:
        old = list(ForecastRun.objects.filter(measure=measure).order_by("-created_at", "-id")
                   .values_list("id", flat=True)[keep:])
        if old:
            deleted += ForecastRun.objects.filter(id__in=old).delete()[1].get("forecasting.ForecastRun", 0)
    return deleted


def forecast_dates(run: ForecastRun, *, history: int, points: int) -> tuple[list, list]:
    """The days of a series' stored history and of its first ``points`` forecast days."""
    first_history = run.history_end - timedelta(days=history - 1)
    return ([first_history + timedelta(days=i) for i in range(history)],
            [run.history_end + timedelta(days=i + 1) for i in range(points)])
