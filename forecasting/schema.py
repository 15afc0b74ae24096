"""GraphQL for forecasting: `forecast(productSku, categoryId, horizon)`, `forecastRuns`, `runForecast`."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
import strawberry_django
from strawberry import auto
from strawberry.scalars import JSON
from strawberry.types import Info

from api.connections import CappedListConnection
from api.errors import ClientError
from api.permissions import staff_with_perm
from jobs.schema import JobPayload, job_params_input, submit_job

from . import selectors
from .error_codes import ForecastErrorCode
from .models import ForecastRun, ForecastSeries, Measure
from .params import ForecastParams
from .services import forecast_dates

VIEW = "forecasting.view_forecastrun"
MeasureEnum = strawberry.enum(Measure, name="ForecastMeasure")


@strawberry.type(name="ForecastScores", description="Backtest scores, means over the rolling origins. MASE: "
                 "mean absolute error over the in-sample weekly-seasonal naive error (below 1 beats it); sMAPE "
                 "in percent (0-200); coverage: share of actuals inside the interval. Null when undefined.")
class ForecastScores:
    mase: float | None
    smape: float | None
    coverage: float | None


@strawberry.type(name="ForecastHistoryPoint")
class ForecastHistoryPoint:
    date: date
    value: float


@strawberry.type(name="ForecastPoint", description="A forecast day with its interval (run's level, e.g. 80%).")
class ForecastPoint:
    date: date
    value: float
    lower: float
    upper: float


@strawberry_django.type(ForecastRun, name="ForecastRun")
class ForecastRunType:
    id: auto
    job_id: auto
    measure: MeasureEnum
    horizon: auto
    n_windows: auto
    level: auto
    history_start: auto
    history_end: auto
    series_count: auto
    summary: JSON
    timings: JSON
    params: JSON
    created_at: auto


@strawberry.type(name="Forecast", description="The served forecast of one series with its track record.")
class Forecast:
    scope: str
    measure: MeasureEnum
    model: str = strawberry.field(description="The model chosen by backtest MASE.")
    sparse: bool = strawberry.field(description="Intermittent: average demand interval above 1.32 days.")
    adi: float | None
    level: int = strawberry.field(description="Nominal coverage of lower..upper, percent.")
    backtest: ForecastScores
    baseline: ForecastScores = strawberry.field(description="Seasonal naive (m=7) on the same backtest.")
    history: list[ForecastHistoryPoint]
    points: list[ForecastPoint]
    run_id: strawberry.ID
    generated_at: datetime


def _forecast(row: ForecastSeries, horizon: int | None) -> Forecast:
    run = row.run
    if horizon is not None and not 1 <= horizon <= run.horizon:
        code = ForecastErrorCode.HORIZON_TOO_LONG
        raise ClientError(code, f"{code.value}: horizon must be from 1 to {run.horizon} (the served run's horizon).")
    n = run.horizon if horizon is None else horizon
    history_days, point_days = forecast_dates(run, history=len(row.history), points=n)
    return Forecast(
        scope=row.scope, measure=run.measure, model=row.model, sparse=row.sparse, adi=row.adi, level=run.level,
        backtest=ForecastScores(mase=row.mase, smape=row.smape, coverage=row.coverage),
        baseline=ForecastScores(mase=row.baseline_mase, smape=row.baseline_smape, coverage=row.baseline_coverage),
        history=[ForecastHistoryPoint(date=d, value=v) for d, v in zip(history_days, row.history, strict=True)],
        points=[ForecastPoint(date=d, value=v, lower=lo, upper=hi) for d, v, lo, hi in
                zip(point_days, row.point[:n], row.lower[:n], row.upper[:n], strict=True)],
        run_id=strawberry.ID(str(run.pk)), generated_at=run.created_at,
    )


RunForecastInput = job_params_input(ForecastParams, name="RunForecastInput", graphql_types={"measure": MeasureEnum},
                                    description="Every field has a default: `runForecast(input: {})`.")


@strawberry.type
class Query:
    @strawberry.field(
        description="The served forecast of a product (productSku), a category with its descendants "
                    "(categoryId) or, with neither, the shop's total; null if the latest run has no such "
                    "series. `horizon` (default: the run's) returns the first days only.",
        extensions=staff_with_perm(VIEW),
    )
    def forecast(self, info: Info, product_sku: str | None = None, category_id: strawberry.ID | None = None,
                 horizon: int | None = None, measure: MeasureEnum = Measure.UNITS) -> Forecast | None:
        try:
            row = selectors.forecast_series_get(product_sku=product_sku, category_id=category_id,
                                                measure=measure.value if hasattr(measure, "value") else measure)
        except selectors.ForecastLookupError as exc:
            raise ClientError(exc.code, f"{exc.code.value}: {exc.message}") from None
        return None if row is None else _forecast(row, horizon)

    @strawberry_django.connection(CappedListConnection[ForecastRunType], description="Forecast runs, newest first.",
                                  extensions=staff_with_perm(VIEW))
    def forecast_runs(self, info: Info, measure: MeasureEnum | None = None) -> list[ForecastRun]:
        qs = ForecastRun.objects.order_by("-created_at", "-id")
        if measure is not None:
            qs = qs.filter(measure=measure.value if hasattr(measure, "value") else measure)
        return qs  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Submit a forecasting.run job (needs forecasting.add_forecastrun): the "
                                     "total, every category and the top products; the result is served when "
                                     "the job succeeds.")
    def run_forecast(self, info: Info, input: RunForecastInput | None = None) -> JobPayload:
        return submit_job(info, kind="forecasting.run", params=input or {})
