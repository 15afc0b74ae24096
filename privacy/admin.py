from django.contrib import admin

from .models import Erasure


@admin.register(Erasure)
class ErasureAdmin(admin.ModelAdmin):
    """The record of erasures, read-only (erase with `eraseCustomer` or `manage.py erase_customer`)."""

    list_display = ("subject", "erased_at", "times", "events", "memberships", "artifacts", "admin_log_entries")
    readonly_fields = list_display

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
