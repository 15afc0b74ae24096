"""Rollup tables: derived from behavior.Event, rebuilt by `manage.py rebuild_rollups`, kept current by
`analytics.services.rollups_refresh` (called by ingestion). Nothing else writes them.

A *scope* is a category id (that category and everything below it) or ALL_SCOPE (0, the whole shop).
Days are shop-local (settings.SHOP_TIME_ZONE). Money is stored in integer pence, summed exactly.
"""

from django.db import models

ALL_SCOPE = 0


class ProductScope(models.Model):
    """Which scopes a product's events count in: 0 and its category with every ancestor."""

    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="analytics_scopes")
    scope = models.IntegerField()

    class Meta:
        verbose_name = "product's category"
        verbose_name_plural = "products' categories"
        constraints = [models.UniqueConstraint(fields=["product", "scope"], name="product_scope_unique")]
        indexes = [models.Index(fields=["scope"], name="product_scope_scope_idx")]


class _Additive(models.Model):
    """Sums that add up across days and products."""

    views = models.IntegerField(default=0)
    add_to_carts = models.IntegerField(default=0)
    purchases = models.IntegerField(default=0, help_text="purchase lines")
    units = models.BigIntegerField(default=0)
    revenue_pence = models.BigIntegerField(default=0, help_text="gross: sum of quantity x unit price")
    returns = models.IntegerField(default=0, help_text="return lines")
    returned_units = models.BigIntegerField(default=0)
    returned_pence = models.BigIntegerField(default=0)
    # Distinct order keys among this cell's purchase lines. An order is counted on each shop-local day
    # it has lines on (order keys are per day), so this adds up across days, but not across products.
    orders = models.IntegerField(default=0)

    class Meta:
        abstract = True


class ProductDaily(_Additive):
    day = models.DateField()
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "product sales by day"
        verbose_name_plural = "product sales by day"
        constraints = [models.UniqueConstraint(fields=["day", "product"], name="product_daily_unique")]
        indexes = [
            models.Index(fields=["product", "day"], name="product_daily_product_idx"),
            # Covering (PostgreSQL): top products over a few days is an index-only scan.
            models.Index(fields=["day", "product"], include=["revenue_pence", "units", "views"],
                         name="product_daily_top_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.day}"


class _TopSums(models.Model):
    """Only what top products ranks by: narrow rows, so a year of them is a few hundred pages."""

    revenue_pence = models.BigIntegerField(default=0)
    units = models.BigIntegerField(default=0)
    views = models.IntegerField(default=0)

    class Meta:
        abstract = True


class ProductMonthly(_TopSums):
    """ProductDaily summed by calendar month: top products over long ranges read months, not days."""

    month = models.DateField()
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "product sales by month"
        verbose_name_plural = "product sales by month"
        constraints = [models.UniqueConstraint(fields=["month", "product"], name="product_monthly_unique")]
        indexes = [models.Index(fields=["month", "product"], include=["revenue_pence", "units", "views"],
                                name="product_monthly_top_idx")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.month:%Y-%m}"


class ProductWeekly(_TopSums):
    """ProductDaily summed by week (Monday first): the whole weeks left around the whole months."""

    week = models.DateField()
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "product sales by week"
        verbose_name_plural = "product sales by week"
        constraints = [models.UniqueConstraint(fields=["week", "product"], name="product_weekly_unique")]
        indexes = [models.Index(fields=["week", "product"], include=["revenue_pence", "units", "views"],
                                name="product_weekly_top_idx")]

    def __str__(self) -> str:
        return f"{self.product_id} week of {self.week}"


class ScopeDaily(_Additive):
    """ProductDaily summed over a scope, with orders counted distinct within the scope."""

    day = models.DateField()
    scope = models.IntegerField()

    class Meta:
        verbose_name = "category sales by day"
        verbose_name_plural = "category sales by day"
        constraints = [models.UniqueConstraint(fields=["scope", "day"], name="scope_daily_unique")]

    def __str__(self) -> str:
        return f"scope {self.scope} {self.day}"


class PurchaserDay(models.Model):
    """One row per (scope, customer, day with a purchase in the scope), with the customer's previous
    purchase day in the same scope. A customer bought in [a, b] iff exactly one of their rows there has
    prev_day null or < a, which makes distinct customers a plain count (see PurchaserGap)."""

    scope = models.IntegerField()
    customer = models.ForeignKey("behavior.Customer", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    prev_day = models.DateField(null=True)

    class Meta:
        verbose_name = "customer's purchase day"
        verbose_name_plural = "customers' purchase days"
        constraints = [
            models.UniqueConstraint(fields=["customer", "scope", "day"], name="purchaser_day_unique"),
        ]
        indexes = [models.Index(fields=["scope", "day"], name="purchaser_day_scope_idx")]


class PurchaserGap(models.Model):
    """PurchaserDay counted by (scope, day, prev_day): a few thousand rows answer distinct customers,
    new versus returning, for any range."""

    scope = models.IntegerField()
    day = models.DateField()
    prev_day = models.DateField(null=True)
    customers = models.IntegerField()

    class Meta:
        verbose_name = "gap between purchases"
        verbose_name_plural = "gaps between purchases"
        # Covering: the range sums are index-only scans.
        indexes = [models.Index(fields=["scope", "day", "prev_day", "customers"], name="purchaser_gap_cover_idx")]


class ScopeBuyersDaily(models.Model):
    """PurchaserDay counted per (scope, day): the customers buying that day, how many for the first time
    ever, and how many for the first time in that day's week (Monday first) and month. Summing a column
    over a whole week or month gives that bucket's distinct customers."""

    scope = models.IntegerField()
    day = models.DateField()
    customers = models.IntegerField()
    new = models.IntegerField()
    first_in_week = models.IntegerField()
    first_in_month = models.IntegerField()

    class Meta:
        verbose_name = "buyers by day"
        verbose_name_plural = "buyers by day"
        constraints = [models.UniqueConstraint(fields=["scope", "day"], name="scope_buyers_daily_unique")]


class CohortMonthly(models.Model):
    """Customers whose first purchase was in cohort_month and who bought in month."""

    cohort_month = models.DateField()
    month = models.DateField()
    customers = models.IntegerField()

    class Meta:
        verbose_name = "cohort by month"
        verbose_name_plural = "cohorts by month"
        constraints = [models.UniqueConstraint(fields=["cohort_month", "month"], name="cohort_monthly_unique")]


class PendingRefresh(models.Model):
    """A window of stored events whose rollup refresh was handed to a worker (ingestEvents with a broker).
    `analytics.services.rollups_refresh_pending` drains every row in one coalesced refresh."""

    start = models.DateTimeField()
    end = models.DateTimeField()
    product_ids = models.JSONField(null=True, blank=True, help_text="null: any product")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}"
