"""Reads: customer features computed in the database, the served run, segments and members."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Mod

from behavior.models import Customer, Event, EventKind
from behavior.selectors import epoch_seconds_sql as _epoch
from catalog.models import Product

from .models import RunStatus, Segment, SegmentationRun, SegmentMembership

FEATURE_COLUMNS = [
    "customer_id", "recency", "frequency", "monetary", "views", "add_to_cart_rate", "category_breadth",
    "average_basket", "tenure",
]


def shop_zone() -> ZoneInfo:
    return ZoneInfo(getattr(settings, "SHOP_TIME_ZONE", "Europe/London"))


def as_of_cutoff(as_of: date) -> datetime:
    """The end of the as-of day in shop time (exclusive), as an aware datetime."""
    return datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=shop_zone())


def latest_purchase_date() -> date | None:
    """The shop-time day of the last purchase: the default as-of date (so historic data works)."""
    last = Event.objects.filter(kind=EventKind.PURCHASE, customer__isnull=False).order_by("-occurred_at") \
        .values_list("occurred_at", flat=True).first()
    return last.astimezone(shop_zone()).date() if last else None


def _features_sql() -> str:
    e, p = Event._meta.db_table, Product._meta.db_table
    purchase, ret, view, cart = (EventKind.PURCHASE.value, EventKind.RETURN.value, EventKind.VIEW.value,
                                 EventKind.ADD_TO_CART.value)
    num = "::float8" if connection.vendor == "postgresql" else ""
    # One pass over the customer's events. An order is its order_ref, or the line itself without one.
    return f"""
        SELECT e.customer_id,
               {_epoch(f"MAX(CASE WHEN e.kind = '{purchase}' THEN e.occurred_at END)")} AS last_purchase,
               {_epoch(f"MIN(CASE WHEN e.kind = '{purchase}' THEN e.occurred_at END)")} AS first_purchase,
               COUNT(DISTINCT CASE WHEN e.kind = '{purchase}' THEN
                     CASE WHEN e.order_ref <> '' THEN e.order_ref ELSE '#' || e.event_id END END) AS frequency,
               COALESCE(SUM(CASE WHEN e.kind = '{purchase}' THEN e.quantity * e.unit_price END){num}, 0) AS gross,
               COALESCE(SUM(CASE WHEN e.kind = '{ret}' THEN e.quantity * e.unit_price END){num}, 0) AS returned,
               SUM(CASE WHEN e.kind = '{view}' THEN 1 ELSE 0 END) AS views,
               SUM(CASE WHEN e.kind = '{cart}' THEN 1 ELSE 0 END) AS carts,
               COUNT(DISTINCT CASE WHEN e.kind = '{purchase}' THEN p.category_id END) AS category_breadth
          FROM {e} e JOIN {p} p ON p.id = e.product_id
         WHERE e.customer_id IS NOT NULL AND e.occurred_at < %s
         GROUP BY e.customer_id
        HAVING SUM(CASE WHEN e.kind = '{purchase}' THEN 1 ELSE 0 END) > 0
         ORDER BY e.customer_id
    """


RAW_COLUMNS = ["customer_id", "last_purchase", "first_purchase", "frequency", "gross", "returned", "views",
               "carts", "category_breadth"]


def _fetch_raw(cutoff: datetime) -> pd.DataFrame:
    sql = _features_sql()
    param = connection.ops.adapt_datetimefield_value(cutoff)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            # One big aggregate: sort in memory rather than on disk, and skip JIT compilation (a second
            # of compiling for a plan that is mostly sorting). LOCAL: only for this transaction.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
            # COPY streams the rows as text, far cheaper than building a million Python tuples.
            buffer = io.BytesIO()
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", [param]) as copy:
                for chunk in copy:
                    buffer.write(chunk)
        if not buffer.getbuffer().nbytes:
            return pd.DataFrame(columns=RAW_COLUMNS, dtype="float64")
        buffer.seek(0)
        # pyarrow's parser: about 3x faster than pandas' own on a million rows.
        return pd.read_csv(buffer, names=RAW_COLUMNS, header=None, engine="pyarrow").astype("float64")
    with connection.cursor() as cursor:
        cursor.execute(sql, [param])
        return pd.DataFrame(cursor.fetchall(), columns=RAW_COLUMNS, dtype="float64")


def customer_features(*, as_of: date) -> pd.DataFrame:
    """One row per customer with at least one purchase before the end of ``as_of`` (shop time).

    recency: whole days from the last purchase to the end of the as-of day (0 = bought that day);
    frequency: distinct orders; monetary: purchases minus returns; views; add_to_cart_rate: add-to-carts
    per view (0 without views); category_breadth: distinct categories bought from; average_basket:
    gross purchase value per order; tenure: whole days since the first purchase. Anonymous events
    (no customer) are left out.
    """
    cutoff = as_of_cutoff(as_of)
    raw = _fetch_raw(cutoff)
    end = cutoff.timestamp()
    frame = pd.DataFrame({
        "customer_id": raw["customer_id"].astype(np.int64),
        "recency": np.floor((end - raw["last_purchase"]) / 86400.0).astype(np.int64),
        "frequency": raw["frequency"].astype(np.int64),
        "monetary": (raw["gross"] - raw["returned"]).round(2),
        "views": raw["views"].astype(np.int64),
        "add_to_cart_rate": np.where(raw["views"] > 0, raw["carts"] / raw["views"].where(raw["views"] > 0, 1), 0.0),
        "category_breadth": raw["category_breadth"].astype(np.int64),
        "average_basket": (raw["gross"] / raw["frequency"].clip(lower=1)).round(2),
        "tenure": np.floor((end - raw["first_purchase"]) / 86400.0).astype(np.int64),
    })
    return frame[FEATURE_COLUMNS]


# --- served results ----------------------------------------------------------------------------------


def segmentation_runs() -> QuerySet[SegmentationRun]:
    return SegmentationRun.objects.order_by("-created_at", "-id")


def current_run_id_subquery() -> Subquery:
    return Subquery(
        SegmentationRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at", "-id").values("id")[:1]
    )


def segmentation_run_current() -> SegmentationRun | None:
    return SegmentationRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at", "-id").first()


def segments_for_run(*, run_id: int | None = None) -> QuerySet[Segment]:
    """The segments of a run (a SUCCEEDED one), or of the served run when no id is given."""
    qs = Segment.objects.filter(run__status=RunStatus.SUCCEEDED)
    qs = qs.filter(run_id=run_id) if run_id is not None else qs.filter(run_id=current_run_id_subquery())
    return qs.order_by("-revenue_share", "id")


def segment_members(*, segment_id: int) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(segment_id=segment_id).order_by("customer_id")


def _current_membership(customer_ref) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(customer_id=customer_ref, run_id=current_run_id_subquery())


def customer_segment_annotations() -> dict:
    """Correlated subqueries giving a customer's label and RFM code in the served run: a page of any
    size costs no extra query (used as optimizer annotations on the Customer type)."""
    current = _current_membership(OuterRef("pk"))
    return {
        "current_segment_label": Subquery(current.values("segment__label")[:1]),
        "current_rfm_score": Subquery(current.values("rfm_score")[:1]),
    }


def customer_current_membership(*, customer_id: int) -> SegmentMembership | None:
    return _current_membership(customer_id).select_related("segment").first()


def audience_rows(*, segment_id: int):
    """(external_id, country, recency, frequency, monetary, rfm_score) for each member, streamed."""
    return segment_members(segment_id=segment_id).values_list(
        "customer__external_id", "customer__country", "recency", "frequency", "monetary", "rfm_score"
    ).iterator(chunk_size=5000)


def customers_total() -> int:
    return Customer.objects.count()


def segment_get(*, segment_id: int) -> Segment | None:
    """A segment of a successful run (a run still building or failed has nothing to show)."""
    return Segment.objects.filter(pk=segment_id, run__status=RunStatus.SUCCEEDED).first()


def segment_scatter(*, run_id: int | None = None, limit: int = 2000) -> tuple[int, list[tuple[int, int, int, float]]]:
    """(members in the run, up to ``limit`` members' (segment_id, recency, frequency, monetary)).

    Past ``limit`` every n-th membership row is taken (n = ceil(total / limit)), so a million-member run
    sends a few thousand evenly spread points and the same ones on every call; the served run by default.
    """
    memberships = SegmentMembership.objects.filter(run__status=RunStatus.SUCCEEDED)
    memberships = memberships.filter(run_id=run_id) if run_id is not None else \
        memberships.filter(run_id=current_run_id_subquery())
    total = memberships.count()
    step = max(1, -(-total // max(1, limit)))
    if step > 1:
        memberships = memberships.annotate(every=Mod(F("id"), step)).filter(every=0)
    rows = memberships.order_by("id").values_list("segment_id", "recency", "frequency", "monetary")[:limit]
    return total, list(rows)

def customer_memberships_export(*, customer_id: int) -> list[dict]:
    """The customer's segment and RFM in every stored run, newest run first (a customer's data export)."""
    rows = (SegmentMembership.objects.filter(customer_id=customer_id).order_by("-run_id")
            .values("run_id", "run__as_of", "segment__label", "recency", "frequency", "monetary", "r_score",
                    "f_score", "m_score", "rfm_score"))
    return [{"run_id": r["run_id"], "as_of": r["run__as_of"], "segment": r["segment__label"],
             **{k: r[k] for k in ("recency", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_score")}}
            for r in rows]
