"""The answers of the analytics reads (analytics.selectors): plain frozen values, in pounds and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Sales:
    revenue: Decimal
    orders: int
    units: int
    customers: int
    average_order_value: Decimal | None
    conversion_rate: float | None
    views: int
    purchases: int
    returned_units: int
    returned_value: Decimal


@dataclass(frozen=True)
class SalesSummary:
    date_from: date
    date_to: date
    current: Sales
    previous: Sales
    previous_from: date
    previous_to: date


@dataclass(frozen=True)
class Series:
    interval: str
    dates: list[date]
    revenue: list[Decimal]
    units: list[int]
    orders: list[int]


@dataclass(frozen=True)
class Funnel:
    views: int
    add_to_carts: int
    purchases: int
    view_to_cart_rate: float | None
    cart_to_purchase_rate: float | None
    view_to_purchase_rate: float | None


@dataclass(frozen=True)
class TopProduct:
    product_id: int
    sku: str
    name: str
    revenue: Decimal
    units: int
    views: int


@dataclass(frozen=True)
class CategoryRevenue:
    category_id: int
    name: str
    revenue: Decimal
    share: float | None


@dataclass(frozen=True)
class CategoryShare:
    parent_id: int | None
    total_revenue: Decimal
    categories: list[CategoryRevenue]


@dataclass(frozen=True)
class NewVsReturning:
    interval: str
    dates: list[date]
    new: list[int]
    returning: list[int]
    total_new: int
    total_returning: int


@dataclass(frozen=True)
class CohortRetention:
    cohort_months: list[date]
    sizes: list[int]
    # customers[i][k]: customers of cohort i who bought in its k-th month (k = 0 is the cohort month).
    customers: list[list[int]] = field(default_factory=list)
    rates: list[list[float]] = field(default_factory=list)
