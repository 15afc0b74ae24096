from django.contrib import admin

from .models import Customer, Event


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
