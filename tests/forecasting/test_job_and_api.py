"""The forecasting.run job end to end on the database, what the API serves, and that failures change nothing."""

from __future__ import annotations

from datetime import date

import pytest

from forecasting import engine
from forecasting.models import ForecastRun, ForecastSeries
from jobs.models import JobStatus
from jobs.services import job_execute, job_submit
from tests.conftest import GraphQLClient, make_staff

pytestmark = pytest.mark.django_db

FORECAST = """query($sku: String, $cat: ID, $h: Int) {
  forecast(productSku: $sku, categoryId: $cat, horizon: $h) {
    scope model sparse level runId
    backtest { mase smape coverage } baseline { mase smape coverage }
    history { date value } points { date value lower upper }
  }
}"""


def run_job(params: dict):
    job = job_submit(kind="forecasting.run", params=params)
    return job_execute(job_id=job.pk)


def test_a_run_is_stored_and_served_and_a_failed_run_changes_nothing(shop, client, monkeypatch):
    # Given 196 days of sales (1 Jan - 14 Jul 2024) and a successful 14-day run
    job = run_job({"horizon": 14, "top_products": 5})
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    run = ForecastRun.objects.get()
    assert (job.result_type, job.result_id) == ("forecasting.forecastrun", run.pk)
    assert (run.history_start, run.history_end, run.horizon, run.series_count) == (
        date(2024, 1, 1), date(2024, 7, 14), 14, 6)  # total, 2 categories, 3 products
    rows = {(r.scope, r.category_id or r.product_id): r for r in ForecastSeries.objects.filter(run=run)}
    rare = rows[("product", shop["rare"].pk)]
    assert rare.sparse and rare.model in engine.SPARSE_CANDIDATES
    total = rows[("total", None)]
    assert not total.sparse and total.model in engine.SMOOTH_CANDIDATES
    assert total.mase < total.baseline_mase  # planted weekly data: the chosen model beats seasonal naive

    # When staff with the view permission asks for the total's first 7 days
    gql = GraphQLClient(client, make_staff("planner", perms=("forecasting.view_forecastrun",)))
    served = gql(FORECAST, {"h": 7})["data"]["forecast"]
    # Then it gets the chosen model, its scores beside the baseline's, 91 days of history and 7 points
    assert served["model"] == total.model and served["runId"] == str(run.pk) and served["level"] == 80
    assert served["backtest"]["mase"] == pytest.approx(total.mase)
    assert served["baseline"]["mase"] == pytest.approx(total.baseline_mase)
    assert [p["date"] for p in served["points"]] == [f"2024-07-{d}" for d in range(15, 22)]
    assert len(served["history"]) == 91 and served["history"][-1]["date"] == "2024-07-14"
    assert all(p["lower"] <= p["value"] <= p["upper"] for p in served["points"])
    by_category = gql(FORECAST, {"cat": str(shop["kitchen"].pk)})["data"]["forecast"]
    assert by_category["scope"] == "category" and len(by_category["points"]) == 14
    assert gql(FORECAST, {"sku": "RARE"})["data"]["forecast"]["sparse"] is True
    errors = gql(FORECAST, {"h": 15}, expect_errors=True)["errors"]
    assert errors[0]["message"].startswith("HORIZON_TOO_LONG")
    assert gql(FORECAST, {"sku": "NOPE"}, expect_errors=True)["errors"][0]["message"].startswith("NOT_FOUND")

    # When a run fails with a named error (history too short for a 60-day backtest) ...
    failed = run_job({"horizon": 60})
    assert (failed.status, failed.error_code) == (JobStatus.FAILED, "NOT_ENOUGH_HISTORY")
    # ... or breaks inside the models
    def broken(*args, **kwargs):
        raise RuntimeError("model crashed")

    monkeypatch.setattr(engine, "forecast_panel", broken)
    crashed = run_job({"horizon": 14})
    assert (crashed.status, crashed.error_code) == (JobStatus.FAILED, "INTERNAL_ERROR")
    # Then the first run is still the only one and is still served, unchanged
    assert list(ForecastRun.objects.values_list("id", flat=True)) == [run.pk]
    assert gql(FORECAST, {"h": 7})["data"]["forecast"] == served
    runs = gql("{ forecastRuns(first: 5) { totalCount edges { node { id seriesCount horizon } } } }")
    assert runs["data"]["forecastRuns"]["totalCount"] == 1


def test_run_forecast_with_empty_input_submits_the_defaults(client, db):
    gql = GraphQLClient(client, make_staff("planner", perms=("forecasting.add_forecastrun",)))
    payload = gql("mutation { runForecast(input: {}) { job { kind params } errors { field code } } }")
    body = payload["data"]["runForecast"]
    assert body["errors"] == []
    assert body["job"]["kind"] == "forecasting.run"
    assert body["job"]["params"] == {"horizon": 28, "measure": "units", "top_products": 20, "all_products": False,
                                     "n_windows": 3, "level": 80, "history_days": 91}
    bad = gql("mutation { runForecast(input: {horizon: 0}) { job { id } errors { field code } } }")
    assert bad["data"]["runForecast"] == {"job": None, "errors": [{"field": "horizon", "code": "INVALID"}]}


def test_forecasts_are_for_staff_with_the_view_permission(client, db):
    denied = GraphQLClient(client, make_staff("clerk"))(FORECAST, {}, expect_errors=True)
    assert denied["data"] == {"forecast": None}
    assert "permission" in denied["errors"][0]["message"]
    no_run = GraphQLClient(client, make_staff("planner", perms=("forecasting.view_forecastrun",)))(FORECAST, {})
    assert no_run["data"]["forecast"] is None
    refused = GraphQLClient(client, make_staff("clerk2"))(
        "mutation { runForecast { job { id } errors { code } } }")["data"]["runForecast"]
    assert refused == {"job": None, "errors": [{"code": "PERMISSION_DENIED"}]}
