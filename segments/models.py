from django.db import models
from django.db.models import Q


class Algorithm(models.TextChoices):
    KMEANS = "kmeans", "K-means"
    DBSCAN = "dbscan", "DBSCAN"


class RunStatus(models.TextChoices):
    # BUILDING while its segments and memberships are written; SUCCEEDED (served) or FAILED at the end.
    BUILDING = "BUILDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class SegmentationRun(models.Model):
    """One clustering of the customers as of a date. The latest SUCCEEDED run is the one served."""

    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.BUILDING)
    algorithm = models.CharField(max_length=10, choices=Algorithm.choices)
    params = models.JSONField(default=dict, blank=True)
    features = models.JSONField(default=list, blank=True)
    as_of = models.DateField()
    customers = models.PositiveIntegerField(default=0)
    k = models.PositiveSmallIntegerField(default=0)
    silhouette = models.FloatField(null=True, blank=True)
    # k -> silhouette of each candidate tried, when k was chosen automatically.
    silhouette_by_k = models.JSONField(default=dict, blank=True)
    sizes = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    # Memberships of old runs are pruned to bound the table; the run and its profiles stay.
    members_pruned = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-finished_at"], name="segrun_status_finished_idx")]

    def __str__(self) -> str:
        return f"{self.algorithm} run #{self.pk} as of {self.as_of} ({self.status})"


class Segment(models.Model):
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="segments")
    cluster = models.IntegerField(help_text="The algorithm's cluster number; -1 is DBSCAN noise.")
    label = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    # Profile: means over the members (recency in days, frequency in orders, monetary net of returns).
    recency = models.FloatField()
    frequency = models.FloatField()
    monetary = models.FloatField()
    views = models.FloatField(default=0)
    add_to_cart_rate = models.FloatField(default=0)
    category_breadth = models.FloatField(default=0)
    average_basket = models.FloatField(default=0)
    tenure = models.FloatField(default=0)
    r_score = models.FloatField(help_text="Mean R quintile score (1-5).")
    f_score = models.FloatField()
    m_score = models.FloatField()
    revenue_share = models.FloatField(help_text="Share of the run's net revenue (0-1).")

    class Meta:
        ordering = ["run", "-revenue_share", "id"]
        permissions = [("export_segment", "Can export a segment's audience")]
        constraints = [
            models.UniqueConstraint(fields=["run", "cluster"], name="segment_unique_cluster"),
            models.CheckConstraint(condition=Q(r_score__gte=0) & Q(r_score__lte=5), name="segment_r_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.size})"


class SegmentMembership(models.Model):
    """A customer's segment and RFM in one run (bulk-written; never edited)."""

    # A million rows per run are COPYed in one go, so the table carries only what pays for itself:
    # no single-column FK indexes ((run, customer) and (segment, customer) cover every lookup) and no
    # database FK constraints (each would be a per-row trigger lookup; checked, they tripled the write
    # time). Integrity holds by construction: a run writes the ids it has just read or created, and
    # Django's on_delete still cascades deletes of runs, segments and customers.
    run = models.ForeignKey(SegmentationRun, on_delete=models.CASCADE, related_name="memberships", db_index=False,
                            db_constraint=False)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False,
                                db_constraint=False)
    customer = models.ForeignKey("behavior.Customer", on_delete=models.CASCADE, related_name="segment_memberships",
                                 db_index=False, db_constraint=False)
    recency = models.IntegerField(help_text="Days since the last purchase, as of the run's date.")
    frequency = models.IntegerField(help_text="Distinct orders.")
    monetary = models.FloatField(help_text="Purchases net of returns.")
    r_score = models.SmallIntegerField()
    f_score = models.SmallIntegerField()
    m_score = models.SmallIntegerField()
    rfm_score = models.CharField(max_length=3)

    class Meta:
        constraints = [
            # Run first: a new run's rows all land at the right edge of the index (a million in order),
            # and a customer's served membership is still one index probe (run = served, customer = x).
            models.UniqueConstraint(fields=["run", "customer"], name="membership_unique_run_customer"),
            models.CheckConstraint(
                condition=Q(r_score__gte=1, r_score__lte=5) & Q(f_score__gte=1, f_score__lte=5)
                & Q(m_score__gte=1, m_score__lte=5),
                name="membership_scores_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["segment", "customer"], name="membership_segment_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id} ({self.rfm_score})"
