"""Analytics queries: parse the arguments, call one selector, return its answer. Chart data comes back
as parallel lists (dates, revenue, ...), not one object per point."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from api.errors import ClientError, ClientErrorsFrom
from api.ids import required_database_id
from api.permissions import staff_with_perm
from catalog.models import Product

from . import selectors
from .error_codes import AnalyticsError, AnalyticsErrorCode

# Staff with behavior.view_event; a selector's AnalyticsError reaches the client with its code.
PERM = [*staff_with_perm("behavior.view_event"), ClientErrorsFrom(AnalyticsError)]
From = Annotated[date, strawberry.argument(name="from", description="First shop-local day, included.")]
To = Annotated[date, strawberry.argument(name="to", description="Last shop-local day, included.")]


@strawberry.enum
class Interval(Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


@strawberry.enum
class TopProductsBy(Enum):
    REVENUE = "REVENUE"
    UNITS = "UNITS"
    VIEWS = "VIEWS"


@strawberry.type
class SalesFigures:
    revenue: Decimal = strawberry.field(description="Gross: purchase lines' quantity x unit price.")
    orders: int = strawberry.field(description="Distinct order references per shop-local day.")
    units: int
    customers: int = strawberry.field(description="Distinct identified customers with a purchase.")
    average_order_value: Decimal | None = strawberry.field(description="revenue / orders.")
    conversion_rate: float | None = strawberry.field(description="Purchase lines / product views.")
    views: int
    purchases: int = strawberry.field(description="Purchase lines.")
    returned_units: int
    returned_value: Decimal = strawberry.field(description="Returns dated when they happen; not netted.")


@strawberry.type
class SalesSummary(SalesFigures):
    date_from: date = strawberry.field(name="from")
    date_to: date = strawberry.field(name="to")
    previous: SalesFigures = strawberry.field(description="The period of equal length just before.")
    previous_from: date
    previous_to: date


@strawberry.type
class SalesSeries:
    interval: Interval
    dates: list[date] = strawberry.field(description="Each bucket's first day (Monday for weeks).")
    revenue: list[Decimal]
    units: list[int]
    orders: list[int]


@strawberry.type
class Funnel:
    views: int
    add_to_carts: int
    purchases: int
    view_to_cart_rate: float | None
    cart_to_purchase_rate: float | None
    view_to_purchase_rate: float | None


@strawberry.type
class TopProduct:
    sku: str
    name: str
    revenue: Decimal
    units: int
    views: int


@strawberry.type
class CategoryRevenue:
    category_id: strawberry.ID
    name: str
    revenue: Decimal = strawberry.field(description="The category and everything below it.")
    share: float | None = strawberry.field(description="Of the parent's revenue (the shop's at top level).")


@strawberry.type
class CategoryShare:
    parent_id: strawberry.ID | None
    total_revenue: Decimal
    categories: list[CategoryRevenue]


@strawberry.type
class NewVsReturning:
    interval: Interval
    dates: list[date]
    new: list[int] = strawberry.field(description="Customers whose first purchase ever is in the bucket.")
    returning: list[int] = strawberry.field(description="Customers buying in the bucket who had bought before.")
    total_new: int
    total_returning: int


@strawberry.type
class CohortRetention:
    cohort_months: list[date]
    sizes: list[int]
    customers: list[list[int]] = strawberry.field(description="[cohort][months since its first month]")
    rates: list[list[float]]


def _figures(sales: selectors.Sales) -> dict:
    return {
        "revenue": sales.revenue, "orders": sales.orders, "units": sales.units, "customers": sales.customers,
        "average_order_value": sales.average_order_value, "conversion_rate": sales.conversion_rate,
        "views": sales.views, "purchases": sales.purchases, "returned_units": sales.returned_units,
        "returned_value": sales.returned_value,
    }


def _category(category_id: strawberry.ID | None) -> int | None:
    if category_id is None:
        return None
    return required_database_id(category_id, message="categoryId must be a category's database id.")


def _product(sku: str | None) -> int | None:
    if sku is None:
        return None
    product_id = Product.objects.filter(sku=sku).values_list("pk", flat=True).first()
    if product_id is None:
        raise ClientError(AnalyticsErrorCode.UNKNOWN_PRODUCT, f"No product with SKU {sku!r}.")
    return product_id


@strawberry.type
class Query:
    @strawberry.field(extensions=PERM, description="KPIs for a period and the period of equal length before.")
    def sales_summary(self, date_from: From, date_to: To, category_id: strawberry.ID | None = None) -> SalesSummary:
        summary = selectors.sales_summary(date_from=date_from, date_to=date_to, category_id=_category(category_id))
        return SalesSummary(
            **_figures(summary.current), date_from=summary.date_from, date_to=summary.date_to,
            previous=SalesFigures(**_figures(summary.previous)), previous_from=summary.previous_from,
            previous_to=summary.previous_to,
        )

    @strawberry.field(extensions=PERM, description="Revenue, units and orders per day, week or month.")
    def sales_series(self, date_from: From, date_to: To, interval: Interval = Interval.DAY,
                     product_sku: str | None = None, category_id: strawberry.ID | None = None) -> SalesSeries:
        series = selectors.sales_series(date_from=date_from, date_to=date_to, interval=interval.value,
                                        product_id=_product(product_sku), category_id=_category(category_id))
        return SalesSeries(interval=interval, dates=series.dates, revenue=series.revenue, units=series.units,
                           orders=series.orders)

    @strawberry.field(extensions=PERM, description="Views, add-to-carts and purchase lines, with each step's rate.")
    def funnel(self, date_from: From, date_to: To, product_sku: str | None = None,
               category_id: strawberry.ID | None = None) -> Funnel:
        steps = selectors.funnel(date_from=date_from, date_to=date_to, product_id=_product(product_sku),
                                 category_id=_category(category_id))
        return Funnel(**vars(steps))

    @strawberry.field(extensions=PERM, description="Best products in the period; ties go to the older product.")
    def top_products(self, date_from: From, date_to: To, by: TopProductsBy = TopProductsBy.REVENUE,
                     first: int = 10) -> list[TopProduct]:
        rows = selectors.top_products(date_from=date_from, date_to=date_to, by=by.value, first=first)
        return [TopProduct(sku=r.sku, name=r.name, revenue=r.revenue, units=r.units, views=r.views) for r in rows]

    @strawberry.field(extensions=PERM, description="Each child category's share of its parent's revenue.")
    def category_share(self, date_from: From, date_to: To, parent_id: strawberry.ID | None = None) -> CategoryShare:
        share = selectors.category_share(date_from=date_from, date_to=date_to, parent_id=_category(parent_id))
        return CategoryShare(
            parent_id=share.parent_id, total_revenue=share.total_revenue,
            categories=[CategoryRevenue(category_id=c.category_id, name=c.name, revenue=c.revenue, share=c.share)
                        for c in share.categories],
        )

    @strawberry.field(extensions=PERM, description="New versus returning customers per day, week or month.")
    def new_vs_returning_customers(self, date_from: From, date_to: To, interval: Interval = Interval.MONTH,
                                   category_id: strawberry.ID | None = None) -> NewVsReturning:
        split = selectors.customers_new_returning(date_from=date_from, date_to=date_to, interval=interval.value,
                                                  category_id=_category(category_id))
        return NewVsReturning(interval=interval, dates=split.dates, new=split.new, returning=split.returning,
                              total_new=split.total_new, total_returning=split.total_returning)

    @strawberry.field(extensions=PERM, description="Monthly cohorts by first purchase and who came back when.")
    def cohort_retention(self, date_from: From, date_to: To) -> CohortRetention:
        cohorts = selectors.cohort_retention(date_from=date_from, date_to=date_to)
        return CohortRetention(cohort_months=cohorts.cohort_months, sizes=cohorts.sizes,
                               customers=cohorts.customers, rates=cohorts.rates)
