"""Reads: campaigns, their audience (before launch) and members (after), and each member's outcome.

The big reads (a million members, ten million events) are, on PostgreSQL, columns built by the server and
read in one message (``pgbinary.columns_out``); elsewhere the cursor's rows (``_frame``).
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, FloatField, OuterRef, QuerySet, Sum
from django.db.models.functions import Cast, TruncDate

from behavior.models import Customer, Event, EventKind
from behavior.selectors import customer_event_arrays
from catalog.models import Product
from catalog.selectors import category_descendant_ids
from jobs.models import Job, JobStatus
from segments.models import Segment, SegmentMembership
from segments.selectors import shop_zone

from . import pgbinary
from .models import Campaign, CampaignMember, CampaignPick, Group
from .rules import AudienceRules

AUDIENCE_COLUMNS = ["customer_id", "external_id", "country", "segment", "recency", "frequency", "monetary",
                    "r_score", "f_score", "m_score"]
OUTCOME_COLUMNS = ["member_id", "revenue", "orders", "pre_revenue", "hit"]


def pre_period_days() -> int:
    """How far before startsAt the CUPED covariate (pre-period revenue) looks."""
    return int(getattr(settings, "CAMPAIGNS_PRE_PERIOD_DAYS", 90))


def _frame(sql: str, params: list, columns: list[str]) -> pd.DataFrame:
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")
            with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for chunk in copy:
                    buffer.write(chunk)
        if not buffer.getbuffer().nbytes:
            return pd.DataFrame(columns=columns)
        buffer.seek(0)
        return pd.read_csv(buffer, names=columns, header=None, engine="pyarrow", keep_default_na=False,
                           na_values=[""], dtype={name: str for name in columns if name in ("external_id", "country",
                                                                                            "segment", "group")})
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=columns)


# --- campaigns ----------------------------------------------------------------------------------------


def campaigns_list(*, status: str | None = None) -> QuerySet[Campaign]:
    qs = Campaign.objects.order_by("-created_at", "-id")
    return qs.filter(status=status) if status else qs


def campaign_get(*, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id).first()


def campaign_members(*, campaign_id: int, group: str | None = None) -> QuerySet[CampaignMember]:
    qs = CampaignMember.objects.filter(campaign_id=campaign_id)
    return (qs.filter(group=group) if group else qs).order_by("id")


def treatment_rows(*, campaign_id: int):
    """(member id, customer external id, pick sku or None) for the treatment group, by member then rank, streamed."""
    return (CampaignMember.objects.filter(campaign_id=campaign_id, group=Group.TREATMENT)
            .values_list("id", "customer__external_id", "picks__product__sku")
            .order_by("id", "picks__rank").iterator(chunk_size=10_000))


# --- the audience -------------------------------------------------------------------------------------


def audience(*, run_id: int, segment_ids: list[int], rules: AudienceRules, starts_at: datetime
             ) -> QuerySet[SegmentMembership]:
    """The memberships of the run's chosen segments that pass the rules, customers that still exist only."""
    qs = SegmentMembership.objects.filter(run_id=run_id, segment_id__in=segment_ids,
                                          customer__external_id__isnull=False)
    if rules.countries:
        qs = qs.filter(customer__country__in=rules.countries)
    before = Event.objects.filter(customer_id=OuterRef("customer_id"), kind=EventKind.PURCHASE,
                                  occurred_at__lt=starts_at)
    if rules.last_purchase_more_than_days is not None:
        since = starts_at - timedelta(days=rules.last_purchase_more_than_days)
        qs = qs.filter(~Exists(before.filter(occurred_at__gte=since)))
    if rules.last_purchase_fewer_than_days is not None:
        since = starts_at - timedelta(days=rules.last_purchase_fewer_than_days)
        qs = qs.filter(Exists(before.filter(occurred_at__gte=since)))
    if rules.bought_category_id is not None:
        within = category_descendant_ids(category_ids=[rules.bought_category_id])
        qs = qs.filter(Exists(before.filter(product__category_id__in=within)))
    if rules.never_bought_category_id is not None:
        within = category_descendant_ids(category_ids=[rules.never_bought_category_id])
        qs = qs.filter(~Exists(before.filter(product__category_id__in=within)))
    if rules.rfm_score_min is not None or rules.rfm_score_max is not None:
        qs = qs.annotate(rfm_total=F("r_score") + F("f_score") + F("m_score"))
        if rules.rfm_score_min is not None:
            qs = qs.filter(rfm_total__gte=rules.rfm_score_min)
        if rules.rfm_score_max is not None:
            qs = qs.filter(rfm_total__lte=rules.rfm_score_max)
    return qs


def audience_frame(query: QuerySet[SegmentMembership]) -> pd.DataFrame:
    """The audience as a frame (AUDIENCE_COLUMNS), by customer id. (A CSV COPY: with three text columns, the
    server-built columns of ``pgbinary.columns_out`` measured slower, 4.2 s against 3.5 s for a million.)"""
    rows = query.values_list("customer_id", "customer__external_id", "customer__country", "segment__label",
                             "recency", "frequency", "monetary", "r_score", "f_score", "m_score").order_by("customer_id")
    sql, params = rows.query.sql_with_params()
    frame = _frame(sql, list(params), AUDIENCE_COLUMNS)
    frame["external_id"] = frame["external_id"].astype(str)
    frame["country"] = frame["country"].fillna("").astype(str)
    return frame


def customer_countries(*, customer_ids: np.ndarray) -> dict[int, str]:
    return dict(Customer.objects.filter(pk__in=customer_ids.tolist()).values_list("id", "country"))


# --- outcomes -------------------------------------------------------------------------------------------


def member_groups(*, campaign_id: int) -> pd.DataFrame:
    """(member_id, control) of every member, by member id."""
    if connection.vendor == "postgresql":
        columns = pgbinary.columns_out(f'SELECT id AS member_id, "group" = %s AS control '
                                       f"FROM {CampaignMember._meta.db_table} WHERE campaign_id = %s",
                                       [Group.CONTROL.value, campaign_id], [("member_id", "int8"), ("control", "bool")])
        order = np.argsort(columns["member_id"], kind="stable")
        return pd.DataFrame({"member_id": columns["member_id"][order], "control": columns["control"][order]})
    members = CampaignMember.objects.filter(campaign_id=campaign_id).values_list("id", "group").order_by("id")
    frame = pd.DataFrame(list(members), columns=["member_id", "group"])
    return pd.DataFrame({"member_id": frame["member_id"].astype(np.int64),
                         "control": (frame["group"] == Group.CONTROL.value).to_numpy(dtype=bool)})


def _outcomes_sql() -> str:
    m, e, p = CampaignMember._meta.db_table, Event._meta.db_table, CampaignPick._meta.db_table
    num = "::float8" if connection.vendor == "postgresql" else ""
    order_key = "CASE WHEN e.order_ref <> '' THEN e.order_ref ELSE '#' || e.event_id END"
    # One pass over the members' purchases from the pre-period's start to the window's end. Orders first
    # (member, in window or not, order), then members: two hash aggregations, no sort for a DISTINCT. A
    # purchase in the window of one of the member's own picks is a hit (the LEFT JOIN on member and product).
    return f"""
        SELECT o.member_id,
               COALESCE(SUM(CASE WHEN o.in_window = 1 THEN o.amount END), 0),
               SUM(o.in_window),
               COALESCE(SUM(CASE WHEN o.in_window = 0 THEN o.amount END), 0),
               MAX(o.hit)
          FROM (SELECT m.id AS member_id, CASE WHEN e.occurred_at >= %s THEN 1 ELSE 0 END AS in_window,
                       {order_key} AS order_key, SUM(e.quantity * e.unit_price){num} AS amount,
                       MAX(CASE WHEN p.id IS NOT NULL THEN 1 ELSE 0 END) AS hit
                  FROM {e} e
                  JOIN {m} m ON m.customer_id = e.customer_id AND m.campaign_id = %s
                  LEFT JOIN {p} p ON p.member_id = m.id AND p.product_id = e.product_id AND e.occurred_at >= %s
                 WHERE e.kind = '{EventKind.PURCHASE.value}' AND e.occurred_at >= %s AND e.occurred_at < %s
                 GROUP BY 1, 2, 3) o
         GROUP BY o.member_id
    """


def member_outcomes(*, campaign: Campaign) -> pd.DataFrame:
    """Per member with a purchase in the pre-period or the window: revenue, orders and pre-period revenue,
    and whether they bought one of their picks in the window (OUTCOME_COLUMNS)."""
    adapt = connection.ops.adapt_datetimefield_value
    start, end = adapt(campaign.starts_at), adapt(campaign.ends_at)
    pre_start = adapt(campaign.starts_at - timedelta(days=pre_period_days()))
    frame = _frame(_outcomes_sql(), [start, campaign.pk, start, pre_start, end], OUTCOME_COLUMNS)
    return frame.astype({"member_id": np.int64, "revenue": np.float64, "orders": np.int64,
                         "pre_revenue": np.float64, "hit": np.int64})


def daily_rows(*, campaign: Campaign) -> list[dict]:
    """Per shop-time day of the window and group: revenue and distinct buying members."""
    rows = (Event.objects.filter(kind=EventKind.PURCHASE, occurred_at__gte=campaign.starts_at,
                                 occurred_at__lt=campaign.ends_at, customer__campaign_members__campaign_id=campaign.pk)
            .annotate(day=TruncDate("occurred_at", tzinfo=shop_zone()), group=F("customer__campaign_members__group"))
            .values("day", "group")
            .annotate(revenue=Sum(Cast(F("quantity"), FloatField()) * Cast(F("unit_price"), FloatField())),
                      converters=Count("customer_id", distinct=True))
            .order_by("day", "group"))
    return list(rows)


def member_features(*, campaign: Campaign) -> pd.DataFrame:
    """Each member's group, segment and RFM in the campaign's run (members no longer in it are left out)."""
    m, s, g = CampaignMember._meta.db_table, SegmentMembership._meta.db_table, Segment._meta.db_table
    sql = f"""
        SELECT m.id, m."group", g.label, s.recency, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score
          FROM {m} m
          JOIN {s} s ON s.customer_id = m.customer_id AND s.run_id = %s
          JOIN {g} g ON g.id = s.segment_id
         WHERE m.campaign_id = %s
         ORDER BY m.id
    """
    return _frame(sql, [campaign.run_id, campaign.pk], ["member_id", "group", "segment", "recency", "frequency",
                                                         "monetary", "r_score", "f_score", "m_score"])


def launch_job(*, campaign_id: int) -> Job | None:
    """The newest campaigns.launch job of the campaign."""
    return Job.objects.filter(kind="campaigns.launch", params__campaign_id=campaign_id).order_by("-id").first()


def launch_job_active(*, campaign_id: int) -> bool:
    return Job.objects.filter(kind="campaigns.launch", params__campaign_id=campaign_id,
                              status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()


def customer_campaigns_export(*, customer_id: int) -> list[dict]:
    """The customer's campaign memberships, oldest campaign first: group and frozen picks (a data export)."""
    members = (CampaignMember.objects.filter(customer_id=customer_id).select_related("campaign")
               .prefetch_related("picks__product").order_by("campaign_id"))
    return [{"campaign_id": m.campaign_id, "campaign": m.campaign.name, "status": m.campaign.status,
             "offer": m.campaign.offer, "group": m.group,
             "picks": [pick.product.sku for pick in sorted(m.picks.all(), key=lambda pick: pick.rank)]}
            for m in members]


# --- outcomes as arrays (PostgreSQL) ---------------------------------------------------------------------

def member_purchase_arrays(*, campaign: Campaign, first_member_id: int) -> dict[str, np.ndarray]:
    """The members' purchase lines from the pre-period's start to the window's end: ``member_id``,
    ``in_window`` (bool), ``amount``, ``order`` (a 32-bit hash of the order: distinct orders are counted by it),
    ``product_id`` and ``day`` (the shop-time day, in days since 1970-01-01). PostgreSQL only, for a launch's
    members (consecutive ids from ``first_member_id``): one hash join of the events with the members, read as
    columns (``pgbinary.columns_out``).

    Each column aggregated costs the server about as much again as the scan, so there are four: the member
    (as its offset) and the order hash packed in one int8, the amount in cents, the product, the time; the
    window test and the shop-time day are computed here from the time."""
    m, e = CampaignMember._meta.db_table, Event._meta.db_table
    sql = f"""
        SELECT ((m.id - %s) << 32)
                 | (hashtext(CASE WHEN e.order_ref <> '' THEN e.order_ref ELSE '#' || e.event_id END)::int8
                    & 4294967295) AS member_order,
               e.quantity::int8 * COALESCE((e.unit_price * 100)::int8, 0) AS cents,
               e.product_id AS product_id, e.occurred_at AS occurred_at
          FROM {e} e JOIN {m} m ON m.customer_id = e.customer_id AND m.campaign_id = %s
         WHERE e.kind = '{EventKind.PURCHASE.value}' AND e.occurred_at >= %s AND e.occurred_at < %s"""
    columns = pgbinary.columns_out(sql, [first_member_id, campaign.pk,
                                         campaign.starts_at - timedelta(days=pre_period_days()), campaign.ends_at],
                                   [("member_order", "int8"), ("cents", "int8"), ("product_id", "int8"),
                                    ("occurred_at", "timestamptz")])
    occurred_us = columns["occurred_at"] + PG_EPOCH_US
    return {"member_id": (columns["member_order"] >> 32) + first_member_id,
            "in_window": occurred_us >= _unix_us(campaign.starts_at),
            # Prices have two decimals: the exact amount in cents over 100 is the same float8 as the database's
            # (quantity * unit_price)::float8 (both correctly rounded), with no numeric-to-float cast per row.
            "amount": columns["cents"] / 100.0, "order": columns["member_order"] & 0xFFFFFFFF,
            "product_id": columns["product_id"], "day": shop_days(occurred_us)}


PG_EPOCH_US = 946_684_800_000_000  # PostgreSQL's timestamps count from 2000-01-01 UTC


def _unix_us(moment: datetime) -> int:
    return int(pd.Timestamp(moment).value // 1000)


def shop_days(unix_us: np.ndarray) -> np.ndarray:
    """The shop-time calendar day of each instant (Unix microseconds), in days since 1970-01-01: what
    ``(t AT TIME ZONE shop zone)::date`` gives in the database. Zone offsets are whole minutes, so each
    minute of the span is converted once and the instants look their minute up."""
    if len(unix_us) == 0:
        return np.zeros(0, dtype=np.int64)
    minute = unix_us // 60_000_000
    first = int(minute.min())
    span = int(minute.max()) - first + 1
    starts = (first + np.arange(span, dtype=np.int64)) * 60_000_000 if span <= 10 * len(unix_us) else unix_us
    local = pd.DatetimeIndex(pd.to_datetime(starts, unit="us", utc=True)).tz_convert(shop_zone().key)
    days = local.tz_localize(None).as_unit("us").asi8 // 86_400_000_000
    return days[minute - first] if starts is not unix_us else days


def purchase_history_arrays() -> dict[str, np.ndarray]:
    """Every purchase of a known customer: ``customer_id``, ``product_id``, ``occurred_us`` (Unix microseconds),
    what the picks' history needs of ``behavior.selectors.customer_event_arrays``, read as columns on PostgreSQL
    (a plain COPY hands Python one message per event: about 8 s for 3 million)."""
    if connection.vendor != "postgresql":
        events = customer_event_arrays(kinds=[EventKind.PURCHASE.value])
        return {name: events[name] for name in ("customer_id", "product_id", "occurred_us")}
    columns = pgbinary.columns_out(
        f"SELECT customer_id, product_id, occurred_at FROM {Event._meta.db_table} "
        f"WHERE customer_id IS NOT NULL AND kind = %s", [EventKind.PURCHASE.value],
        [("customer_id", "int8"), ("product_id", "int8"), ("occurred_at", "timestamptz")])
    return {"customer_id": columns["customer_id"], "product_id": columns["product_id"],
            "occurred_us": columns["occurred_at"] + PG_EPOCH_US}


def member_pick_arrays(*, low: int, high: int) -> dict[str, np.ndarray]:
    """(member_id, product_id) of every pick of members low..high (a launch's members have consecutive ids).
    While product ids fit in 32 bits (checked), each pick is read as one int8: the member's offset and the
    product packed (one aggregated column instead of two)."""
    table = CampaignPick._meta.db_table
    largest_product = Product.objects.order_by("-id").values_list("id", flat=True).first() or 0
    if largest_product >= 1 << 32:
        return pgbinary.columns_out(f"SELECT member_id, product_id FROM {table} WHERE member_id >= %s AND member_id <= %s",
                                    [low, high], [("member_id", "int8"), ("product_id", "int8")])
    packed = pgbinary.columns_out(f"SELECT ((member_id - %s) << 32) | product_id AS pick FROM {table} "
                                  "WHERE member_id >= %s AND member_id <= %s", [low, low, high], [("pick", "int8")])["pick"]
    return {"member_id": (packed >> 32) + low, "product_id": packed & 0xFFFFFFFF}
