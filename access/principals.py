"""Who sent a request that carried `Authorization: Bearer …`, as `request.user` for that request.

- `ApiKeyUser`: a machine client. Not a Django user (nothing to log in as, no row to own things); its
  scopes are its permissions (access.scopes), so `has_perm` answers from them.
- `CustomerTokenUser`: a shopper's browser holding a short-lived token for one customer: anonymous for
  every check, except that it may read that one customer's recommendations.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from .scopes import Scope, permissions_for


class ApiKeyUser:
    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_api_key = True
    pk = None
    id = None

    def __init__(self, *, key_id: int, prefix: str, name: str, scopes: list[str]):
        self.key_id = key_id
        self.prefix = prefix
        self.username = f"api-key:{prefix}"
        self.name = name
        self.scopes = frozenset(scopes)
        self.permissions = permissions_for(self.scopes)

    def __str__(self) -> str:
        return self.username

    def has_scope(self, scope: Scope) -> bool:
        return scope.value in self.scopes

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return perm in self.permissions

    def has_perms(self, perms, obj: object = None) -> bool:
        return all(self.has_perm(perm) for perm in perms)

    def has_module_perms(self, app_label: str) -> bool:
        return any(perm.startswith(f"{app_label}.") for perm in self.permissions)

    def get_all_permissions(self, obj: object = None) -> set[str]:
        return set(self.permissions)


class CustomerTokenUser(AnonymousUser):
    is_customer_token = True

    def __init__(self, customer_external_id: str):
        super().__init__()
        self.customer_external_id = customer_external_id


def may_name_customer(user: object, external_id: str) -> bool:
    """Whether `user` holds a credential that lets it name this customer (an API key with
    recommendations:read, or a customer token for this very customer). Staff are the caller's business."""
    if getattr(user, "is_api_key", False):
        return user.has_scope(Scope.RECOMMENDATIONS_READ)  # type: ignore[attr-defined]
    if getattr(user, "is_customer_token", False):
        return user.customer_external_id == external_id  # type: ignore[attr-defined]
    return False
