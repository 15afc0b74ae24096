from django.contrib import admin

from dashboard import formats

from .models import Segment, SegmentationRun, SegmentMembership


class SegmentFigures:
    """A segment's means as people read them: days and orders to one decimal, money in the shop's currency."""

    @admin.display(description="customers", ordering="size")
    def customers(self, obj):
        return formats.count(obj.size)

    @admin.display(description="mean recency", ordering="recency")
    def mean_recency(self, obj):
        return formats.mean(obj.recency, "days")

    @admin.display(description="mean orders", ordering="frequency")
    def mean_orders(self, obj):
        return formats.mean(obj.frequency)

    @admin.display(description="mean spend", ordering="monetary")
    def mean_spend(self, obj):
        return formats.money(obj.monetary)

    @admin.display(description="revenue share", ordering="revenue_share")
    def share_of_revenue(self, obj):
        return formats.share(obj.revenue_share)

    @admin.display(description="mean R / F / M score")
    def scores(self, obj):
        return f"{obj.r_score:.1f} / {obj.f_score:.1f} / {obj.m_score:.1f}"


class SegmentInline(SegmentFigures, admin.TabularInline):
    model = Segment
    extra = 0
    can_delete = False
    fields = ("label", "customers", "mean_recency", "mean_orders", "mean_spend", "scores", "share_of_revenue")
    readonly_fields = fields


@admin.register(SegmentationRun)
class SegmentationRunAdmin(admin.ModelAdmin):
    list_display = ("id", "algorithm", "status", "as_of", "customer_count", "k", "silhouette_score", "finished_at")
    list_filter = ("algorithm", "status")
    readonly_fields = ("job", "status", "algorithm", "params", "features", "as_of", "customers", "k", "silhouette",
                       "silhouette_by_k", "sizes", "timings", "members_pruned", "created_at", "finished_at")
    inlines = [SegmentInline]

    @admin.display(description="customers", ordering="customers")
    def customer_count(self, obj):
        return formats.count(obj.customers)

    @admin.display(description="silhouette", ordering="silhouette")
    def silhouette_score(self, obj):
        return "–" if obj.silhouette is None else f"{obj.silhouette:.3f}"


@admin.register(Segment)
class SegmentAdmin(SegmentFigures, admin.ModelAdmin):
    list_display = ("id", "run", "label", "customers", "mean_recency", "mean_orders", "mean_spend", "share_of_revenue")
    list_filter = ("label",)
    list_select_related = ("run",)
    raw_id_fields = ("run",)


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "segment", "rfm_score", "recency", "frequency", "spend")
    list_select_related = ("customer", "segment")
    raw_id_fields = ("run", "segment", "customer")
    search_fields = ("=customer__external_id",)
    # A million rows: no COUNT(*) on every page.
    show_full_result_count = False

    @admin.display(description="spend", ordering="monetary")
    def spend(self, obj):
        return formats.money(obj.monetary)
