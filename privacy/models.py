from django.db import models


class Erasure(models.Model):
    """That a customer was erased, and what was removed, without personal data: the customer is named only
    by a keyed hash of their id (privacy.services.subject_hash), which proves a later request for the same
    id was done already, and cannot be reversed without the service's SECRET_KEY."""

    subject = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField()
    times = models.PositiveIntegerField(default=1, help_text="Erasures of this id (the same id may come back).")
    events = models.PositiveIntegerField(default=0)
    memberships = models.PositiveIntegerField(default=0)
    artifacts = models.PositiveIntegerField(default=0, help_text="Recommender model files rewritten.")
    admin_log_entries = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-erased_at", "-id"]
        default_permissions = ("view",)
        permissions = [("erase_customer", "Can erase a customer"), ("export_customer", "Can export a customer's data")]

    def __str__(self) -> str:
        return f"erasure {self.subject[:12]}… at {self.erased_at:%Y-%m-%d %H:%M}"
