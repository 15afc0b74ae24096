"""Reads for customers, events and import reports."""

from django.db import connection
from django.db.models import FloatField, Func, QuerySet

from .models import ImportReport

MAX_REPORTS = 100


def epoch_seconds_sql(sql: str, vendor: str | None = None) -> str:
    """SQL for the Unix time (seconds, float) of the timestamp expression ``sql``, on PostgreSQL or SQLite
    (where Django stores UTC text; julianday keeps about a millisecond)."""
    if (vendor or connection.vendor) == "postgresql":
        return f"EXTRACT(EPOCH FROM {sql})::float8"
    return f"((julianday({sql}) - 2440587.5) * 86400.0)"


class EpochSeconds(Func):
    """A timestamp column as Unix seconds (float): reading floats skips building a timezone-aware datetime
    per row, which is most of the cost of reading events in bulk."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return epoch_seconds_sql(sql, connection.vendor), params


def import_reports(*, kind: str | None = None, limit: int = 20) -> QuerySet[ImportReport]:
    qs = ImportReport.objects.order_by("-started_at", "-id")
    if kind:
        qs = qs.filter(kind=kind)
    return qs[: max(1, min(limit, MAX_REPORTS))]
