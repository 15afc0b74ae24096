"""Writes the rollups. Both entry points recompute from raw events with set-based INSERT ... SELECT
statements (the SELECT is compiled by the ORM, so the same code runs on SQLite and PostgreSQL) and are
idempotent: running them twice leaves the same rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import TruncMonth, TruncWeek

from behavior.hooks import EventsStored
from behavior.models import Event
from catalog.models import Category, Product

from .event_exprs import PURCHASE, additive_aggregates, day_window, event_day, local_day, order_key
from .models import (
    ALL_SCOPE,
    CohortMonthly,
    PendingRefresh,
    ProductDaily,
    ProductMonthly,
    ProductWeekly,
    ProductScope,
    PurchaserDay,
    PurchaserGap,
    ScopeBuyersDaily,
    ScopeDaily,
)

logger = logging.getLogger(__name__)
ADDITIVE_COLUMNS = list(additive_aggregates())
# Refreshes delete and re-insert overlapping cells: on PostgreSQL they take this transaction-scoped
# advisory lock so that two never interleave (SQLite serialises writers by itself).
_REFRESH_LOCK = 0x616E616C  # "anal"
TOP_COLUMNS = ["revenue_pence", "units", "views"]
# Above this many affected customers, recomputing every customer at once is cheaper than by chunks.
_PURCHASER_CHUNK = 2000
_PURCHASER_FULL_ABOVE = 50_000
_ROLLUPS = (ProductDaily, ProductMonthly, ProductWeekly, ScopeDaily, PurchaserDay, PurchaserGap, ScopeBuyersDaily,
            CohortMonthly)


def rollups_refresh(*, start: datetime, end: datetime, product_ids: Iterable[int] | None = None) -> None:
    """Bring the rollups up to date after events in [start, end] for these products were stored, changed
    or deleted (product_ids None: any product). Recomputes the shop-local days that window touches."""
    d0, d1 = local_day(start), local_day(end)
    if d1 < d0:
        d0, d1 = d1, d0
    products = None if product_ids is None else sorted({int(p) for p in product_ids})
    if products == []:
        return
    with transaction.atomic():
        _refresh_lock()
        _product_scopes_refresh(product_ids=products)
        window = _events_between(d0, d1)
        cells = window if products is None else window.filter(product_id__in=products)

        daily = ProductDaily.objects.filter(day__range=(d0, d1))
        (daily if products is None else daily.filter(product_id__in=products)).delete()
        _insert_product_daily(cells)
        _product_periods_refresh(d0, d1, products)

        scopes = ProductScope.objects.all()
        if products is not None:
            scopes = scopes.filter(product_id__in=products)
        scope_ids = sorted(set(scopes.values_list("scope", flat=True)) | {ALL_SCOPE})
        ScopeDaily.objects.filter(day__range=(d0, d1), scope__in=scope_ids).delete()
        _insert_scope_daily(
            window.filter(product__analytics_scopes__scope__in=scope_ids),
            ProductDaily.objects.filter(day__range=(d0, d1), product__analytics_scopes__scope__in=scope_ids),
        )

        # Customers whose purchase days may have changed: buyers in the window now, and those the rollup
        # has there (their events may be gone).
        customers = set(window.filter(PURCHASE, customer_id__isnull=False).values_list("customer_id", flat=True))
        customers |= set(
            PurchaserDay.objects.filter(scope=ALL_SCOPE, day__range=(d0, d1)).values_list("customer_id", flat=True)
        )
        if len(customers) > _PURCHASER_FULL_ABOVE:
            PurchaserDay.objects.all().delete()
            _insert_purchaser_days(Event.objects.all())
        else:
            ordered = sorted(customers)
            for i in range(0, len(ordered), _PURCHASER_CHUNK):
                chunk = ordered[i : i + _PURCHASER_CHUNK]
                PurchaserDay.objects.filter(customer_id__in=chunk).delete()
                _insert_purchaser_days(Event.objects.filter(customer_id__in=chunk))
        # Rows before d0 keep their previous-day links (nothing earlier changed); later ones may not.
        _rebuild_counts_from(d0)


def rollups_refresh_later(*, start: datetime, end: datetime, product_ids: Iterable[int] | None = None) -> None:
    """rollups_refresh, but not in the caller's request when a worker can do it.

    With tasks running in-process (the embedded default, tests) this is rollups_refresh itself. With a
    broker, the window is recorded (in the caller's transaction, so it exists exactly when the events do)
    and a refresh task is enqueued once the transaction commits: the caller returns after storing, and
    the rollups catch up within seconds. Windows recorded before a worker gets to them are refreshed
    together; if the enqueue fails, the periodic refresh (beat) picks the window up.
    """
    from celery import current_app

    if current_app.conf.task_always_eager:
        rollups_refresh(start=start, end=end, product_ids=product_ids)
        return
    products = None if product_ids is None else sorted({int(p) for p in product_ids})
    if products == []:
        return
    PendingRefresh.objects.create(start=start, end=end, product_ids=products)
    transaction.on_commit(_enqueue_refresh)


def rollups_refresh_on_events_stored(notice: EventsStored) -> None:
    """behavior's events-stored hook (subscribed in AnalyticsConfig.ready): a request's batch is refreshed
    by a worker when there is one, so the front end does not wait; imports refresh before they return."""
    refresh = rollups_refresh_later if notice.from_request else rollups_refresh
    refresh(start=notice.start, end=notice.end, product_ids=set(notice.product_ids))


REFRESH_QUEUED_FLAG = "analytics-refresh-queued"


def _enqueue_refresh() -> None:
    """Publish one refresh task unless one is already waiting in the queue (coalescing: however many
    batches commit meanwhile, the one queued task drains all their windows). Never holds the request up
    for longer than the broker timeout (jobs.broker); what is not published stays pending for beat."""
    from jobs.broker import claim_flag, publish, release_flag

    from .tasks import refresh_rollups

    try:
        if not claim_flag(REFRESH_QUEUED_FLAG, settings.ANALYTICS_REFRESH_QUEUED_TTL):
            return
    except Exception as exc:  # noqa: BLE001 - the pending row stays; beat's periodic refresh drains it
        logger.warning("rollup refresh could not be enqueued (left pending): %r", exc)
        return
    try:
        publish(refresh_rollups)
    except Exception as exc:  # noqa: BLE001 - as above
        release_flag(REFRESH_QUEUED_FLAG)
        logger.warning("rollup refresh could not be enqueued (left pending): %r", exc)


def rollups_refresh_started() -> None:
    """Called by the refresh task as it starts: windows recorded from now on need a new task."""
    from jobs.broker import release_flag

    release_flag(REFRESH_QUEUED_FLAG)


def rollups_refresh_pending() -> int:
    """Refresh every pending window at once (their span, their products' union) and drop them; returns
    how many windows were drained. Runs under the refresh lock, so concurrent calls drain each row once."""
    with transaction.atomic():
        _refresh_lock()
        pending = list(PendingRefresh.objects.order_by("id"))
        if not pending:
            return 0
        products: set[int] | None = set()
        for row in pending:
            products = None if products is None or row.product_ids is None else products | set(row.product_ids)
        rollups_refresh(start=min(r.start for r in pending), end=max(r.end for r in pending), product_ids=products)
        PendingRefresh.objects.filter(pk__in=[r.pk for r in pending]).delete()
    return len(pending)


def _refresh_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REFRESH_LOCK])


def rollups_rebuild() -> None:
    """Recompute every rollup from all events."""
    with transaction.atomic():
        _refresh_lock()
        for model in _ROLLUPS:
            model.objects.all().delete()
        _product_scopes_refresh(product_ids=None)
        _insert_product_daily(Event.objects.all())
        _product_periods_refresh(None, None, None)
        _insert_scope_daily(Event.objects.filter(product__analytics_scopes__isnull=False),
                            ProductDaily.objects.filter(product__analytics_scopes__isnull=False))
        _insert_purchaser_days(Event.objects.all())
        _rebuild_counts_from(None)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (ProductScope, *_ROLLUPS):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- building blocks ------------------------------------------------------------------------------------


def _events_between(d0: date, d1: date) -> QuerySet:
    lo, hi = day_window(d0, d1)
    return Event.objects.filter(occurred_at__gte=lo, occurred_at__lt=hi)


def _product_scopes_refresh(*, product_ids: list[int] | None) -> None:
    """Each product counts in scope 0 and in its category and every ancestor (the tree is small)."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    products = Product.objects.all() if product_ids is None else Product.objects.filter(pk__in=product_ids)
    rows = []
    for product_id, category_id in products.values_list("id", "category_id"):
        scopes = {ALL_SCOPE}
        current = category_id
        while current is not None and current not in scopes:
            scopes.add(current)
            current = parents.get(current)
        rows.extend(ProductScope(product_id=product_id, scope=s) for s in scopes)
    existing = ProductScope.objects.all()
    if product_ids is not None:
        existing = existing.filter(product_id__in=product_ids)
    existing.delete()
    ProductScope.objects.bulk_create(rows, batch_size=5000)


def _insert_select(model, columns: list[str], queryset: QuerySet) -> None:
    """INSERT INTO model (columns) <the queryset's SELECT>; the queryset selects exactly these, in order."""
    sql, params = queryset.query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) {sql}", params)


def _insert_product_daily(events: QuerySet) -> None:
    cells = (
        events.order_by()
        .annotate(rollup_day=event_day(), rollup_product=F("product_id"))
        .values("rollup_day", "rollup_product")
        .annotate(**additive_aggregates())
        .values("rollup_day", "rollup_product", *ADDITIVE_COLUMNS)
    )
    _insert_select(ProductDaily, ["day", "product", *ADDITIVE_COLUMNS], cells)


def _product_periods_refresh(d0: date | None, d1: date | None, products: list[int] | None) -> None:
    """Re-sum ProductDaily into ProductMonthly and ProductWeekly for the months and weeks [d0, d1] touches
    (all when None)."""
    for model, period, trunc, first, after in (
        (ProductMonthly, "month", TruncMonth, lambda d: d.replace(day=1),
         lambda d: (d.replace(day=28) + timedelta(days=4)).replace(day=1)),
        (ProductWeekly, "week", TruncWeek, lambda d: d - timedelta(days=d.weekday()),
         lambda d: d - timedelta(days=d.weekday()) + timedelta(days=7)),
    ):
        periods = model.objects.all()
        days = ProductDaily.objects.all()
        if d0 is not None:
            periods = periods.filter(**{f"{period}__range": (first(d0), first(d1))})
            days = days.filter(day__gte=first(d0), day__lt=after(d1))
        if products is not None:
            periods, days = periods.filter(product_id__in=products), days.filter(product_id__in=products)
        periods.delete()
        cells = (
            days.order_by()
            .annotate(rollup_period=trunc("day"), rollup_product=F("product_id"))
            .values("rollup_period", "rollup_product")
            .annotate(**{c: Sum(c) for c in TOP_COLUMNS})
            .values("rollup_period", "rollup_product", *TOP_COLUMNS)
        )
        _insert_select(model, [period, "product", *TOP_COLUMNS], cells)


def _insert_scope_daily(events: QuerySet, daily: QuerySet) -> None:
    """ScopeDaily for the cells that `daily` (ProductDaily rows) and `events` (the same days' events)
    cover: the sums from the product cells of each scope, the orders counted distinct from the purchase
    lines (an order with lines in two categories is one order of their parent)."""
    zero = {c: Value(0) for c in ADDITIVE_COLUMNS}
    sums = (
        daily.order_by()
        .annotate(s=F("product__analytics_scopes__scope"), d=F("day"))
        .values("s", "d")
        .annotate(**{**zero, **{c: Sum(c) for c in ADDITIVE_COLUMNS if c != "orders"}})
        .values("s", "d", *ADDITIVE_COLUMNS)
    )
    orders = (
        events.filter(PURCHASE).order_by()
        .annotate(s=F("product__analytics_scopes__scope"), d=event_day())
        .values("s", "d")
        .annotate(**{**zero, "orders": Count(order_key(), distinct=True)})
        .values("s", "d", *ADDITIVE_COLUMNS)
    )
    sums_sql, sums_params = sums.query.sql_with_params()
    orders_sql, orders_params = orders.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ADDITIVE_COLUMNS)
    totals = ", ".join(f"SUM({quote(c)})" for c in ADDITIVE_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(ScopeDaily._meta.db_table)} (scope, day, {columns}) "
            f"SELECT s, d, {totals} FROM ({sums_sql} UNION ALL {orders_sql}) cells GROUP BY s, d",
            (*sums_params, *orders_params),
        )


def _insert_purchaser_days(events: QuerySet) -> None:
    buyer_days = (
        events.filter(PURCHASE, customer_id__isnull=False)
        .order_by()
        .annotate(s=F("product__analytics_scopes__scope"), c=F("customer_id"), d=event_day())
        .values("s", "c", "d")
        .distinct()
    )
    sql, params = buyer_days.query.sql_with_params()
    table = connection.ops.quote_name(PurchaserDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, customer_id, day, prev_day) "
            f"SELECT s, c, d, LAG(d) OVER (PARTITION BY s, c ORDER BY d) FROM ({sql}) buyer_days",
            params,
        )


def _rebuild_counts_from(d0: date | None) -> None:
    """Recount PurchaserGap from day d0 and CohortMonthly from d0's month (everything when None)."""
    gaps = PurchaserGap.objects.all()
    rows = PurchaserDay.objects.all()
    if d0 is not None:
        gaps, rows = gaps.filter(day__gte=d0), rows.filter(day__gte=d0)
    gaps.delete()
    counts = (
        rows.order_by()
        .values("scope", "day", "prev_day")
        .annotate(n=Count("*"))
        .values("scope", "day", "prev_day", "n")
    )
    _insert_select(PurchaserGap, ["scope", "day", "prev_day", "customers"], counts)

    buyers = ScopeBuyersDaily.objects.all() if d0 is None else ScopeBuyersDaily.objects.filter(day__gte=d0)
    buyers.delete()
    first_ever = Q(prev_day__isnull=True)
    per_day = (
        rows.order_by()
        .values("scope", "day")
        .annotate(n=Count("*"), new=Count("id", filter=first_ever),
                  in_week=Count("id", filter=first_ever | Q(prev_day__lt=TruncWeek("day"))),
                  in_month=Count("id", filter=first_ever | Q(prev_day__lt=TruncMonth("day"))))
        .values("scope", "day", "n", "new", "in_week", "in_month")
    )
    _insert_select(ScopeBuyersDaily, ["scope", "day", "customers", "new", "first_in_week", "first_in_month"], per_day)

    cohorts = CohortMonthly.objects.all()
    firsts = PurchaserDay.objects.filter(scope=ALL_SCOPE, prev_day__isnull=True)
    months = PurchaserDay.objects.filter(scope=ALL_SCOPE)
    if d0 is not None:
        month0 = d0.replace(day=1)
        cohorts, months = cohorts.filter(month__gte=month0), months.filter(day__gte=month0)
    cohorts.delete()
    first_day = Subquery(firsts.filter(customer_id=OuterRef("customer_id")).values("day")[:1])
    cells = (
        months.order_by()
        .annotate(c_month=TruncMonth(first_day, output_field=PurchaserDay._meta.get_field("day")),
                  a_month=TruncMonth("day"))
        .values("c_month", "a_month")
        .annotate(n=Count("customer_id", distinct=True))
        .values("c_month", "a_month", "n")
    )
    _insert_select(CohortMonthly, ["cohort_month", "month", "customers"], cells)
