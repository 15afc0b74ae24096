from django.contrib import admin, messages

from .models import Job
from .services import JobAlreadyFinished, job_cancel


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress", "message", "attempts", "submitted_by", "submitted_at",
                    "finished_at", "error_code", "result_code")
    list_filter = ("kind", "status", "error_code", "result_code")
    search_fields = ("=id", "kind")
    raw_id_fields = ("submitted_by",)
    # A job's state is written by the machinery only; staff cancel through the action (or cancelJob).
    readonly_fields = ("kind", "params", "status", "progress", "message", "submitted_by", "submitted_at",
                       "queued_at", "started_at", "finished_at", "heartbeat_at", "attempts", "cancel_requested",
                       "error_code", "error_message", "result_type", "result_id", "result_code")
    actions = ["cancel_jobs"]

    def has_add_permission(self, request):
        return False  # submit through GraphQL or a periodic task, so parameters are validated

    @admin.action(description="Cancel selected jobs (queued: at once; running: at the next progress step)",
                  permissions=["change"])
    def cancel_jobs(self, request, queryset):
        cancelled = 0
        for job_id in queryset.values_list("id", flat=True):
            try:
                job_cancel(job_id=job_id)
                cancelled += 1
            except JobAlreadyFinished:
                pass
        self.message_user(request, f"Cancel requested for {cancelled} job(s).", messages.SUCCESS)
