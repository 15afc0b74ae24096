"""Reads: daily demand series (from the analytics rollups), and the served forecasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from analytics import selectors as analytics
from analytics.models import ALL_SCOPE
from catalog.models import Category, Product

from .models import ForecastRun, ForecastSeries, Measure, Scope

TOTAL_KEY = (Scope.TOTAL.value, None)


@dataclass
class SeriesPanel:
    """Daily series on the same days: ``values[i]`` is the series ``keys[i]`` = (scope, category/product id)."""

    start: date
    end: date
    keys: list[tuple[str, int | None]]
    values: np.ndarray  # (series, days)


def sales_date_range() -> tuple[date, date] | None:
    """The first and last day (shop time zone) with a purchase or return, or None."""
    return analytics.net_sales_days()


def top_product_ids(*, limit: int | None, start: date | None = None) -> list[int]:
    """Products by net units sold (from ``start``), best first; ``limit=None``: every product that sold."""
    return analytics.top_selling_product_ids(limit=limit, date_from=start)


def _fill(rows, start: date, days: int, index_of: dict, n: int) -> np.ndarray:
    """(key, day, value) cells into an (n, days) array; days without a cell stay 0."""
    out = np.zeros((n, days))
    if not rows:
        return out
    keys, day_list, vals = zip(*rows, strict=True)
    day_idx = (np.array(day_list, dtype="datetime64[D]") - np.datetime64(start, "D")).astype(np.int64)
    row_idx = np.fromiter((index_of[k] for k in keys), dtype=np.int64, count=len(keys))
    ok = (day_idx >= 0) & (day_idx < days)
    np.add.at(out, (row_idx[ok], day_idx[ok]), np.asarray(vals, dtype=np.float64)[ok])
    return out


def daily_series(*, measure: str = Measure.UNITS, start: date, end: date,
                 product_ids: list[int] | None = None, categories: bool = True) -> SeriesPanel:
    """The shop total, every category (its products and its descendants' products) and the given products,
    as daily net units or revenue from ``start`` to ``end`` inclusive, zero where nothing sold.

    Two reads of the daily rollups (scopes: the shop and each category subtree; products), so the cost
    follows days x series, not the number of events. Revenue is summed in pence and divided once.
    """
    days = (end - start).days + 1
    measure = Measure(measure).value
    scale = 100.0 if measure == Measure.REVENUE else 1.0
    keys: list[tuple[str, int | None]] = [TOTAL_KEY]
    scope_ids = [ALL_SCOPE]
    if categories:
        category_ids = sorted(Category.objects.values_list("id", flat=True))
        keys += [(Scope.CATEGORY.value, pk) for pk in category_ids]
        scope_ids += category_ids
    cells = analytics.scope_net_sales(measure=measure, date_from=start, date_to=end, scopes=scope_ids)
    blocks = [_fill(cells, start, days, {pk: i for i, pk in enumerate(scope_ids)}, len(scope_ids))]
    if product_ids:
        cells = analytics.product_net_sales(measure=measure, date_from=start, date_to=end, product_ids=product_ids)
        keys += [(Scope.PRODUCT.value, pk) for pk in product_ids]
        blocks.append(_fill(cells, start, days, {pk: i for i, pk in enumerate(product_ids)}, len(product_ids)))
    return SeriesPanel(start=start, end=end, keys=keys, values=np.vstack(blocks) / scale)


# --- served forecasts ------------------------------------------------------------------------------


class ForecastLookupError(ValueError):
    def __init__(self, code, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def forecast_run_served(*, measure: str = Measure.UNITS) -> ForecastRun | None:
    """The latest successful run for the measure (only successful runs are ever written)."""
    return ForecastRun.objects.filter(measure=measure).order_by("-created_at", "-id").first()


def forecast_series_get(*, product_sku: str | None = None, category_id: int | str | None = None,
                        measure: str = Measure.UNITS) -> ForecastSeries | None:
    """The served forecast of a product, a category or (neither given) the shop's total; None if not in the
    served run. Raises ForecastLookupError(NOT_FOUND / INVALID) for unknown keys."""
    from .error_codes import ForecastErrorCode

    if product_sku and category_id is not None:
        raise ForecastLookupError(ForecastErrorCode.INVALID, "Give productSku or categoryId, not both.")
    filters: dict = {"scope": Scope.TOTAL}
    if product_sku:
        product_id = Product.objects.filter(sku=product_sku).values_list("id", flat=True).first()
        if product_id is None:
            raise ForecastLookupError(ForecastErrorCode.NOT_FOUND, f"No product with SKU '{product_sku}'.")
        filters = {"scope": Scope.PRODUCT, "product_id": product_id}
    elif category_id is not None:
        text = str(category_id).strip()
        if not text.isdigit() or not Category.objects.filter(pk=int(text)).exists():
            raise ForecastLookupError(ForecastErrorCode.NOT_FOUND, f"No category with id '{category_id}'.")
        filters = {"scope": Scope.CATEGORY, "category_id": int(text)}
    run = forecast_run_served(measure=measure)
    if run is None:
        return None
    return ForecastSeries.objects.select_related("run").filter(run=run, **filters).first()
