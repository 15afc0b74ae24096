from django.conf import settings
from django.db import models


class ApiKey(models.Model):
    """A machine client's credential: `shop_<prefix>.<secret>`. The prefix is visible (admin, logs);
    the secret is shown once when the key is created and only its hash is stored (access.hashing)."""

    name = models.CharField(max_length=100, help_text="Who uses it, e.g. 'storefront backend'.")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=200, editable=False)
    scopes = models.JSONField(default=list, help_text="Scope names, e.g. [\"events:write\"] (docs/security.md).")
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests per minute; empty: the API_KEY_RATE_LIMIT setting.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (shop_{self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
