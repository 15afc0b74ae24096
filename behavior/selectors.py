"""Reads for customers, events and import reports."""

from django.db.models import QuerySet

from .models import ImportReport

MAX_REPORTS = 100


def import_reports(*, kind: str | None = None, limit: int = 20) -> QuerySet[ImportReport]:
    qs = ImportReport.objects.order_by("-started_at", "-id")
    if kind:
        qs = qs.filter(kind=kind)
    return qs[: max(1, min(limit, MAX_REPORTS))]
