from django.contrib import admin

from .models import Segment, SegmentationRun, SegmentMembership


class SegmentInline(admin.TabularInline):
    model = Segment
    extra = 0
    can_delete = False
    fields = ("label", "size", "recency", "frequency", "monetary", "r_score", "f_score", "m_score", "revenue_share")
    readonly_fields = fields


@admin.register(SegmentationRun)
class SegmentationRunAdmin(admin.ModelAdmin):
    list_display = ("id", "algorithm", "status", "as_of", "customers", "k", "silhouette", "finished_at")
    list_filter = ("algorithm", "status")
    readonly_fields = ("job", "status", "algorithm", "params", "features", "as_of", "customers", "k", "silhouette",
                       "silhouette_by_k", "sizes", "timings", "members_pruned", "created_at", "finished_at")
    inlines = [SegmentInline]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("id", "run", "label", "size", "recency", "frequency", "monetary", "revenue_share")
    list_filter = ("label",)
    list_select_related = ("run",)
    raw_id_fields = ("run",)


@admin.register(SegmentMembership)
class SegmentMembershipAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "segment", "rfm_score", "recency", "frequency", "monetary")
    list_select_related = ("customer", "segment")
    raw_id_fields = ("run", "segment", "customer")
    search_fields = ("=customer__external_id",)
    # A million rows: no COUNT(*) on every page.
    show_full_result_count = False
