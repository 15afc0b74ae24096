from django.db import models
from django.db.models import Q


class Measure(models.TextChoices):
    UNITS = "units", "Units (net of returns)"
    REVENUE = "revenue", "Revenue (net of returns)"


class Scope(models.TextChoices):
    TOTAL = "total", "Shop total"
    CATEGORY = "category", "Category (with its descendants)"
    PRODUCT = "product", "Product"


class ForecastRun(models.Model):
    """One successful forecasting run. Written whole at the end of the job: the latest one per measure is
    served, so a failed or cancelled run (which writes nothing here) changes nothing."""

    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    measure = models.CharField(max_length=8, choices=Measure.choices, default=Measure.UNITS)
    horizon = models.PositiveSmallIntegerField()
    n_windows = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField(help_text="Nominal coverage of the intervals, percent.")
    params = models.JSONField(default=dict, blank=True)
    history_start = models.DateField(help_text="First day of every series (shop time zone).")
    history_end = models.DateField(help_text="Last day of history; forecasts start the day after.")
    series_count = models.PositiveIntegerField(default=0)
    # Counts of chosen models, median MASE ratios and other figures of the run, for people.
    summary = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(measure__in=Measure.values), name="forecastrun_measure_valid"),
            models.CheckConstraint(condition=Q(horizon__gte=1), name="forecastrun_horizon_positive"),
            models.CheckConstraint(condition=Q(level__gt=0) & Q(level__lt=100), name="forecastrun_level_0_100"),
            models.CheckConstraint(condition=Q(history_end__gte=models.F("history_start")),
                                   name="forecastrun_history_ordered"),
        ]

    def __str__(self) -> str:
        return f"forecast run #{self.pk} ({self.measure}, {self.series_count} series, to {self.history_end})"


class ForecastSeries(models.Model):
    """One series of a run: the chosen model, its backtest scores beside the baseline's, and the forecast."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="series")
    scope = models.CharField(max_length=8, choices=Scope.choices)
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    product = models.ForeignKey("catalog.Product", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="+")
    model = models.CharField(max_length=32)
    sparse = models.BooleanField(default=False)
    adi = models.FloatField(null=True, blank=True, help_text="Average demand interval (days); null if no sales.")
    # Backtest scores (mean over the origins) of the chosen model and of seasonal naive; null when undefined.
    mase = models.FloatField(null=True, blank=True)
    smape = models.FloatField(null=True, blank=True)
    coverage = models.FloatField(null=True, blank=True)
    baseline_mase = models.FloatField(null=True, blank=True)
    baseline_smape = models.FloatField(null=True, blank=True)
    baseline_coverage = models.FloatField(null=True, blank=True)
    # The last days of history (ending on run.history_end) and the forecast (from the day after).
    history = models.JSONField(default=list)
    point = models.JSONField(default=list)
    lower = models.JSONField(default=list)
    upper = models.JSONField(default=list)

    class Meta:
        verbose_name = "forecast series"
        verbose_name_plural = "forecast series"
        ordering = ["run", "scope", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=Scope.values), name="forecastseries_scope_valid"),
            models.CheckConstraint(
                condition=(Q(scope=Scope.TOTAL, category__isnull=True, product__isnull=True)
                           | Q(scope=Scope.CATEGORY, category__isnull=False, product__isnull=True)
                           | Q(scope=Scope.PRODUCT, category__isnull=True, product__isnull=False)),
                name="forecastseries_scope_matches_key",
            ),
            models.UniqueConstraint(fields=["run"], condition=Q(scope=Scope.TOTAL), name="forecastseries_one_total"),
            models.UniqueConstraint(fields=["run", "category"], name="forecastseries_unique_category"),
            models.UniqueConstraint(fields=["run", "product"], name="forecastseries_unique_product"),
            models.CheckConstraint(condition=Q(coverage__isnull=True) | Q(coverage__gte=0, coverage__lte=1),
                                   name="forecastseries_coverage_0_1"),
        ]

    def __str__(self) -> str:
        key = self.product_id or self.category_id or "total"
        return f"{self.scope} {key}: {self.model} (run {self.run_id})"
