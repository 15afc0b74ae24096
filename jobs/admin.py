from django.contrib import admin

from .models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress", "message", "submitted_by", "submitted_at", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("=id", "kind")
    raw_id_fields = ("submitted_by",)
    readonly_fields = ("submitted_at", "started_at", "finished_at", "heartbeat_at", "attempts")
