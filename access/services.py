"""API keys (create, revoke, authenticate a Bearer header) and customer tokens (issue, read)."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from . import ratelimit
from .error_codes import AccessError, AccessErrorCode
from .hashing import hasher
from .models import ApiKey
from .principals import ApiKeyUser, CustomerTokenUser
from .scopes import unknown_scopes

KEY_PREFIX = "shop_"
TOKEN_PREFIX = "ct_"
_TOKEN_SALT = "access.customer-token"
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# last_used_at is written at most this often per key (not on every request).
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))


@transaction.atomic
def api_key_create(*, name: str, scopes: list[str], rate_limit_per_minute: int | None = None,
                   created_by=None) -> tuple[ApiKey, str]:
    """A new key and its full text `shop_<prefix>.<secret>`, which is never stored or shown again."""
    unknown = unknown_scopes(scopes)
    if unknown:
        raise AccessError(AccessErrorCode.INVALID_SCOPE, f"Unknown scope(s): {', '.join(unknown)}.")
    secret = secrets.token_urlsafe(32)
    prefix = _new_prefix()
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = _new_prefix()
    key = ApiKey.objects.create(
        name=name, prefix=prefix, secret_hash=hasher.encode(secret, hasher.salt()), scopes=sorted(set(scopes)),
        rate_limit_per_minute=rate_limit_per_minute,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )
    return key, f"{KEY_PREFIX}{prefix}.{secret}"


def api_key_revoke(*, prefix: str) -> ApiKey:
    """Revoke the key (idempotent: a revoked key keeps its first revocation time)."""
    prefix = prefix.removeprefix(KEY_PREFIX).split(".", 1)[0]
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise AccessError(AccessErrorCode.NOT_FOUND, "No API key with that prefix.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


_UNAUTHENTICATED = "The Authorization header holds no valid API key or customer token."


def _key_user(text: str) -> ApiKeyUser:
    prefix, _, secret = text.removeprefix(KEY_PREFIX).partition(".")
    key = ApiKey.objects.filter(prefix=prefix).first() if prefix and secret else None
    if key is None or key.revoked_at is not None or not hasher.verify(secret, key.secret_hash):
        raise AccessError(AccessErrorCode.UNAUTHENTICATED, _UNAUTHENTICATED)
    limit = key.rate_limit_per_minute or settings.API_KEY_RATE_LIMIT
    retry_after = ratelimit.over_limit(f"key:{key.prefix}", limit)
    if retry_after is not None:
        raise AccessError(AccessErrorCode.RATE_LIMITED, f"This API key may send {limit} requests a minute; "
                                                        f"retry in {retry_after} s.", retry_after=retry_after)
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return ApiKeyUser(key_id=key.pk, prefix=key.prefix, name=key.name, scopes=list(key.scopes))


def bearer_user(authorization: str) -> ApiKeyUser | CustomerTokenUser:
    """The caller named by an `Authorization: Bearer …` header's value; AccessError when it names none
    (UNAUTHENTICATED) or the key is over its rate limit (RATE_LIMITED, with retry_after)."""
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise AccessError(AccessErrorCode.UNAUTHENTICATED, _UNAUTHENTICATED)
    if credential.startswith(KEY_PREFIX):
        return _key_user(credential)
    if credential.startswith(TOKEN_PREFIX):
        external_id = customer_token_read(credential)
        if external_id is not None:
            return CustomerTokenUser(external_id)
    raise AccessError(AccessErrorCode.UNAUTHENTICATED, _UNAUTHENTICATED)


def customer_token_issue(*, customer_external_id: str) -> tuple[str, datetime]:
    """A token that lets a browser read this customer's recommendations for CUSTOMER_TOKEN_MAX_AGE seconds."""
    token = TOKEN_PREFIX + signing.dumps(customer_external_id, salt=_TOKEN_SALT)
    return token, timezone.now() + timedelta(seconds=settings.CUSTOMER_TOKEN_MAX_AGE)


def customer_token_read(token: str) -> str | None:
    """The customer a token was issued for, or None when it is forged, malformed or expired."""
    try:
        value = signing.loads(token.removeprefix(TOKEN_PREFIX), salt=_TOKEN_SALT,
                              max_age=settings.CUSTOMER_TOKEN_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    return value if isinstance(value, str) else None
