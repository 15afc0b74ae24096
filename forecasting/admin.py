from django.contrib import admin

from .models import ForecastRun, ForecastSeries


@admin.register(ForecastRun)
class ForecastRunAdmin(admin.ModelAdmin):
    list_display = ("id", "measure", "horizon", "series_count", "history_start", "history_end", "created_at", "job_id")
    list_filter = ("measure",)
    readonly_fields = [f.name for f in ForecastRun._meta.fields]

    def has_add_permission(self, request):
        return False  # runs come from the forecasting.run job


@admin.register(ForecastSeries)
class ForecastSeriesAdmin(admin.ModelAdmin):
    list_display = ("id", "run", "scope", "category", "product", "model", "sparse", "mase", "baseline_mase",
                    "coverage")
    list_filter = ("scope", "model", "sparse", "run")
    list_select_related = ("run", "category", "product")
    raw_id_fields = ("run", "category", "product")
    search_fields = ("product__sku", "category__name")

    def has_add_permission(self, request):
        return False
