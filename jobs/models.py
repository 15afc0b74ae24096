from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q


class JobStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINISHED_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """One asynchronous run (training, segmentation, forecast): the only record of it."""

    kind = models.CharField(max_length=64, db_index=True)
    # Cleaned parameters; dates and decimals are stored as ISO strings / strings.
    params = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=500, blank=True, default="")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    submitted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When it last entered QUEUED (submit, or re-queued by the reaper): a job never waits forever.
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # What the run produced, e.g. ("recommender.modelversion", 12).
    result_type = models.CharField(max_length=64, blank=True, default="")
    result_id = models.BigIntegerField(null=True, blank=True)
    # How a run that succeeded came out, as a code clients branch on (each kind documents its codes), e.g.
    # recommender.train's ACTIVATED / REJECTED; blank for kinds that have none.
    result_code = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_0_to_1"),
        ]
        indexes = [models.Index(fields=["kind", "status"], name="job_kind_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES
