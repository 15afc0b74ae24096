"""Set-based storage of event rows: the one path that GraphQL batches, CSV imports, the demo dataset and
synthetic data all go through (called from ``behavior.services``, which owns the transaction).

Rows arrive as CSV text (all values strings, empty = missing) in any order of ``EVENT_FIELDS``.

* PostgreSQL: ``COPY`` into a temporary staging table, one ``CREATE TABLE AS SELECT`` that parses and
  checks every row (the first failing check gives the row's code), then ``INSERT ... SELECT ... ON
  CONFLICT DO NOTHING`` for new customers and for the events.
* SQLite: the same checks in Python (``_check_row``), then ``INSERT OR IGNORE`` in batches.

Both implement exactly the rules below (the tests run the same cases on both databases):
values are trimmed of spaces; ``kind`` is case-insensitive; ``occurredAt`` is ISO 8601 (a missing offset
means the shop's time zone; a local time that a DST change makes ambiguous or skips is read as standard
time, as PostgreSQL does), at most one day in the future; ``quantity`` defaults to 1; prices are rounded
half-up to pennies; a missing ``eventId`` is derived from the normalised content
(``auto-`` + md5), so re-sending a batch stores nothing new; the first row with a given eventId wins.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .error_codes import EVENT_CODE_FIELD, IngestErrorCode as Code

EVENT_FIELDS = (
    "event_id", "customer_external_id", "product_sku", "kind", "occurred_at",
    "quantity", "unit_price", "rating", "order_ref", "session_id",
)
KINDS = ("view", "add_to_cart", "purchase", "review", "return")
MAX_QUANTITY = 1_000_000
SQLITE_CHUNK = 20_000

# The same patterns in PostgreSQL (ARE) and Python; [0-9], never \d (which is Unicode-aware in Python).
TS_PATTERN = (
    r"(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):([0-5][0-9])"
    r"(:([0-5][0-9])(\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?"
)
OFFSET_PATTERN = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
QTY_PATTERN = r"\+?[0-9]{1,9}"
PRICE_PATTERN = r"\+?[0-9]{1,9}(\.[0-9]+)?"
RATING_PATTERN = r"[+-]?[0-9]{1,4}"


@dataclass
class RowError:
    index: int  # 0-based position in the batch / data row of the file
    field: str
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "code": self.code, "message": self.message}


@dataclass
class EventsOutcome:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    customers_created: int = 0
    start: datetime | None = None
    end: datetime | None = None
    product_ids: set[int] = field(default_factory=set)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def add(self, other: EventsOutcome, max_errors: int) -> None:
        self.read += other.read
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.rejected.update(other.rejected)
        self.errors.extend(other.errors[: max(0, max_errors - len(self.errors))])
        self.customers_created += other.customers_created
        self.product_ids |= other.product_ids
        for attr, pick in (("start", min), ("end", max)):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, theirs if mine is None else (mine if theirs is None else pick(mine, theirs)))


def _error(index: int, code: str) -> RowError:
    field_name, message = EVENT_CODE_FIELD[Code(code)]
    return RowError(index=index, field=field_name, code=code, message=message)


def derived_event_id(customer, sku, kind, occurred_utc: datetime, quantity: int, price, rating, order_ref, session) -> str:
    text = "|".join([
        customer or "", sku, kind, occurred_utc.strftime("%Y-%m-%dT%H:%M:%S.%f"), str(quantity),
        "" if price is None else str(price), "" if rating is None else str(rating), order_ref, session,
    ])
    return "auto-" + hashlib.md5(text.encode()).hexdigest()


# --- entry point ---------------------------------------------------------------------------------------


def store_events_csv(
    *,
    columns: list[str],
    chunks: Iterable[bytes],
    header: bool,
    first_index: int = 0,
    max_errors: int = 1000,
    on_bytes: Callable[[int], None] | None = None,
) -> EventsOutcome:
    """Store CSV data (``columns`` in this order; a header line first when ``header``). Call in a transaction."""
    unknown = set(columns) - set(EVENT_FIELDS)
    if unknown or "product_sku" not in columns:
        raise ValueError(f"columns must be among {', '.join(EVENT_FIELDS)} and include product_sku; "
                         f"unknown: {', '.join(sorted(unknown)) or 'none'}")
    if connection.vendor == "postgresql":
        return _store_postgres(columns=columns, chunks=chunks, header=header, first_index=first_index,
                               max_errors=max_errors, on_bytes=on_bytes)
    return _store_python(columns=columns, chunks=chunks, header=header, first_index=first_index,
                         max_errors=max_errors, on_bytes=on_bytes)


# --- PostgreSQL: COPY + set-based checks -----------------------------------------------------------

_CHECK_SQL = f"""
CREATE TEMP TABLE ingest_checked AS
-- MATERIALIZED: computed once per row. Inlined, every reference to ts, qty, price or rating below would
-- evaluate its regex-and-cast expression again (4x slower on 200k rows).
WITH s AS MATERIALIZED (
    SELECT line,
        NULLIF(btrim(event_id), '') AS event_id,
        NULLIF(btrim(customer_external_id), '') AS customer,
        NULLIF(btrim(product_sku), '') AS sku,
        lower(NULLIF(btrim(kind), '')) AS kind,
        NULLIF(btrim(occurred_at), '') AS ts_text,
        NULLIF(btrim(quantity), '') AS qty_text,
        NULLIF(btrim(unit_price), '') AS price_text,
        NULLIF(btrim(rating), '') AS rating_text,
        COALESCE(btrim(order_ref), '') AS order_ref,
        COALESCE(btrim(session_id), '') AS session_id
    FROM ingest_stage
), p AS MATERIALIZED (
    SELECT s.*,
        CASE WHEN ts_text ~ '^{TS_PATTERN}$'
              AND substr(ts_text, 9, 2)::int <= extract(day FROM make_date(substr(ts_text, 1, 4)::int,
                                                   substr(ts_text, 6, 2)::int, 1) + interval '1 month - 1 day')
            THEN CASE WHEN ts_text ~ '{OFFSET_PATTERN}' THEN ts_text::timestamptz
                      ELSE ts_text::timestamp AT TIME ZONE %(tz)s END
        END AS ts,
        CASE WHEN qty_text IS NULL THEN 1 WHEN qty_text ~ '^{QTY_PATTERN}$' THEN qty_text::int END AS qty,
        CASE WHEN price_text ~ '^{PRICE_PATTERN}$' THEN round(price_text::numeric, 2) END AS price,
        CASE WHEN rating_text ~ '^{RATING_PATTERN}$' THEN rating_text::int END AS rating
    FROM s
), c AS (
    SELECT p.*, pr.product_id,
        CASE
            WHEN length(p.event_id) > 64 THEN '{Code.INVALID_EVENT_ID.value}'
            WHEN length(customer) > 64 THEN '{Code.INVALID_CUSTOMER.value}'
            WHEN sku IS NULL THEN '{Code.PRODUCT_REQUIRED.value}'
            WHEN kind IS NULL OR kind NOT IN ({", ".join(f"'{k}'" for k in KINDS)}) THEN '{Code.INVALID_KIND.value}'
            WHEN ts IS NULL OR ts > %(latest)s THEN '{Code.INVALID_TIMESTAMP.value}'
            WHEN qty IS NULL OR qty < 1 OR qty > {MAX_QUANTITY} THEN '{Code.INVALID_QUANTITY.value}'
            WHEN price_text IS NOT NULL AND price IS NULL THEN '{Code.INVALID_PRICE.value}'
            WHEN kind IN ('purchase', 'return') AND price IS NULL THEN '{Code.PRICE_REQUIRED.value}'
            WHEN rating_text IS NOT NULL AND (rating IS NULL OR rating < 1 OR rating > 5)
                THEN '{Code.RATING_OUT_OF_RANGE.value}'
            WHEN kind = 'review' AND rating IS NULL THEN '{Code.RATING_REQUIRED.value}'
            WHEN length(order_ref) > 64 THEN '{Code.INVALID_ORDER_REF.value}'
            WHEN length(session_id) > 64 THEN '{Code.INVALID_SESSION_ID.value}'
            WHEN pr.product_id IS NULL THEN '{Code.UNKNOWN_PRODUCT.value}'
        END AS code
    FROM p LEFT JOIN (SELECT id AS product_id, sku AS known_sku FROM catalog_product) pr ON pr.known_sku = p.sku
)
SELECT line, code, product_id, customer, kind, ts, qty, price, rating, order_ref, session_id,
    CASE WHEN code IS NULL THEN COALESCE(event_id, 'auto-' || md5(concat_ws('|',
        COALESCE(customer, ''), sku, kind, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        qty::text, COALESCE(price::text, ''), COALESCE(rating::text, ''), order_ref, session_id)))
    END AS event_id
FROM c
"""


def _store_postgres(*, columns, chunks, header, first_index, max_errors, on_bytes) -> EventsOutcome:
    out = EventsOutcome()
    with connection.cursor() as cur:
        # The ordered insert and the hash joins of a big file stay in memory (this transaction only).
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("DROP TABLE IF EXISTS pg_temp.ingest_stage, pg_temp.ingest_checked")
        cur.execute(
            "CREATE TEMP TABLE ingest_stage (line bigint GENERATED ALWAYS AS IDENTITY, "
            + ", ".join(f"{name} text" for name in EVENT_FIELDS) + ")"
        )
        options = "FORMAT csv, HEADER true" if header else "FORMAT csv"
        with cur.cursor.copy(f"COPY ingest_stage ({', '.join(columns)}) FROM STDIN ({options})") as copy:
            for chunk in chunks:
                copy.write(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
        cur.execute(_CHECK_SQL, {"tz": settings.SHOP_TIME_ZONE, "latest": timezone.now() + timedelta(days=1)})
        out.read = cur.rowcount
        if out.read == 0:
            return out
        cur.execute("SELECT code, count(*) FROM ingest_checked WHERE code IS NOT NULL GROUP BY code")
        out.rejected = Counter({code: n for code, n in cur.fetchall()})
        if out.rejected and max_errors:
            cur.execute("SELECT line, code FROM ingest_checked WHERE code IS NOT NULL ORDER BY line LIMIT %s",
                        [max_errors])
            out.errors = [_error(first_index + line - 1, code) for line, code in cur.fetchall()]
        cur.execute(
            "INSERT INTO behavior_customer (external_id, country, attributes, created_at) "
            "SELECT DISTINCT customer, '', '{}'::jsonb, now() FROM ingest_checked "
            "WHERE code IS NULL AND customer IS NOT NULL ON CONFLICT (external_id) DO NOTHING"
        )
        out.customers_created = cur.rowcount
        cur.execute(
            "INSERT INTO behavior_event (event_id, customer_id, product_id, kind, occurred_at, quantity, unit_price,"
            " rating, order_ref, session_id) "
            "SELECT c.event_id, cu.id, c.product_id, c.kind, c.ts, c.qty, c.price, c.rating, c.order_ref, c.session_id"
            " FROM ingest_checked c LEFT JOIN behavior_customer cu ON cu.external_id = c.customer"
            " WHERE c.code IS NULL ORDER BY c.line ON CONFLICT (event_id) DO NOTHING"
        )
        out.stored = cur.rowcount
        out.duplicates = out.read - out.stored - out.rejected_total
        if out.stored:
            cur.execute("SELECT min(ts), max(ts), array_agg(DISTINCT product_id) FROM ingest_checked WHERE code IS NULL")
            out.start, out.end, ids = cur.fetchone()
            out.product_ids = set(ids or [])
        cur.execute("DROP TABLE ingest_stage, ingest_checked")
    return out


# --- SQLite (and anything else): the same rules in Python --------------------------------------------

_TS = re.compile(TS_PATTERN)
_OFFSET = re.compile(OFFSET_PATTERN)
_QTY = re.compile(QTY_PATTERN)
_PRICE = re.compile(PRICE_PATTERN)
_RATING = re.compile(RATING_PATTERN)
_PENNY = Decimal("0.01")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip(" ")
    return value or None


def parse_timestamp(text: str, tz: ZoneInfo) -> datetime | None:
    """The PostgreSQL rules above, in Python; None when invalid."""
    if not _TS.fullmatch(text):
        return None
    try:
        naive = datetime.fromisoformat(text[:10] + "T" + text[11:])
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive.astimezone(dt_timezone.utc)
    # A local time made ambiguous or skipped by a DST change is read as standard time (smaller offset).
    candidates = [naive.replace(tzinfo=tz, fold=f) for f in (0, 1)]
    local = min(candidates, key=lambda d: d.utcoffset())
    return local.astimezone(dt_timezone.utc)


def _check_row(row: dict, tz: ZoneInfo, latest: datetime):
    """(code, None) for a rejected row, else (None, parsed values)."""
    event_id = _clean(row.get("event_id"))
    customer = _clean(row.get("customer_external_id"))
    sku = _clean(row.get("product_sku"))
    kind = _clean(row.get("kind"))
    kind = kind.lower() if kind else None
    ts_text = _clean(row.get("occurred_at"))
    qty_text = _clean(row.get("quantity"))
    price_text = _clean(row.get("unit_price"))
    rating_text = _clean(row.get("rating"))
    order_ref = (row.get("order_ref") or "").strip(" ")
    session = (row.get("session_id") or "").strip(" ")

    ts = parse_timestamp(ts_text, tz) if ts_text else None
    qty = 1 if qty_text is None else (int(qty_text) if _QTY.fullmatch(qty_text) else None)
    price = (Decimal(price_text).quantize(_PENNY, rounding=ROUND_HALF_UP)
             if price_text is not None and _PRICE.fullmatch(price_text) else None)
    rating = int(rating_text) if rating_text is not None and _RATING.fullmatch(rating_text) else None

    if event_id is not None and len(event_id) > 64:
        return Code.INVALID_EVENT_ID, None
    if customer is not None and len(customer) > 64:
        return Code.INVALID_CUSTOMER, None
    if sku is None:
        return Code.PRODUCT_REQUIRED, None
    if kind not in KINDS:
        return Code.INVALID_KIND, None
    if ts is None or ts > latest:
        return Code.INVALID_TIMESTAMP, None
    if qty is None or qty < 1 or qty > MAX_QUANTITY:
        return Code.INVALID_QUANTITY, None
    if price_text is not None and price is None:
        return Code.INVALID_PRICE, None
    if kind in ("purchase", "return") and price is None:
        return Code.PRICE_REQUIRED, None
    if rating_text is not None and (rating is None or not 1 <= rating <= 5):
        return Code.RATING_OUT_OF_RANGE, None
    if kind == "review" and rating is None:
        return Code.RATING_REQUIRED, None
    if len(order_ref) > 64:
        return Code.INVALID_ORDER_REF, None
    if len(session) > 64:
        return Code.INVALID_SESSION_ID, None
    if event_id is None:
        event_id = derived_event_id(customer, sku, kind, ts, qty, price, rating, order_ref, session)
    return None, (event_id, customer, sku, kind, ts, qty, price, rating, order_ref, session)


def _text_lines(chunks: Iterable[bytes], on_bytes) -> Iterable[str]:
    def raw():
        for chunk in chunks:
            if on_bytes:
                on_bytes(len(chunk))
            yield chunk

    class _Reader(io.RawIOBase):
        def __init__(self):
            self._it, self._buf = raw(), b""

        def readable(self):
            return True

        def readinto(self, b):
            while not self._buf:
                try:
                    self._buf = next(self._it)
                except StopIteration:
                    return 0
            n = min(len(b), len(self._buf))
            b[:n], self._buf = self._buf[:n], self._buf[n:]
            return n

    return io.TextIOWrapper(io.BufferedReader(_Reader(), 1 << 20), encoding="utf-8", newline="")


def _store_python(*, columns, chunks, header, first_index, max_errors, on_bytes) -> EventsOutcome:
    reader = csv.reader(_text_lines(chunks, on_bytes))
    if header:
        next(reader, None)
    out = EventsOutcome()
    batch: list[list[str]] = []
    index = first_index
    for values in reader:
        batch.append(values)
        if len(batch) >= SQLITE_CHUNK:
            out.add(_store_python_batch(columns, batch, index, max_errors - len(out.errors)), max_errors)
            index += len(batch)
            batch = []
    if batch:
        out.add(_store_python_batch(columns, batch, index, max_errors - len(out.errors)), max_errors)
    return out


def _store_python_batch(columns, batch, first_index, max_errors) -> EventsOutcome:
    from catalog.models import Product

    from .models import Customer

    tz = ZoneInfo(settings.SHOP_TIME_ZONE)
    latest = timezone.now() + timedelta(days=1)
    out = EventsOutcome(read=len(batch))
    checked = []
    for offset, values in enumerate(batch):
        row = dict(zip(columns, (v if v != "" else None for v in values)))
        code, parsed = _check_row(row, tz, latest)
        checked.append((offset, code, parsed))
    skus = {p[2] for _, code, p in checked if code is None}
    product_ids: dict[str, int] = {}
    sku_list = sorted(skus)
    for i in range(0, len(sku_list), 500):
        product_ids.update(Product.objects.filter(sku__in=sku_list[i:i + 500]).values_list("sku", "id"))
    valid = []
    for offset, code, parsed in checked:
        if code is None and parsed[2] not in product_ids:
            code = Code.UNKNOWN_PRODUCT
        if code is not None:
            out.rejected[code.value] += 1
            if len(out.errors) < max_errors:
                out.errors.append(_error(first_index + offset, code.value))
            continue
        valid.append(parsed)
    if not valid:
        return out
    customers = sorted({p[1] for p in valid if p[1] is not None})
    customer_ids: dict[str, int] = {}
    now = timezone.now()
    ops = connection.ops
    with connection.cursor() as cur:
        if customers:
            cur.executemany(
                "INSERT OR IGNORE INTO behavior_customer (external_id, country, attributes, created_at) "
                "VALUES (%s, '', '{}', %s)",
                [(c, ops.adapt_datetimefield_value(now)) for c in customers],
            )
            out.customers_created = max(cur.rowcount, 0)
            for i in range(0, len(customers), 500):
                customer_ids.update(Customer.objects.filter(external_id__in=customers[i:i + 500])
                                    .values_list("external_id", "id"))
        before = connection.connection.total_changes
        cur.executemany(
            "INSERT OR IGNORE INTO behavior_event (event_id, customer_id, product_id, kind, occurred_at, quantity,"
            " unit_price, rating, order_ref, session_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (event_id, customer_ids.get(customer) if customer else None, product_ids[sku], kind,
                 ops.adapt_datetimefield_value(ts), qty,
                 None if price is None else ops.adapt_decimalfield_value(price, 12, 2), rating, order_ref, session)
                for event_id, customer, sku, kind, ts, qty, price, rating, order_ref, session in valid
            ],
        )
        out.stored = connection.connection.total_changes - before
    out.duplicates = out.read - out.stored - out.rejected_total
    out.start = min(p[4] for p in valid)
    out.end = max(p[4] for p in valid)
    out.product_ids = {product_ids[p[2]] for p in valid}
    return out
