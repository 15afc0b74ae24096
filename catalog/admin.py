from django.contrib import admin

from .models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    raw_id_fields = ("parent",)
    list_select_related = ("parent",)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "brand", "price", "currency", "stock", "is_active", "updated_at")
    list_filter = ("is_active", "currency", "category")
    search_fields = ("sku", "name", "brand")
    raw_id_fields = ("category",)
    list_select_related = ("category",)
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False
