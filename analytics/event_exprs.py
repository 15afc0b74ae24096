"""How an event is counted, shared by the rollup builders (services) and the raw-event selectors, so that
both answer with exactly the same definitions."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import BigIntegerField, Count, F, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, NullIf, Round, TruncDate

from behavior.models import EventKind

PURCHASE = Q(kind=EventKind.PURCHASE)
RETURN = Q(kind=EventKind.RETURN)


def shop_zone() -> ZoneInfo:
    return ZoneInfo(settings.SHOP_TIME_ZONE)


def day_window(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[first instant of date_from, first instant after date_to) in the shop's zone (DST-safe)."""
    zone = shop_zone()
    return (datetime.combine(date_from, time(), zone), datetime.combine(date_to + timedelta(days=1), time(), zone))


def local_day(moment: datetime) -> date:
    return moment.astimezone(shop_zone()).date()


def event_day():
    return TruncDate("occurred_at", tzinfo=shop_zone())


def line_pence():
    # Integer pence per line: sums are exact on every backend (SQLite keeps decimals as floats).
    return Cast(Round(F("quantity") * F("unit_price") * 100), BigIntegerField())


def order_key():
    # Lines without an order reference are orders of their own.
    return Coalesce(NullIf(F("order_ref"), Value("")), F("event_id"))


def additive_aggregates() -> dict:
    """The per-cell sums of analytics.models._Additive, in its column order."""
    return {
        "views": Count("id", filter=Q(kind=EventKind.VIEW)),
        "add_to_carts": Count("id", filter=Q(kind=EventKind.ADD_TO_CART)),
        "purchases": Count("id", filter=PURCHASE),
        "units": Coalesce(Sum("quantity", filter=PURCHASE), 0),
        "revenue_pence": Coalesce(Sum(line_pence(), filter=PURCHASE), 0),
        "returns": Count("id", filter=RETURN),
        "returned_units": Coalesce(Sum("quantity", filter=RETURN), 0),
        "returned_pence": Coalesce(Sum(line_pence(), filter=RETURN), 0),
        "orders": Count(order_key(), distinct=True, filter=PURCHASE),
    }
