"""Demand forecasting numerics: classify series, backtest candidate models, choose one per series, forecast.

Pure numpy/pandas + statsforecast + lightgbm; no Django import. The input is a *panel*: ``values`` of
shape (series, days), every series on the same consecutive days (zeros filled), ending on the same day.

Models (every one from a maintained library):
- ``SeasonalNaive`` (statsforecast, m=7): the baseline every model must beat; chosen only when none does.
- ``AutoETS`` (statsforecast, ``AZA``: additive errors, trend chosen by AICc among none / additive /
  damped, additive weekly season; additive because days with zero sales rule out multiplicative forms).
- ``LightGBM``: one global gradient-boosted tree model over all smooth series of the panel, on lags
  (1-7, 14, 21, 28 days), the last two weeks' means and calendar features (day of week, day of month,
  month), all relative to each series' mean over the 28 days before the day predicted. It forecasts
  **recursively** (one day ahead, fed back), and its intervals are conformal: the per-series quantile of absolute errors of the two previous origins.
- ``CrostonSBA`` and ``ADIDA`` (statsforecast) for intermittent series, with statsforecast's conformal
  intervals.

A series is **sparse** (intermittent) when its average demand interval ADI = days / days with positive
demand exceeds 1.32 (Syntetos-Boylan); sparse series choose among the intermittent methods, the others
among SeasonalNaive, AutoETS and LightGBM. Scores come from a rolling-origin backtest (``n_windows``
origins, ``horizon`` days apart, each forecasting ``horizon`` days): MASE (scale: the in-sample mean
absolute seasonal difference, m=7, before each origin), sMAPE (percent, 0-200; 0 where both are 0) and
the share of actuals inside the ``level``% interval. The chosen model is the candidate with the lowest
mean MASE; the baseline's scores are always reported beside it.
"""

from __future__ import annotations

import multiprocessing
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

BASELINE = "SeasonalNaive"
ETS = "AutoETS"
GBM = "LightGBM"
CROSTON = "CrostonSBA"
ADIDA_NAME = "ADIDA"
SMOOTH_CANDIDATES = (BASELINE, ETS, GBM)
SPARSE_CANDIDATES = (CROSTON, ADIDA_NAME)
ALL_MODELS = (BASELINE, ETS, GBM, CROSTON, ADIDA_NAME)
SPARSE_ADI = 1.32
LAGS = (1, 2, 3, 4, 5, 6, 7, 14, 21, 28)
GBM_CALIBRATION_ORIGINS = 2

Progress = Callable[[float, str], None]


class NotEnoughHistory(ValueError):
    def __init__(self, days: int, needed: int):
        super().__init__(f"{days} days of history; the backtest needs at least {needed}")
        self.days, self.needed = days, needed


@dataclass(frozen=True)
class EngineConfig:
    # The job's parameters (forecasting.params) have no defaults here: the service passes them.
    horizon: int
    n_windows: int
    level: int
    season_length: int = 7
    sparse_adi: float = SPARSE_ADI
    n_jobs: int = 1
    ets_model: str = "AZA"
    gbm_rounds: int = 120
    gbm_max_rows: int = 200_000
    gbm_train_days: int = 364
    seed: int = 0

    def min_days(self) -> int:
        # LightGBM needs its earliest calibration origin to have 28 days of lags and 8 weeks to learn from.
        return (self.n_windows + GBM_CALIBRATION_ORIGINS) * self.horizon + max(LAGS) + 56


@dataclass
class PanelForecast:
    """Per series (rows in input order): the class, chosen model, scores and the chosen forecast."""

    adi: np.ndarray  # (n,)
    sparse: np.ndarray  # (n,) bool
    chosen: np.ndarray  # (n,) object: model names
    scores: dict[str, dict[str, np.ndarray]]  # model -> {"mase","smape","coverage"} -> (n,), NaN if not run
    point: np.ndarray  # (n, h)
    lower: np.ndarray  # (n, h)
    upper: np.ndarray  # (n, h)
    timings: dict[str, float] = field(default_factory=dict)


def _noop(fraction: float, message: str) -> None:
    return None


def safe_n_jobs(requested: int) -> int:
    # A Celery prefork child is a daemon process, and daemons may not start worker processes.
    return 1 if multiprocessing.current_process().daemon else max(1, int(requested))


def average_demand_interval(values: np.ndarray) -> np.ndarray:
    positive = (values > 0).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.where(positive > 0, values.shape[1] / np.maximum(positive, 1), np.inf)


# --- scores ----------------------------------------------------------------------------------------


def seasonal_scale(values: np.ndarray, cutoff: int, m: int) -> np.ndarray:
    """Per series, the in-sample mean |y_t - y_{t-m}| over the days before ``cutoff`` (NaN when 0)."""
    diffs = np.abs(values[:, m:cutoff] - values[:, : cutoff - m])
    scale = diffs.mean(axis=1)
    return np.where(scale > 0, scale, np.nan)


def window_scores(actual: np.ndarray, point: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                  scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MASE, sMAPE (%) and coverage of one window per series; arrays (n, h) -> (n,)."""
    err = np.abs(actual - point)
    mase = err.mean(axis=1) / scale
    denom = np.abs(actual) + np.abs(point)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, 2 * err / denom, 0.0)
    smape = 100 * ratio.mean(axis=1)
    coverage = ((actual >= lower) & (actual <= upper)).mean(axis=1)
    return mase, smape, coverage


# --- statsforecast models --------------------------------------------------------------------------


def long_frame(values: np.ndarray, start: pd.Timestamp) -> pd.DataFrame:
    """The (unique_id, ds, y) frame statsforecast takes; unique_id is the row number."""
    n, t = values.shape
    return pd.DataFrame({
        "unique_id": np.repeat(np.arange(n, dtype=np.int64), t),
        "ds": np.tile(pd.date_range(start, periods=t, freq="D").values, n),
        "y": values.reshape(-1).astype(np.float64),
    })


def statsforecast_models(kind: str, config: EngineConfig) -> list:
    from statsforecast.models import ADIDA, AutoETS, CrostonSBA, SeasonalNaive
    from statsforecast.utils import ConformalIntervals

    models = [SeasonalNaive(season_length=config.season_length)]
    if kind == "smooth":
        models.append(AutoETS(season_length=config.season_length, model=config.ets_model))
    else:
        conformal = ConformalIntervals(h=config.horizon, n_windows=2)
        models += [CrostonSBA(prediction_intervals=conformal), ADIDA(prediction_intervals=conformal)]
    return models


def statsforecast_run(values: np.ndarray, start: pd.Timestamp, kind: str, config: EngineConfig,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The library call, nothing else: rolling-origin cross-validation and the final forecast.

    For smooth series the backtest estimates each model's parameters once, at the oldest origin, and
    carries its states forward through the later origins (``refit=False``: no look-ahead, about 4x
    cheaper for AutoETS); the intermittent methods (cheap, and without ``forward``) are refitted at every
    origin. The served forecast is a fresh fit on the whole history.
    """
    from statsforecast import StatsForecast

    df = long_frame(values, start)
    sf = StatsForecast(models=statsforecast_models(kind, config), freq="D", n_jobs=safe_n_jobs(config.n_jobs))
    cv = sf.cross_validation(df=df, h=config.horizon, n_windows=config.n_windows, step_size=config.horizon,
                             level=[config.level], refit=kind != "smooth")
    fc = sf.forecast(df=df, h=config.horizon, level=[config.level])
    return cv, fc


def _cube(frame: pd.DataFrame, column: str, n: int, windows: int, h: int) -> np.ndarray:
    """A statsforecast result column as (n, windows, h), rows ordered by series, origin and day."""
    sort_cols = ["unique_id", "cutoff", "ds"] if "cutoff" in frame.columns else ["unique_id", "ds"]
    ordered = frame.sort_values(sort_cols, kind="stable")
    return ordered[column].to_numpy(dtype=np.float64).reshape(n, windows, h)


# --- LightGBM, global and recursive ----------------------------------------------------------------


def _calendar(days: pd.DatetimeIndex) -> np.ndarray:
    return np.column_stack([days.dayofweek, days.day, days.month]).astype(np.float32)


def _features_at(y: np.ndarray, t: int, calendar_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features to predict column t of ``y`` from the columns before it, and the row scale.

    Everything is relative to the series' mean over the 28 days before t, so that one model serves
    series of every size and a trend shows as the last week's mean above the 28-day one.
    """
    scale = y[:, t - 28:t].mean(axis=1)
    scale = np.where(scale > 0, scale, 1.0)
    cols = [y[:, t - lag] / scale for lag in LAGS]
    cols.append(y[:, t - 7:t].mean(axis=1) / scale)
    cols.append(y[:, t - 14:t - 7].mean(axis=1) / scale)
    cols.append(np.log1p(scale))
    feats = np.column_stack(cols).astype(np.float32)
    calendar = np.broadcast_to(calendar_row, (y.shape[0], calendar_row.shape[0]))
    return np.hstack([feats, calendar]), scale


def gbm_fit_predict(values: np.ndarray, days: pd.DatetimeIndex, cutoff: int, config: EngineConfig) -> np.ndarray:
    """Train on the days before ``cutoff`` and forecast the next ``horizon`` days recursively: (n, h)."""
    import lightgbm as lgb

    h = config.horizon
    calendar = _calendar(pd.date_range(days[0], periods=cutoff + h, freq="D"))
    first = max(max(LAGS), cutoff - config.gbm_train_days)
    blocks_x, blocks_y = [], []
    for t in range(first, cutoff):
        feats, scale = _features_at(values, t, calendar[t])
        blocks_x.append(feats)
        blocks_y.append(values[:, t] / scale)
    x = np.concatenate(blocks_x)
    y = np.concatenate(blocks_y).astype(np.float32)
    if len(y) > config.gbm_max_rows:
        keep = np.random.default_rng(config.seed).choice(len(y), config.gbm_max_rows, replace=False)
        x, y = x[keep], y[keep]
    params = {"objective": "regression", "learning_rate": 0.08, "num_leaves": 31, "min_data_in_leaf": 20,
              "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "seed": config.seed,
              # One thread: the matrices are small and the 28 recursive predicts tiny; with more threads
              # OpenMP spin-waits cost up to 8x on a busy 2-core machine (measured).
              "num_threads": 1, "verbosity": -1, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x, y, free_raw_data=True), num_boost_round=config.gbm_rounds)
    extended = np.hstack([values[:, :cutoff], np.zeros((values.shape[0], h))])
    for t in range(cutoff, cutoff + h):
        feats, scale = _features_at(extended, t, calendar[t])
        extended[:, t] = np.maximum(booster.predict(feats), 0.0) * scale
    return extended[:, cutoff:]


def gbm_run(values: np.ndarray, start: pd.Timestamp, config: EngineConfig, progress: Progress = _noop,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backtest windows (n, W, h) for point/lower/upper and the final (n, h) point/lower/upper.

    Origins run oldest first; each origin's interval half-width is the per-series ``level`` quantile of the
    absolute errors at the two origins before it (split-conformal, pooled over the horizon's days).
    """
    n, t_len = values.shape
    h, w = config.horizon, config.n_windows
    days = pd.date_range(start, periods=t_len, freq="D")
    origins = [t_len - k * h for k in range(w + GBM_CALIBRATION_ORIGINS, 0, -1)] + [t_len]
    errors: list[np.ndarray] = []
    points, lowers, uppers = [], [], []
    for i, cutoff in enumerate(origins):
        pred = gbm_fit_predict(values, days, cutoff, config)
        if i >= GBM_CALIBRATION_ORIGINS:
            pooled = np.concatenate(errors[-GBM_CALIBRATION_ORIGINS:], axis=1)
            half = np.quantile(pooled, config.level / 100, axis=1)[:, None]
            points.append(pred)
            lowers.append(np.maximum(pred - half, 0.0))
            uppers.append(pred + half)
        if cutoff < t_len:
            errors.append(np.abs(values[:, cutoff:cutoff + h] - pred))
        progress((i + 1) / len(origins), f"LightGBM origin {i + 1}/{len(origins)}")
    cube = lambda arrays: np.stack(arrays[:-1], axis=1)  # noqa: E731
    return cube(points), cube(lowers), cube(uppers), points[-1], lowers[-1], uppers[-1]


# --- the whole panel -------------------------------------------------------------------------------


def forecast_panel(values: np.ndarray, start: pd.Timestamp, config: EngineConfig,
                   progress: Progress = _noop) -> PanelForecast:
    """Classify, backtest, choose and forecast every series of the panel."""
    import time

    values = np.asarray(values, dtype=np.float64)
    n, t_len = values.shape
    if t_len < config.min_days():
        raise NotEnoughHistory(t_len, config.min_days())
    h, w = config.horizon, config.n_windows
    adi = average_demand_interval(values)
    sparse = adi > config.sparse_adi
    scores = {m: {k: np.full(n, np.nan) for k in ("mase", "smape", "coverage")} for m in ALL_MODELS}
    cv_point = {m: np.full((n, w, h), np.nan) for m in ALL_MODELS}
    final = {m: tuple(np.full((n, h), np.nan) for _ in range(3)) for m in ALL_MODELS}
    timings: dict[str, float] = {}

    # The backtest's actuals and MASE scales, per origin.
    cutoffs = [t_len - (w - j) * h for j in range(w)]
    actual = np.stack([values[:, c:c + h] for c in cutoffs], axis=1)
    scales = np.stack([seasonal_scale(values, c, config.season_length) for c in cutoffs], axis=1)

    def record(model: str, rows: np.ndarray, point, lower, upper, f_point, f_lower, f_upper) -> None:
        point, lower, upper = np.maximum(point, 0.0), np.maximum(lower, 0.0), np.maximum(upper, 0.0)
        per_window = [window_scores(actual[rows, j], point[:, j], lower[:, j], upper[:, j], scales[rows, j])
                      for j in range(w)]
        stacked = [np.stack([s[k] for s in per_window], axis=1) for k in range(3)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN MASE rows: never-changing series
            scores[model]["mase"][rows] = np.nanmean(stacked[0], axis=1)
        scores[model]["smape"][rows] = stacked[1].mean(axis=1)
        scores[model]["coverage"][rows] = stacked[2].mean(axis=1)
        cv_point[model][rows] = point
        for target, source in zip(final[model], (f_point, f_lower, f_upper), strict=True):
            target[rows] = np.maximum(source, 0.0)

    groups = [("smooth", np.flatnonzero(~sparse)), ("sparse", np.flatnonzero(sparse))]
    steps = sum(1 for _, rows in groups if len(rows)) + (1 if (~sparse).any() else 0)
    done = 0
    for kind, rows in groups:
        if not len(rows):
            continue
        progress(done / steps, f"statsforecast: {len(rows)} {kind} series")
        tic = time.perf_counter()
        cv, fc = statsforecast_run(values[rows], start, kind, config)
        timings[f"statsforecast_{kind}"] = time.perf_counter() - tic
        lo, hi = f"-lo-{config.level}", f"-hi-{config.level}"
        for model in ([BASELINE, ETS] if kind == "smooth" else [BASELINE, CROSTON, ADIDA_NAME]):
            record(model, rows,
                   _cube(cv, model, len(rows), w, h), _cube(cv, model + lo, len(rows), w, h),
                   _cube(cv, model + hi, len(rows), w, h),
                   _cube(fc, model, len(rows), 1, h)[:, 0], _cube(fc, model + lo, len(rows), 1, h)[:, 0],
                   _cube(fc, model + hi, len(rows), 1, h)[:, 0])
        done += 1
    smooth_rows = np.flatnonzero(~sparse)
    if len(smooth_rows):
        tic = time.perf_counter()
        base = done / steps
        point, lower, upper, f_point, f_lower, f_upper = gbm_run(
            values[smooth_rows], start, config, lambda f, m: progress(base + f / steps, m))
        timings["lightgbm"] = time.perf_counter() - tic
        record(GBM, smooth_rows, point, lower, upper, f_point, f_lower, f_upper)

    chosen = choose_models(scores, sparse)
    point = np.empty((n, h))
    lower = np.empty((n, h))
    upper = np.empty((n, h))
    for model in ALL_MODELS:
        rows = chosen == model
        if rows.any():
            point[rows], lower[rows], upper[rows] = (a[rows] for a in final[model])
    progress(1.0, "models chosen")
    return PanelForecast(adi=adi, sparse=sparse, chosen=chosen, scores=scores, point=point, lower=lower,
                         upper=upper, timings=timings)


def choose_models(scores: dict[str, dict[str, np.ndarray]], sparse: np.ndarray) -> np.ndarray:
    """Per series, the candidate with the lowest backtest MASE (sMAPE breaks ties and undefined MASE)."""
    n = len(sparse)
    chosen = np.empty(n, dtype=object)
    for is_sparse, candidates in ((False, SMOOTH_CANDIDATES), (True, SPARSE_CANDIDATES)):
        rows = sparse == is_sparse
        if not rows.any():
            continue
        mase = np.stack([scores[m]["mase"][rows] for m in candidates], axis=1)
        smape = np.stack([scores[m]["smape"][rows] for m in candidates], axis=1)
        # MASE is undefined where the series never changed before the origins; sMAPE decides there.
        key = np.where(np.isnan(mase), np.inf, mase)
        fallback = np.isinf(key).all(axis=1)
        key[fallback] = np.where(np.isnan(smape[fallback]), np.inf, smape[fallback])
        best = np.argmin(key, axis=1)
        chosen[rows] = np.array(candidates, dtype=object)[best]
    return chosen
