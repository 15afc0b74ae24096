"""The `forecasting.run` job kind: the runner over services (its parameters are forecasting.params)."""

from __future__ import annotations

from jobs.registry import JobContext, JobFailed, JobResult, job_kind

from .params import ForecastParams
from .services import ForecastFailed, forecast_run, forecast_runs_prune


@job_kind("forecasting.run", permission="forecasting.add_forecastrun", params=ForecastParams)
def forecasting_run_job(ctx: JobContext) -> JobResult:
    try:
        run = forecast_run(params=ForecastParams(**ctx.params), job_id=ctx.job_id, progress=ctx.progress)
    except ForecastFailed as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    forecast_runs_prune()
    models = ", ".join(f"{name} {count}" for name, count in sorted(run.summary.get("models", {}).items()))
    return JobResult(result_type="forecasting.forecastrun", result_id=run.pk,
                     message=f"{run.series_count} series to {run.history_end}: {models}")
