from django.contrib import admin

from .models import Customer, Event, ImportReport


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "country", "signed_up_at", "created_at")
    list_filter = ("country",)
    search_fields = ("=external_id",)
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    # Millions of rows: exact-match search on indexed columns, raw-id widgets, no full count,
    # and a date hierarchy instead of a free-form date filter.
    list_display = ("event_id", "kind", "occurred_at", "customer", "product", "quantity", "unit_price", "rating")
    list_filter = ("kind",)
    search_fields = ("=event_id", "=order_ref", "=customer__external_id", "=product__sku")
    raw_id_fields = ("customer", "product")
    list_select_related = ("customer", "product")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    list_per_page = 50


@admin.register(ImportReport)
class ImportReportAdmin(admin.ModelAdmin):
    # A record of what happened: read-only.
    list_display = ("started_at", "kind", "source", "status", "rows_read", "rows_stored", "rows_rejected",
                    "rows_duplicate")
    list_filter = ("kind", "status")
    search_fields = ("source",)
    readonly_fields = [f.name for f in ImportReport._meta.fields]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
