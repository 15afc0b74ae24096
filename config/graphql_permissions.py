"""Permission extensions shared by the apps' schemas: staff with the model's permission, loud."""

from strawberry_django.permissions import HasPerm, IsStaff


def staff_with_perm(perm: str) -> list:
    # fail_silently=False: anonymous and unprivileged callers get a clear error, never empty data.
    return [IsStaff(fail_silently=False), HasPerm(perm, fail_silently=False)]
