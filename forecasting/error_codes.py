"""Codes the forecasting services raise (they reach clients as a failed job's code or a query error)."""

from enum import Enum


class ForecastErrorCode(str, Enum):
    NO_SALES = "NO_SALES"  # no purchases at all: nothing to forecast
    NOT_ENOUGH_HISTORY = "NOT_ENOUGH_HISTORY"  # fewer days than the backtest needs
    NO_FORECAST = "NO_FORECAST"  # no successful run yet, or the series is not in the served run
    HORIZON_TOO_LONG = "HORIZON_TOO_LONG"  # more days asked than the served run forecast
    NOT_FOUND = "NOT_FOUND"  # unknown product SKU or category id
    INVALID = "INVALID"
