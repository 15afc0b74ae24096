"""What each API-key scope allows, as the Django permissions the GraphQL fields already check.

A key is not a user: it holds scopes, and `api.permissions`' rule ("staff with permission P") lets a key
through where one of its scopes grants P. `recommendations:read` grants no model permission: it is the
right to name a customer in `recommendations` and to issue customer tokens (access.principals).
"""

from __future__ import annotations

from enum import Enum

from jobs.registry import all_kinds


class Scope(str, Enum):
    EVENTS_WRITE = "events:write"
    CATALOG_WRITE = "catalog:write"
    RECOMMENDATIONS_READ = "recommendations:read"
    ANALYTICS_READ = "analytics:read"
    JOBS_RUN = "jobs:run"


SCOPE_CHOICES = [(scope.value, scope.value) for scope in Scope]

_PERMISSIONS: dict[Scope, frozenset[str]] = {
    Scope.EVENTS_WRITE: frozenset({"behavior.add_event", "behavior.add_customer", "behavior.change_customer"}),
    Scope.CATALOG_WRITE: frozenset({"catalog.add_product", "catalog.change_product", "catalog.add_category",
                                    "catalog.change_category"}),
    Scope.RECOMMENDATIONS_READ: frozenset(),
    Scope.ANALYTICS_READ: frozenset({"behavior.view_event", "forecasting.view_forecastrun"}),
    # Running every job kind (each kind's own permission is added from jobs' registry) and reading jobs.
    Scope.JOBS_RUN: frozenset({"jobs.add_job", "jobs.view_job", "jobs.change_job"}),
}


def _job_kind_permissions() -> frozenset[str]:
    return frozenset(kind.permission for kind in all_kinds().values())


def permissions_for(scopes: frozenset[str]) -> frozenset[str]:
    """The Django permissions a key with `scopes` holds (unknown scope names grant nothing)."""
    granted: set[str] = set()
    for scope in Scope:
        if scope.value in scopes:
            granted |= _PERMISSIONS[scope]
            if scope is Scope.JOBS_RUN:
                granted |= _job_kind_permissions()
    return frozenset(granted)


def unknown_scopes(scopes: list[str]) -> list[str]:
    known = {scope.value for scope in Scope}
    return [scope for scope in scopes if scope not in known]
