from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelStatus(models.TextChoices):
    # Trained and evaluated; passed the gate or was not worse than the baselines (may or may not be active).
    READY = "READY"
    # Trained and evaluated but rejected or not judgeable by the gate: never activated automatically.
    REJECTED = "REJECTED"


class GateStatus(models.TextChoices):
    # engine.gate.GateStatus's values: see its docstring and docs/recommender.md
    PASSED = "PASSED"
    NOT_WORSE = "NOT_WORSE"
    REJECTED = "REJECTED"
    NOT_JUDGEABLE = "NOT_JUDGEABLE"


ACTIVATABLE_GATES = (GateStatus.PASSED, GateStatus.NOT_WORSE)


class ModelVersion(models.Model):
    """One trained recommender: what it was trained on, how it scored, and where its arrays are.

    The arrays (embeddings, biases, id maps, feature vectors) live in Django's default storage as an
    .npz file, so a worker and a web process on different machines share them; the row keeps only
    the path. A version row is written only when a training run has finished.
    """

    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=ModelStatus.choices)
    is_active = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    primary_metric = models.CharField(max_length=32, default="ndcg@10")
    beats_baselines = models.BooleanField(default=False)  # may be activated without an override (gate passed/not worse)
    # the gate's verdict (blank: a version from before the per-question paired gate)
    gate = models.CharField(max_length=16, choices=GateStatus.choices, blank=True, default="")
    data_start = models.DateTimeField(null=True, blank=True)
    data_end = models.DateTimeField(null=True, blank=True)
    test_start = models.DateTimeField(null=True, blank=True)
    n_users = models.PositiveIntegerField(default=0)
    n_items = models.PositiveIntegerField(default=0)
    n_events = models.PositiveIntegerField(default=0)
    info = models.JSONField(default=dict, blank=True)  # epochs, validation history, blend weight, counts
    timings = models.JSONField(default=dict, blank=True)  # seconds per stage
    artifact = models.CharField(max_length=300)  # path in default_storage
    artifact_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_model_version"),
            models.CheckConstraint(condition=Q(status__in=ModelStatus.values), name="model_version_status_valid"),
        ]

    def __str__(self) -> str:
        return f"recommender v{self.pk} {self.status}{' active' if self.is_active else ''}"


class ModelActivation(models.Model):
    """Who put which version in service, when, and whether it overrode the baseline gate."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="activations")
    previous = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")  # null: the training job itself (gate passed)
    override = models.BooleanField(default=False)
    reason = models.CharField(max_length=300, blank=True, default="")
    activated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-activated_at", "-id"]

    def __str__(self) -> str:
        return f"v{self.version_id} at {self.activated_at:%Y-%m-%d %H:%M}"
