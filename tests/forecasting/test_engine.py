"""The engine on generated panels: planted weekly seasonality and trend, interval coverage, sparse series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import engine
from tests.forecasting.conftest import START, WEEKLY, intermittent, planted

H = 14
CONFIG = engine.EngineConfig(horizon=H, n_windows=3, level=80, n_jobs=1)
DAYS = 196


@pytest.fixture(scope="module")
def panel():
    """8 smooth series (planted weekly profile and trend; 4 rising, 4 flat) and 4 intermittent ones."""
    expected, drawn = [], []
    for i in range(8):
        e, d = planted(days=DAYS + H, level=80 + 20 * i, trend=0.003 if i < 4 else 0.0, seed=10 + i)
        expected.append(e)
        drawn.append(d)
    sparse = [intermittent(days=DAYS + H, rate=0.2, seed=40 + i) for i in range(4)]
    values = np.vstack(drawn + sparse)
    result = engine.forecast_panel(values[:, :DAYS], pd.Timestamp(START), CONFIG)
    return {"expected": np.vstack(expected), "values": values, "result": result}


def test_window_scores_exact_values():
    # Given actuals, a forecast, an interval and a MASE scale of 2
    actual = np.array([[4.0, 0.0, 2.0, 6.0]])
    point = np.array([[2.0, 0.0, 2.0, 2.0]])
    lower, upper = point - 1, point + 3
    # When scored
    mase, smape, coverage = engine.window_scores(actual, point, lower, upper, np.array([2.0]))
    # Then MASE = mean |e| / 2 = (2+0+0+4)/4/2, sMAPE = 100 * mean(2|e|/(|y|+|f|)) with 0/0 = 0,
    # and 3 of the 4 actuals (4, 0, 2 but not 6 > 5) lie inside the interval
    assert mase[0] == pytest.approx(0.75)
    assert smape[0] == pytest.approx(100 * (4 / 6 + 0 + 0 + 8 / 8) / 4)
    assert coverage[0] == pytest.approx(0.75)


def test_seasonal_scale_and_adi_exact_values():
    values = np.array([[0, 0, 3, 0, 0, 0, 0, 1, 0, 3], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]], dtype=float)
    # |y_t - y_{t-7}| for t = 7..9: (1, 0, 0) for the first, zeros (undefined scale) for the second
    assert engine.seasonal_scale(values, 10, 7)[0] == pytest.approx(1 / 3)
    assert np.isnan(engine.seasonal_scale(values, 10, 7)[1])
    assert engine.average_demand_interval(values).tolist() == [10 / 3, 1.0]


def test_planted_weekly_profile_and_trend_are_recovered(panel):
    # Given series with a planted weekly profile and (for the first four) a 0.3%/day trend
    result, expected = panel["result"], panel["expected"]
    for i in range(8):
        point = result.point[i]
        truth = expected[i, DAYS:]
        # Then the forecast's weekly profile (each weekday over the week's mean) is within 0.12 of the planted
        # multipliers (0.55-1.4) on every weekday, and within 0.05 on average
        weekday = (np.arange(DAYS, DAYS + H) + START.weekday()) % 7
        profile = np.array([point[weekday == d].mean() for d in range(7)])
        gap = np.abs(profile / profile.mean() - WEEKLY / WEEKLY.mean())
        assert gap.max() < 0.12 and gap.mean() < 0.05, (i, result.chosen[i], gap)
        # And its level over the horizon is within 6% of the planted mean (which has grown by the trend)
        assert point.mean() == pytest.approx(truth.mean(), rel=0.06), (i, result.chosen[i])
    # And the rising series are forecast above their last four weeks (the trend carries on)
    for i in range(4):
        assert result.point[i].mean() > panel["values"][i, DAYS - 28:DAYS].mean()


def test_chosen_models_beat_seasonal_naive_on_smooth_series(panel):
    result = panel["result"]
    smooth = ~result.sparse
    chosen_mase = np.array([result.scores[m]["mase"][i] for i, m in enumerate(result.chosen)])
    assert set(result.chosen[smooth]) <= {engine.ETS, engine.GBM}
    assert (chosen_mase[smooth] < result.scores[engine.BASELINE]["mase"][smooth]).all()


def test_intervals_cover_about_their_nominal_share_in_the_backtest(panel):
    # Given 80% intervals, on the 8 smooth series x 3 origins x 14 days = 336 backtest days per model
    result = panel["result"]
    smooth = ~result.sparse
    for model in (engine.ETS, engine.GBM, engine.BASELINE):
        coverage = result.scores[model]["coverage"][smooth].mean()
        # Then the share of actuals inside is 80% give or take 12 points
        assert 0.68 <= coverage <= 0.92, (model, coverage)


def test_sparse_series_go_to_an_intermittent_method(panel):
    result = panel["result"]
    assert result.sparse.tolist() == [False] * 8 + [True] * 4
    assert (result.adi[8:] > engine.SPARSE_ADI).all()
    assert set(result.chosen[8:]) <= set(engine.SPARSE_CANDIDATES)
    # And intermittent forecasts are flat rates close to the planted mean of 0.2 * 2 units a day
    assert result.point[8:].mean() == pytest.approx(0.4, abs=0.15)
    assert (result.lower >= 0).all()


def test_too_short_history_is_refused():
    with pytest.raises(engine.NotEnoughHistory):
        engine.forecast_panel(np.ones((1, CONFIG.min_days() - 1)), pd.Timestamp(START), CONFIG)
