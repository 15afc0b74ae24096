"""Net daily sales: the demand series that forecasting models, read from the daily rollups.

Net of returns, unlike the reports in analytics.selectors: units bought minus units returned, and purchase
value minus returned value (in pence). Only days with a purchase or a return have a cell; the caller fills
zeros.
"""

from __future__ import annotations

from datetime import date

from django.db.models import F, Max, Min, Q, Sum

from .models import ALL_SCOPE, ProductDaily, ScopeDaily

NET_MEASURES = ("units", "revenue")


def _net(measure: str):
    if measure not in NET_MEASURES:
        raise ValueError(f"measure must be one of {', '.join(NET_MEASURES)}")
    if measure == "units":
        return F("units") - F("returned_units")
    return F("revenue_pence") - F("returned_pence")


_SALE_CELLS = Q(purchases__gt=0) | Q(returns__gt=0)


def net_sales_days() -> tuple[date, date] | None:
    """The first and last shop-local day with a purchase or a return, or None when there is none."""
    bounds = ScopeDaily.objects.filter(_SALE_CELLS, scope=ALL_SCOPE).aggregate(first=Min("day"), last=Max("day"))
    return None if bounds["first"] is None else (bounds["first"], bounds["last"])


def scope_net_sales(*, measure: str, date_from: date, date_to: date,
                    scopes: list[int]) -> list[tuple[int, date, int]]:
    """(scope, day, net value) for the given scopes' days with sales: scope ALL_SCOPE is the whole shop, a
    category id is that category and everything below it."""
    rows = ScopeDaily.objects.filter(_SALE_CELLS, day__range=(date_from, date_to), scope__in=scopes)
    return list(rows.annotate(v=_net(measure)).values_list("scope", "day", "v"))


def product_net_sales(*, measure: str, date_from: date, date_to: date,
                      product_ids: list[int]) -> list[tuple[int, date, int]]:
    """(product id, day, net value) for the given products' days with sales."""
    rows = ProductDaily.objects.filter(_SALE_CELLS, day__range=(date_from, date_to), product_id__in=product_ids)
    return list(rows.annotate(v=_net(measure)).values_list("product_id", "day", "v"))


def top_selling_product_ids(*, limit: int | None, date_from: date | None = None) -> list[int]:
    """Products by net units sold (from ``date_from``), best first, ties by id; ``limit=None``: every product
    with positive net units."""
    rows = ProductDaily.objects.filter(_SALE_CELLS)
    if date_from is not None:
        rows = rows.filter(day__gte=date_from)
    ids = (rows.values("product_id").annotate(net=Sum(_net("units"))).filter(net__gt=0)
           .order_by("-net", "product_id").values_list("product_id", flat=True))
    return list(ids if limit is None else ids[:limit])
