"""The `forecasting.run` job kind: parameters (all defaulted) and the runner over services."""

from __future__ import annotations

from dataclasses import dataclass

from jobs.registry import JobContext, JobFailed, JobParamsError, JobResult, job_kind

from .models import Measure
from .services import ForecastFailed, forecast_run, forecast_runs_prune


def _int(value, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise JobParamsError(name, f"{name} must be an integer from {low} to {high}")
    return value


@dataclass
class RunParams:
    horizon: int = 28
    measure: str = Measure.UNITS.value
    top_products: int = 20  # the best sellers by net units; ignored when all_products
    all_products: bool = False
    n_windows: int = 3
    level: int = 80
    history_days: int = 91  # days of history stored beside each forecast

    def __post_init__(self):
        _int(self.horizon, "horizon", 1, 90)
        if self.measure not in Measure.values:
            raise JobParamsError("measure", f"measure must be one of {', '.join(Measure.values)}")
        _int(self.top_products, "top_products", 0, 100_000)
        if not isinstance(self.all_products, bool):
            raise JobParamsError("all_products", "all_products must be true or false")
        _int(self.n_windows, "n_windows", 1, 6)
        _int(self.level, "level", 50, 99)
        _int(self.history_days, "history_days", 0, 3660)


@job_kind("forecasting.run", permission="forecasting.add_forecastrun", params=RunParams)
def forecasting_run_job(ctx: JobContext) -> JobResult:
    try:
        run = forecast_run(job_id=ctx.job_id, progress=ctx.progress, **ctx.params)
    except ForecastFailed as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    forecast_runs_prune()
    models = ", ".join(f"{name} {count}" for name, count in sorted(run.summary.get("models", {}).items()))
    return JobResult(result_type="forecasting.forecastrun", result_id=run.pk,
                     message=f"{run.series_count} series to {run.history_end}: {models}")
