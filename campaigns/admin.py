from django.contrib import admin

from .models import Campaign, CampaignMember, CampaignPick


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "status", "goal", "members_count", "holdout_share", "starts_at", "ends_at",
                    "results_updated_at")
    list_filter = ("status", "goal", "picks_from")
    search_fields = ("name",)
    raw_id_fields = ("run", "category", "uplift_source", "created_by", "launch_job")
    filter_horizontal = ("segments",)
    readonly_fields = ("status", "created_by", "created_at", "launch_job", "launched_at", "ended_at",
                       "model_version_id", "members_count", "launch_timings", "results", "results_updated_at",
                       "results_pending", "uplift")

    def has_change_permission(self, request, obj=None):
        # Launched members, groups and picks are frozen: only a draft may change, as in the API.
        if obj is not None and obj.status != "DRAFT":
            return False
        return super().has_change_permission(request, obj)


@admin.register(CampaignMember)
class CampaignMemberAdmin(admin.ModelAdmin):
    list_display = ("id", "campaign", "customer", "group")
    list_filter = ("group",)
    list_select_related = ("campaign", "customer")
    raw_id_fields = ("campaign", "customer")
    search_fields = ("=customer__external_id",)
    show_full_result_count = False  # a million rows: no COUNT(*) on every page

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CampaignPick)
class CampaignPickAdmin(admin.ModelAdmin):
    list_display = ("id", "member", "product", "rank", "score")
    raw_id_fields = ("member", "product")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False
