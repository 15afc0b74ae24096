from decimal import Decimal

from django.db import models
from django.db.models import Q


class Customer(models.Model):
    # Only what features need: the shop's id, a country and attributes the shop chooses to send.
    external_id = models.CharField(max_length=64, unique=True)
    country = models.CharField(max_length=64, blank=True, default="", db_index=True)
    signed_up_at = models.DateTimeField(null=True, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.external_id


class EventKind(models.TextChoices):
    VIEW = "view", "View"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    PURCHASE = "purchase", "Purchase"
    REVIEW = "review", "Review"
    RETURN = "return", "Return"


class Event(models.Model):
    event_id = models.CharField(max_length=64, unique=True)
    # Null for anonymous lines (e.g. invoice lines without a customer): kept for product-level
    # figures, left out of customer-level models.
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    occurred_at = models.DateTimeField()
    quantity = models.IntegerField(default=1)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    rating = models.SmallIntegerField(null=True, blank=True)
    order_ref = models.CharField(max_length=64, blank=True, default="")
    session_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid"),
            # A return is stored as its own kind with a positive quantity, so every quantity is > 0.
            models.CheckConstraint(condition=Q(quantity__gt=0), name="event_quantity_positive"),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="event_rating_1_to_5"
            ),
            models.CheckConstraint(
                condition=~Q(kind=EventKind.REVIEW) | Q(rating__isnull=False), name="event_review_has_rating"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__isnull=True) | Q(unit_price__gte=Decimal("0")),
                name="event_unit_price_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[EventKind.PURCHASE, EventKind.RETURN]) | Q(unit_price__isnull=False),
                name="event_sale_has_unit_price",
            ),
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="event_occurred_idx"),
            models.Index(fields=["customer", "occurred_at"], name="event_customer_time_idx"),
            models.Index(fields=["product", "occurred_at"], name="event_product_time_idx"),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time_idx"),
            # a session's latest events (session recommendations read them on every request); events
            # without a session are left out of the index
            models.Index(fields=["session_id", "-occurred_at"], name="event_session_time_idx",
                          condition=~Q(session_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class ImportReport(models.Model):
    """What one import run read, stored and rejected, and why; kept for the admin and the API.

    read = stored + rejected + duplicates always holds (a database constraint).
    """

    class Kind(models.TextChoices):
        PRODUCTS = "products", "Products"
        CUSTOMERS = "customers", "Customers"
        EVENTS = "events", "Events"
        DEMO = "demo", "Demo dataset"
        SYNTHETIC = "synthetic", "Synthetic data"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.CharField(max_length=500, help_text="File name, or what generated the rows.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.BigIntegerField(default=0)
    rows_stored = models.BigIntegerField(default=0)
    rows_rejected = models.BigIntegerField(default=0)
    rows_duplicate = models.BigIntegerField(default=0)
    # {code: count}; sums to rows_rejected.
    rejected_by_reason = models.JSONField(default=dict, blank=True)
    # Transformations that kept the row (e.g. cancellations stored as returns), and other facts of the run.
    notes = models.JSONField(default=dict, blank=True)
    # The first rejected rows: [{"row": n, "field": ..., "code": ..., "message": ...}], capped.
    sample_errors = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_read=models.F("rows_stored") + models.F("rows_rejected") + models.F("rows_duplicate")),
                name="import_report_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source} ({self.status})"
