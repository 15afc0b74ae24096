from django.contrib import admin

from dashboard import formats

from .models import (
    CohortMonthly,
    ProductDaily,
    ProductMonthly,
    ProductScope,
    ProductWeekly,
    PurchaserDay,
    PurchaserGap,
    ScopeBuyersDaily,
    ScopeDaily,
)


class _ReadOnly(admin.ModelAdmin):
    # Derived data: rebuilt by `manage.py rebuild_rollups`, never edited by hand.
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="revenue", ordering="revenue_pence")
    def revenue(self, obj):
        return formats.pence(obj.revenue_pence)


@admin.register(ProductDaily)
class ProductDailyAdmin(_ReadOnly):
    list_display = ("day", "product", "views", "add_to_carts", "purchases", "units", "revenue", "orders")
    raw_id_fields = ("product",)
    list_select_related = ("product",)
    date_hierarchy = "day"


@admin.register(ScopeDaily)
class ScopeDailyAdmin(_ReadOnly):
    list_display = ("day", "scope", "views", "add_to_carts", "purchases", "units", "revenue", "orders")
    list_filter = ("scope",)
    date_hierarchy = "day"


@admin.register(PurchaserGap)
class PurchaserGapAdmin(_ReadOnly):
    list_display = ("scope", "day", "prev_day", "customers")
    date_hierarchy = "day"


@admin.register(CohortMonthly)
class CohortMonthlyAdmin(_ReadOnly):
    list_display = ("cohort_month", "month", "customers")


@admin.register(ProductScope)
class ProductScopeAdmin(_ReadOnly):
    list_display = ("product", "scope")
    raw_id_fields = ("product",)
    list_filter = ("scope",)


@admin.register(PurchaserDay)
class PurchaserDayAdmin(_ReadOnly):
    list_display = ("scope", "customer", "day", "prev_day")
    raw_id_fields = ("customer",)
    date_hierarchy = "day"


@admin.register(ProductMonthly)
class ProductMonthlyAdmin(_ReadOnly):
    list_display = ("month", "product", "views", "units", "revenue")
    raw_id_fields = ("product",)
    list_select_related = ("product",)


@admin.register(ProductWeekly)
class ProductWeeklyAdmin(_ReadOnly):
    list_display = ("week", "product", "views", "units", "revenue")
    raw_id_fields = ("product",)
    list_select_related = ("product",)


@admin.register(ScopeBuyersDaily)
class ScopeBuyersDailyAdmin(_ReadOnly):
    list_display = ("scope", "day", "customers", "new", "first_in_week", "first_in_month")
    list_filter = ("scope",)
    date_hierarchy = "day"
