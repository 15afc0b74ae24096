from collections.abc import Callable

from django.contrib import admin, messages

from .error_codes import RecommenderError
from .models import ModelActivation, ModelVersion
from .services import model_version_activate, served_discovery


def _headline(version: ModelVersion, figures: Callable[[dict], dict]) -> str:
    """The primary metric of the ranker ``figures`` picks from the version's metrics, or "-" if not recorded."""
    try:
        return f"{figures(version.metrics)[version.primary_metric]:.4f}"
    except (KeyError, TypeError):
        return "-"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "status", "is_active", "gate", "beats_baselines", "discovery", "popularity",
                    "next_basket", "buy_again", "n_users", "n_items", "job")
    list_filter = ("status", "is_active")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["activate_version"]

    @admin.display(description="discovery (served)")
    def discovery(self, obj):
        return _headline(obj, served_discovery)

    @admin.display(description="discovery (popularity)")
    def popularity(self, obj):
        return _headline(obj, lambda m: m["discovery"]["popularity"])

    @admin.display(description="next basket (served)")
    def next_basket(self, obj):
        return _headline(obj, lambda m: m["next_basket"]["served"])

    @admin.display(description="next basket (buy again)")
    def buy_again(self, obj):
        return _headline(obj, lambda m: m["next_basket"]["buy_again"])

    def has_add_permission(self, request):
        return False  # versions come from training jobs

    @admin.action(description="Activate the selected version (roll back/forward; overrides the gate, recorded)",
                  permissions=["change"])
    def activate_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        try:
            version = model_version_activate(version_id=queryset.get().pk, user=request.user, override=True,
                                             reason="admin action")
        except RecommenderError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"Version {version.pk} is now active.", messages.SUCCESS)


@admin.register(ModelActivation)
class ModelActivationAdmin(admin.ModelAdmin):
    list_display = ("id", "version", "previous", "activated_by", "override", "reason", "activated_at")
    list_filter = ("override",)
    readonly_fields = ("version", "previous", "activated_by", "override", "reason", "activated_at")

    def has_add_permission(self, request):
        return False
