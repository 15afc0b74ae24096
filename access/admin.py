from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from .hashing import hasher
from .models import ApiKey
from .scopes import SCOPE_CHOICES
from .services import api_key_create


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "rate_limit_per_minute")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created here (the secret is shown once, in the message after saving) and revoked with the
    action; a key's secret can never be read again, only replaced by a new key."""

    form = ApiKeyForm
    list_display = ("prefix", "name", "scopes", "rate_limit_per_minute", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "=prefix")
    readonly_fields = ("prefix", "hashed_secret", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="secret (hashed)")
    def hashed_secret(self, obj: ApiKey) -> str:
        return str(hasher.safe_summary(obj.secret_hash)) if obj.secret_hash else ""

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            obj.scopes = sorted(set(form.cleaned_data["scopes"]))
            super().save_model(request, obj, form, change)
            return
        key, full = api_key_create(name=obj.name, scopes=form.cleaned_data["scopes"],
                                   rate_limit_per_minute=obj.rate_limit_per_minute, created_by=request.user)
        obj.pk = key.pk
        obj.prefix = key.prefix
        messages.warning(request, f"The key, shown this once (send it as 'Authorization: Bearer …'): {full}")

    def save_related(self, request, form, formsets, change):  # an API key has no related objects to save
        pass

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"Revoked {count} key(s).")


