"""Analytics reads. Each query has two implementations with the same answer: the one the API serves,
which reads the rollups (analytics.models), and `<name>_raw`, which computes it from behavior.Event. The
raw ones are the reference in the tests and the baseline in bench/analytics.py.

Definitions (docs/analytics.md says why):
- days are shop-local (settings.SHOP_TIME_ZONE), `date_from` and `date_to` both included;
- revenue is gross: purchase lines' quantity x unit price; returns are reported beside it, not netted;
- an order is a distinct order reference on a shop-local day (a line without one is its own order);
- customers are distinct identified customers with a purchase (anonymous lines count in revenue only);
- conversion rate is purchase lines / product views; rates are ratios of sums, never averages of rates;
- a category means it and every category below it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Min, Q, QuerySet, Sum

from behavior.models import Event
from catalog.models import Category, Product
from catalog.selectors import category_descendant_ids

from .error_codes import AnalyticsError, AnalyticsErrorCode
from .event_exprs import PURCHASE, additive_aggregates, day_window, event_day, line_pence, order_key
from .models import (
    ALL_SCOPE,
    CohortMonthly,
    ProductDaily,
    ProductMonthly,
    ProductWeekly,
    PurchaserGap,
    ScopeBuyersDaily,
    ScopeDaily,
)
from .answers import (  # the answers' types, importable from here as before
    CategoryRevenue,
    CategoryShare,
    CohortRetention,
    Funnel,
    NewVsReturning,
    Sales,
    SalesSummary,
    Series,
    TopProduct,
)
from .net_sales import (  # forecasting's demand series, importable from here as before
    NET_MEASURES,
    net_sales_days,
    product_net_sales,
    scope_net_sales,
    top_selling_product_ids,
)

INTERVALS = ("DAY", "WEEK", "MONTH")
TOP_BY = ("REVENUE", "UNITS", "VIEWS")  # the order of _top's totals
_SUMS = list(additive_aggregates())


# --- helpers ----------------------------------------------------------------------------------------


def _pounds(pence: int) -> Decimal:
    return (Decimal(int(pence)) / 100).quantize(Decimal("0.01"))


def _ratio(numerator, denominator) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def _check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise AnalyticsError(AnalyticsErrorCode.DATE_RANGE_REVERSED, "`to` is before `from`.")
    if (date_to - date_from).days > 3660:
        raise AnalyticsError(AnalyticsErrorCode.DATE_RANGE_TOO_LONG, "The range is limited to ten years.")


def _check_interval(interval: str) -> None:
    if interval not in INTERVALS:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_INTERVAL, f"interval must be one of {', '.join(INTERVALS)}.")


def _bucket(day: date, interval: str) -> date:
    if interval == "WEEK":
        return day - timedelta(days=day.weekday())
    if interval == "MONTH":
        return day.replace(day=1)
    return day


def _buckets(date_from: date, date_to: date, interval: str) -> list[tuple[date, date, date]]:
    """(label, first day, last day) of each bucket, clipped to the range; labels are the bucket's start
    (Monday for weeks, the 1st for months), even when the range starts inside it."""
    out = []
    day = date_from
    while day <= date_to:
        label = _bucket(day, interval)
        if interval == "DAY":
            nxt = day + timedelta(days=1)
        elif interval == "WEEK":
            nxt = label + timedelta(days=7)
        else:
            nxt = (label.replace(day=28) + timedelta(days=4)).replace(day=1)
        last = min(nxt - timedelta(days=1), date_to)
        out.append((label, day, last))
        day = nxt
    return out


def _months(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
    return out


def _previous(date_from: date, date_to: date) -> tuple[date, date]:
    length = (date_to - date_from).days + 1
    return date_from - timedelta(days=length), date_from - timedelta(days=1)


def _events(date_from: date, date_to: date, *, category_id=None, product_id=None) -> QuerySet:
    lo, hi = day_window(date_from, date_to)
    events = Event.objects.filter(occurred_at__gte=lo, occurred_at__lt=hi).order_by()
    if product_id is not None:
        events = events.filter(product_id=product_id)
    if category_id is not None:
        events = events.filter(product__category_id__in=category_descendant_ids(category_ids=[category_id]))
    return events


def _scope(category_id) -> int:
    return ALL_SCOPE if category_id is None else int(category_id)


def _sales(sums: dict, customers: int) -> Sales:
    revenue = _pounds(sums["revenue_pence"] or 0)
    orders = int(sums["orders"] or 0)
    return Sales(
        revenue=revenue,
        orders=orders,
        units=int(sums["units"] or 0),
        customers=int(customers),
        average_order_value=(revenue / orders).quantize(Decimal("0.01"), ROUND_HALF_UP) if orders else None,
        conversion_rate=_ratio(sums["purchases"] or 0, sums["views"] or 0),
        views=int(sums["views"] or 0),
        purchases=int(sums["purchases"] or 0),
        returned_units=int(sums["returned_units"] or 0),
        returned_value=_pounds(sums["returned_pence"] or 0),
    )


# --- salesSummary -----------------------------------------------------------------------------------


def _distinct_customers(scope: int, date_from: date, date_to: date) -> int:
    # A customer bought in the range iff one of their purchase days in it follows no other purchase
    # day in it: its previous purchase day is before the range (or it has none).
    return PurchaserGap.objects.filter(scope=scope, day__range=(date_from, date_to)).filter(
        Q(prev_day__isnull=True) | Q(prev_day__lt=date_from)
    ).aggregate(n=Sum("customers"))["n"] or 0


def _sales_rollup(date_from: date, date_to: date, category_id) -> Sales:
    scope = _scope(category_id)
    sums = ScopeDaily.objects.filter(scope=scope, day__range=(date_from, date_to)).aggregate(
        **{c: Sum(c) for c in _SUMS}
    )
    return _sales(sums, _distinct_customers(scope, date_from, date_to))


def _sales_raw(date_from: date, date_to: date, category_id) -> Sales:
    events = _events(date_from, date_to, category_id=category_id)
    sums = events.aggregate(**{k: v for k, v in additive_aggregates().items() if k != "orders"})
    sums["orders"] = events.filter(PURCHASE).values(d=event_day(), k=order_key()).distinct().count()
    customers = events.filter(PURCHASE, customer_id__isnull=False).aggregate(n=Count("customer_id", distinct=True))
    return _sales(sums, customers["n"])


def sales_summary(*, date_from: date, date_to: date, category_id: int | None = None) -> SalesSummary:
    return _summary(date_from, date_to, category_id, _sales_rollup)


def sales_summary_raw(*, date_from: date, date_to: date, category_id: int | None = None) -> SalesSummary:
    return _summary(date_from, date_to, category_id, _sales_raw)


def _summary(date_from, date_to, category_id, compute) -> SalesSummary:
    _check_range(date_from, date_to)
    prev_from, prev_to = _previous(date_from, date_to)
    return SalesSummary(
        date_from=date_from, date_to=date_to, previous_from=prev_from, previous_to=prev_to,
        current=compute(date_from, date_to, category_id), previous=compute(prev_from, prev_to, category_id),
    )


# --- salesSeries ------------------------------------------------------------------------------------


def _series(date_from, date_to, interval, per_day: dict[date, tuple[int, int, int]]) -> Series:
    buckets = _buckets(date_from, date_to, interval)
    index = {label: i for i, (label, _, _) in enumerate(buckets)}
    revenue, units, orders = [0] * len(buckets), [0] * len(buckets), [0] * len(buckets)
    for day, (pence, u, o) in per_day.items():
        i = index[_bucket(day, interval)]
        revenue[i] += pence or 0
        units[i] += u or 0
        orders[i] += o or 0
    return Series(interval=interval, dates=[b[0] for b in buckets], revenue=[_pounds(p) for p in revenue],
                  units=units, orders=orders)


def sales_series(*, date_from: date, date_to: date, interval: str = "DAY", product_id: int | None = None,
                 category_id: int | None = None) -> Series:
    _check_range(date_from, date_to)
    _check_interval(interval)
    if product_id is not None:
        # Orders add up across days (an order is counted per day); a product's orders come from its cells.
        rows = ProductDaily.objects.filter(product_id=product_id, day__range=(date_from, date_to))
        if category_id is not None:
            rows = rows.filter(product__category_id__in=category_descendant_ids(category_ids=[category_id]))
    else:
        rows = ScopeDaily.objects.filter(scope=_scope(category_id), day__range=(date_from, date_to))
    per_day = {d: (p, u, o) for d, p, u, o in rows.values_list("day", "revenue_pence", "units", "orders")}
    return _series(date_from, date_to, interval, per_day)


def sales_series_raw(*, date_from: date, date_to: date, interval: str = "DAY", product_id: int | None = None,
                     category_id: int | None = None) -> Series:
    _check_range(date_from, date_to)
    _check_interval(interval)
    rows = (
        _events(date_from, date_to, category_id=category_id, product_id=product_id)
        .filter(PURCHASE)
        .annotate(d=event_day())
        .values("d")
        .annotate(p=Sum(line_pence()), u=Sum("quantity"), o=Count(order_key(), distinct=True))
    )
    per_day = {r["d"]: (r["p"], r["u"], r["o"]) for r in rows}
    return _series(date_from, date_to, interval, per_day)


# --- funnel -----------------------------------------------------------------------------------------


def _funnel(sums: dict) -> Funnel:
    views, carts, purchases = (int(sums[k] or 0) for k in ("views", "add_to_carts", "purchases"))
    return Funnel(views=views, add_to_carts=carts, purchases=purchases, view_to_cart_rate=_ratio(carts, views),
                  cart_to_purchase_rate=_ratio(purchases, carts), view_to_purchase_rate=_ratio(purchases, views))


def funnel(*, date_from: date, date_to: date, product_id: int | None = None,
           category_id: int | None = None) -> Funnel:
    _check_range(date_from, date_to)
    if product_id is not None:
        rows = ProductDaily.objects.filter(product_id=product_id, day__range=(date_from, date_to))
        if category_id is not None:
            rows = rows.filter(product__category_id__in=category_descendant_ids(category_ids=[category_id]))
    else:
        rows = ScopeDaily.objects.filter(scope=_scope(category_id), day__range=(date_from, date_to))
    return _funnel(rows.aggregate(views=Sum("views"), add_to_carts=Sum("add_to_carts"), purchases=Sum("purchases")))


def funnel_raw(*, date_from: date, date_to: date, product_id: int | None = None,
               category_id: int | None = None) -> Funnel:
    _check_range(date_from, date_to)
    sums = additive_aggregates()
    events = _events(date_from, date_to, category_id=category_id, product_id=product_id)
    return _funnel(events.aggregate(**{k: sums[k] for k in ("views", "add_to_carts", "purchases")}))


# --- topProducts ------------------------------------------------------------------------------------


def _check_top(by: str, first: int) -> None:
    if by not in TOP_BY:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_RANKING, f"by must be one of {', '.join(TOP_BY)}.")
    if not 1 <= first <= 100:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_FIRST, "first must be between 1 and 100.")


def _top(totals: dict[int, tuple[int, int, int]], by: str, first: int) -> list[TopProduct]:
    """totals: product id -> (revenue pence, units, views); ties go to the lower product id."""
    column = list(TOP_BY).index(by)
    ranked = sorted(totals.items(), key=lambda item: (-item[1][column], item[0]))[:first]
    names = {p.pk: p for p in Product.objects.filter(pk__in=[pk for pk, _ in ranked]).only("sku", "name")}
    return [
        TopProduct(product_id=pk, sku=names[pk].sku, name=names[pk].name, revenue=_pounds(pence), units=int(units),
                   views=int(views))
        for pk, (pence, units, views) in ranked
    ]


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _whole_periods(date_from: date, date_to: date, first_of, next_of) -> tuple[date, date] | None:
    """First and last start of the periods (months or weeks) lying wholly inside [date_from, date_to]."""
    first = date_from if first_of(date_from) == date_from else next_of(date_from)
    last = first_of(date_to + timedelta(days=1))  # the start of the period after the last whole one
    if first >= last:
        return None
    return first, first_of(last - timedelta(days=1))


def _product_cells(date_from: date, date_to: date) -> list[QuerySet]:
    """Rollup rows covering [date_from, date_to] exactly: whole months, then whole weeks, then days."""
    def monday(d: date) -> date:
        return d - timedelta(days=d.weekday())

    parts: list[QuerySet] = []

    def days_or_weeks(lo: date, hi: date) -> None:
        if lo > hi:
            return
        weeks = _whole_periods(lo, hi, monday, lambda d: monday(d) + timedelta(days=7))
        if weeks is None:
            parts.append(ProductDaily.objects.filter(day__range=(lo, hi)))
            return
        parts.append(ProductWeekly.objects.filter(week__range=weeks))
        if lo < weeks[0]:
            parts.append(ProductDaily.objects.filter(day__gte=lo, day__lt=weeks[0]))
        if weeks[1] + timedelta(days=7) <= hi:
            parts.append(ProductDaily.objects.filter(day__gte=weeks[1] + timedelta(days=7), day__lte=hi))

    months = _whole_periods(date_from, date_to, lambda d: d.replace(day=1), _next_month)
    if months is None:
        days_or_weeks(date_from, date_to)
    else:
        parts.append(ProductMonthly.objects.filter(month__range=months))
        days_or_weeks(date_from, months[0] - timedelta(days=1))
        days_or_weeks(_next_month(months[1]), date_to)
    return parts


def top_products(*, date_from: date, date_to: date, by: str = "REVENUE", first: int = 10) -> list[TopProduct]:
    _check_range(date_from, date_to)
    _check_top(by, first)
    # One statement: the covering cells' rows, summed per product, ranked and cut in the database.
    parts = [rows.order_by().values_list("product_id", "revenue_pence", "units", "views").query.sql_with_params()
             for rows in _product_cells(date_from, date_to)]
    rank = {"REVENUE": 2, "UNITS": 3, "VIEWS": 4}[by]
    sql = (
        "SELECT product_id, SUM(revenue_pence), SUM(units), SUM(views) FROM ("
        + " UNION ALL ".join(part for part, _ in parts)
        + f") cells GROUP BY product_id ORDER BY {rank} DESC, 1 LIMIT %s"
    )
    params = [p for _, part_params in parts for p in part_params] + [first]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _top({pk: (p, u, v) for pk, p, u, v in rows}, by, first)


def top_products_raw(*, date_from: date, date_to: date, by: str = "REVENUE", first: int = 10) -> list[TopProduct]:
    _check_range(date_from, date_to)
    _check_top(by, first)
    sums = additive_aggregates()
    rows = (
        _events(date_from, date_to)
        .values("product_id")
        .annotate(p=sums["revenue_pence"], u=sums["units"], v=sums["views"])
        .order_by(f"-{dict(zip(TOP_BY, 'puv'))[by]}", "product_id")[:first]
    )
    return _top({r["product_id"]: (r["p"], r["u"], r["v"]) for r in rows}, by, first)


# --- categoryShare ----------------------------------------------------------------------------------


def _share(parent_id, revenue_by_scope: dict[int, int]) -> CategoryShare:
    children = Category.objects.filter(parent_id=parent_id).order_by("name", "id").values_list("id", "name")
    total = revenue_by_scope.get(ALL_SCOPE if parent_id is None else int(parent_id), 0)
    items = [
        CategoryRevenue(category_id=pk, name=name, revenue=_pounds(revenue_by_scope.get(pk, 0)),
                        share=_ratio(revenue_by_scope.get(pk, 0), total))
        for pk, name in children
    ]
    items.sort(key=lambda c: (-c.revenue, c.category_id))
    return CategoryShare(parent_id=parent_id, total_revenue=_pounds(total), categories=items)


def category_share(*, date_from: date, date_to: date, parent_id: int | None = None) -> CategoryShare:
    """Each child category of parent_id (top-level categories when None), with the revenue of it and
    everything below it, as a share of the parent's revenue (the whole shop's for top level)."""
    _check_range(date_from, date_to)
    parent = ALL_SCOPE if parent_id is None else int(parent_id)
    scopes = [parent, *Category.objects.filter(parent_id=parent_id).values_list("id", flat=True)]
    rows = (
        ScopeDaily.objects.filter(scope__in=scopes, day__range=(date_from, date_to))
        .values("scope")
        .annotate(p=Sum("revenue_pence"))
    )
    return _share(parent_id, {r["scope"]: r["p"] or 0 for r in rows})


def category_share_raw(*, date_from: date, date_to: date, parent_id: int | None = None) -> CategoryShare:
    _check_range(date_from, date_to)
    rows = (
        _events(date_from, date_to).filter(PURCHASE).values("product__category_id").annotate(p=Sum(line_pence()))
    )
    parents = dict(Category.objects.values_list("id", "parent_id"))
    by_scope: dict[int, int] = defaultdict(int)
    for row in rows:
        by_scope[ALL_SCOPE] += row["p"] or 0
        current, seen = row["product__category_id"], set()
        while current is not None and current not in seen:
            seen.add(current)
            by_scope[current] += row["p"] or 0
            current = parents.get(current)
    return _share(parent_id, by_scope)


# --- new versus returning ---------------------------------------------------------------------------


def customers_new_returning(*, date_from: date, date_to: date, interval: str = "MONTH",
                            category_id: int | None = None) -> NewVsReturning:
    """Per bucket: customers who bought in it for the first time ever (in the category, if given) and
    those who had bought before it. Totals are for the whole range (a customer counts once there)."""
    _check_range(date_from, date_to)
    _check_interval(interval)
    scope = _scope(category_id)
    column = {"DAY": "customers", "WEEK": "first_in_week", "MONTH": "first_in_month"}[interval]
    buckets = _buckets(date_from, date_to, interval)
    index = {label: i for i, (label, _, _) in enumerate(buckets)}
    new, active = [0] * len(buckets), [0] * len(buckets)
    days = ScopeBuyersDaily.objects.filter(scope=scope, day__range=(date_from, date_to))
    for day, n, a in days.values_list("day", "new", column):
        i = index[_bucket(day, interval)]
        new[i] += n
        active[i] += a
    label, first_day, last_day = buckets[0]
    if first_day != label:
        # The range starts inside its first week or month: count that part from the gaps.
        active[0] = _distinct_customers(scope, first_day, last_day)
    total_new = sum(new)
    total_active = _distinct_customers(scope, date_from, date_to)
    return NewVsReturning(interval=interval, dates=[b[0] for b in buckets], new=new,
                          returning=[a - n for a, n in zip(active, new)], total_new=total_new,
                          total_returning=total_active - total_new)


def customers_new_returning_raw(*, date_from: date, date_to: date, interval: str = "MONTH",
                                category_id: int | None = None) -> NewVsReturning:
    _check_range(date_from, date_to)
    _check_interval(interval)
    buyers = Event.objects.filter(PURCHASE, customer_id__isnull=False).order_by()
    if category_id is not None:
        buyers = buyers.filter(product__category_id__in=category_descendant_ids(category_ids=[category_id]))
    lo, hi = day_window(date_from, date_to)
    in_range = buyers.filter(occurred_at__gte=lo, occurred_at__lt=hi)
    first_day = dict(
        buyers.filter(customer_id__in=in_range.values("customer_id")).values("customer_id")
        .annotate(first=_min_day()).values_list("customer_id", "first")
    )
    days = in_range.annotate(d=event_day()).values_list("customer_id", "d").distinct()
    buckets = _buckets(date_from, date_to, interval)
    index = {label: i for i, (label, _, _) in enumerate(buckets)}
    seen: list[set] = [set() for _ in buckets]
    for customer_id, day in days:
        seen[index[_bucket(day, interval)]].add(customer_id)
    new = [sum(1 for c in s if first_day[c] >= b[1]) for s, b in zip(seen, buckets)]
    everyone = set().union(*seen) if seen else set()
    total_new = sum(1 for c in everyone if first_day[c] >= date_from)
    return NewVsReturning(interval=interval, dates=[b[0] for b in buckets], new=new,
                          returning=[len(s) - n for s, n in zip(seen, new)], total_new=total_new,
                          total_returning=len(everyone) - total_new)


def _min_day():
    return Min(event_day())


# --- cohort retention -------------------------------------------------------------------------------


def _cohorts(date_from: date, date_to: date, counts: dict[tuple[date, date], int]) -> CohortRetention:
    months = _months(date_from, date_to)
    customers = [[counts.get((c, m), 0) for m in months[i:]] for i, c in enumerate(months)]
    sizes = [row[0] for row in customers]
    rates = [[n / row[0] if row[0] else 0.0 for n in row] for row in customers]
    return CohortRetention(cohort_months=months, sizes=sizes, customers=customers, rates=rates)


def cohort_retention(*, date_from: date, date_to: date) -> CohortRetention:
    """Cohorts are the months of customers' first purchase from date_from's month to date_to's; each row
    counts how many of the cohort bought in each later month up to date_to's (whole months)."""
    _check_range(date_from, date_to)
    first, last = date_from.replace(day=1), date_to.replace(day=1)
    rows = CohortMonthly.objects.filter(cohort_month__range=(first, last), month__lte=last).values_list(
        "cohort_month", "month", "customers"
    )
    return _cohorts(date_from, date_to, {(c, m): n for c, m, n in rows})


def cohort_retention_raw(*, date_from: date, date_to: date) -> CohortRetention:
    _check_range(date_from, date_to)
    first, last = date_from.replace(day=1), date_to.replace(day=1)
    next_month = (last.replace(day=28) + timedelta(days=4)).replace(day=1)
    buyers = Event.objects.filter(PURCHASE, customer_id__isnull=False).order_by()
    first_day = dict(buyers.values("customer_id").annotate(first=_min_day()).values_list("customer_id", "first"))
    lo, hi = day_window(first, next_month - timedelta(days=1))
    active = buyers.filter(occurred_at__gte=lo, occurred_at__lt=hi).annotate(d=event_day())
    months: dict[int, set] = defaultdict(set)
    for customer_id, day in active.values_list("customer_id", "d").distinct():
        months[customer_id].add(day.replace(day=1))
    counts: dict[tuple[date, date], int] = defaultdict(int)
    for customer_id, active_months in months.items():
        cohort = first_day[customer_id].replace(day=1)
        if first <= cohort <= last:
            for m in active_months:
                counts[(cohort, m)] += 1
    return _cohorts(date_from, date_to, counts)
