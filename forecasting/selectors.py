"""Reads: daily demand series built in the database, and the served forecasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db.models import Case, DecimalField, F, IntegerField, Max, Min, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from behavior.models import Event, EventKind
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


def _shop_tz() -> ZoneInfo:
    return ZoneInfo(settings.SHOP_TIME_ZONE)


def _sales():
    """Purchases and returns, each with its signed quantity (a return subtracts) and signed revenue."""
    signed = Case(When(kind=EventKind.RETURN, then=Value(-1) * F("quantity")), default=F("quantity"),
                  output_field=IntegerField())
    return (Event.objects.filter(kind__in=[EventKind.PURCHASE, EventKind.RETURN])
            .annotate(day=TruncDate("occurred_at", tzinfo=_shop_tz()), signed=signed))


def _measure_sum(measure: str):
    if measure == Measure.REVENUE:
        return Sum(F("signed") * F("unit_price"), output_field=DecimalField(max_digits=20, decimal_places=2))
    return Sum("signed")


def sales_date_range() -> tuple[date, date] | None:
    """The first and last day (shop time zone) with a purchase or return, or None."""
    bounds = Event.objects.filter(kind__in=[EventKind.PURCHASE, EventKind.RETURN]).aggregate(
        first=Min("occurred_at"), last=Max("occurred_at"))
    if bounds["first"] is None:
        return None
    tz = _shop_tz()
    return timezone.localtime(bounds["first"], tz).date(), timezone.localtime(bounds["last"], tz).date()


def top_product_ids(*, limit: int | None, start: date | None = None) -> list[int]:
    """Products by net units sold (from ``start``), best first; ``limit=None``: every product that sold."""
    qs = _sales()
    if start is not None:
        qs = qs.filter(day__gte=start)
    qs = (qs.values("product_id").annotate(net=Sum("signed")).filter(net__gt=0)
          .order_by("-net", "product_id").values_list("product_id", flat=True))
    return list(qs if limit is None else qs[:limit])


def _fill(rows, start: date, days: int, index_of: dict, n: int) -> np.ndarray:
    """(key, day, value) aggregate rows into an (n, days) array; days without a row stay 0."""
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

    Three aggregate queries (by day; by category and day; by product and day); the category tree is
    rolled up over the per-category daily sums, never over events.
    """
    days = (end - start).days + 1
    total_sum = _measure_sum(measure)
    sales = _sales().filter(day__gte=start, day__lte=end)
    keys: list[tuple[str, int | None]] = [TOTAL_KEY]
    blocks = [_fill([(None, d, v) for d, v in sales.values("day").annotate(v=total_sum).values_list("day", "v")],
                    start, days, {None: 0}, 1)]

    if categories:
        parents = dict(Category.objects.values_list("id", "parent_id"))
        category_ids = sorted(parents)
        position = {pk: i for i, pk in enumerate(category_ids)}
        own = _fill(list(sales.filter(product__category__isnull=False)
                         .values("product__category_id", "day").annotate(v=total_sum)
                         .values_list("product__category_id", "day", "v")),
                    start, days, position, len(category_ids))
        rolled = own.copy()
        for pk in category_ids:  # add each category's own sales to every ancestor's
            seen = {pk}
            parent = parents[pk]
            while parent is not None and parent not in seen:
                rolled[position[parent]] += own[position[pk]]
                seen.add(parent)
                parent = parents.get(parent)
        keys += [(Scope.CATEGORY.value, pk) for pk in category_ids]
        blocks.append(rolled)

    if product_ids:
        position = {pk: i for i, pk in enumerate(product_ids)}
        rows = list(sales.filter(product_id__in=product_ids).values("product_id", "day").annotate(v=total_sum)
                    .values_list("product_id", "day", "v"))
        keys += [(Scope.PRODUCT.value, pk) for pk in product_ids]
        blocks.append(_fill(rows, start, days, position, len(product_ids)))

    return SeriesPanel(start=start, end=end, keys=keys, values=np.vstack(blocks))


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
