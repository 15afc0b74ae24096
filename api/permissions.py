"""The one rule for "staff with permission P": strawberry-django's IsStaff and HasPerm, loud.

A machine client's API key stands where staff do: its scopes are its permissions (access.scopes), so
`HasPerm` lets it through exactly where a scope grants P (`IsStaffOrApiKey`). Fields declare the rule
as extensions (`extensions=staff_with_perm("app.perm")`), which also documents it in the schema
(`@isStaffOrApiKey @hasPerm`). Checks that depend on data, such as the permission of a job kind,
call `is_staff_with_perm`, which runs the same extensions' checks on a user, so both agree by
construction.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from strawberry_django.permissions import DjangoNoPermission, HasPerm, IsStaff


class IsStaffOrApiKey(IsStaff):
    """Staff users, or a request authenticated with an API key (access.principals.ApiKeyUser)."""

    DEFAULT_ERROR_MESSAGE = "User is not a staff member."
    SCHEMA_DIRECTIVE_DESCRIPTION = "Can only be resolved by staff users or API keys (whose scopes decide @hasPerm)."

    def resolve_for_user(self, resolver: Any, user: Any, *, info: Any, source: Any) -> Any:
        if getattr(user, "is_api_key", False):
            return resolver()
        return super().resolve_for_user(resolver, user, info=info, source=source)


def staff_with_perm(*perms: str) -> list:
    """Field extensions: staff (or an API key) with every permission in `perms` (just that when there is none).

    fail_silently=False: anonymous and unprivileged callers get a clear error, never empty data.
    """
    extensions: list = [IsStaffOrApiKey(fail_silently=False)]
    if len(perms) == 1:
        extensions.append(HasPerm(perms[0], fail_silently=False))
    elif perms:
        extensions.append(HasPerm(list(perms), any_perm=False, fail_silently=False))
    return extensions


@cache
def _checks(perms: tuple[str, ...]) -> tuple:
    return tuple(staff_with_perm(*perms))


def _allowed() -> bool:
    return True


def is_staff_with_perm(user: Any, *perms: str) -> bool:
    """Whether `user` passes `staff_with_perm(*perms)`: the extensions' own checks, run on the user."""
    for check in _checks(perms):
        try:
            passed = check.resolve_for_user(_allowed, user, info=None, source=None)
        except DjangoNoPermission:
            return False
        if passed is not True:  # a coroutine: called from async code, where the check would not have run
            getattr(passed, "close", lambda: None)()
            raise RuntimeError("is_staff_with_perm is synchronous; call it through sync_to_async")
    return True
