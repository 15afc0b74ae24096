"""Set-based storage of event rows: the one path that GraphQL batches, CSV imports, the demo dataset and
synthetic data all go through (called from ``behavior.services``, which owns the transaction).

Rows arrive as CSV text (``store_events_csv``: all values strings, empty = missing, in any order of
``EVENT_FIELDS``) or as dicts (``store_events``: a GraphQL batch).

* PostgreSQL: one statement (``_store_sql``) parses and checks every row (the first failing check gives
  the row's code), creates the customers seen for the first time and inserts the events (``ON CONFLICT DO
  NOTHING``), and returns the counts. Its rows come from a temporary table filled by ``COPY`` (CSV) or from
  one array parameter per field (dicts: no table to create per call).
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

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection
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


# --- entry points ------------------------------------------------------------------------------------


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
        return _store_postgres_copy(columns=columns, chunks=chunks, header=header, first_index=first_index,
                                    max_errors=max_errors, on_bytes=on_bytes)
    return _store_python(columns=columns, chunks=chunks, header=header, first_index=first_index,
                         max_errors=max_errors, on_bytes=on_bytes)


def store_events(*, events: list[dict], first_index: int = 0, max_errors: int = 1000) -> EventsOutcome:
    """Store events given as dicts keyed by EVENT_FIELDS (a GraphQL batch): the same rules and the same
    statement as ``store_events_csv``, without a staging table. Call in a transaction."""
    rows = [[_as_text(event.get(name)) for name in EVENT_FIELDS] for event in events]
    if connection.vendor == "postgresql":
        return _store_postgres_rows(rows=rows, first_index=first_index, max_errors=max_errors)
    out = EventsOutcome()
    for start in range(0, len(rows), SQLITE_CHUNK):
        out.add(_store_python_batch(EVENT_FIELDS, rows[start:start + SQLITE_CHUNK], first_index + start,
                                    max_errors - len(out.errors)), max_errors)
    return out


def _as_text(value) -> str:
    """A value as the text a CSV file would carry ('' for missing)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- PostgreSQL: one statement checks and stores every row -------------------------------------------


def _check_sql(source: str, *, few_rows: bool) -> str:
    """A query over ``source`` (``line`` and the EVENT_FIELDS as text) giving each row's code (NULL when
    valid) and its parsed values, with the product's id and, when the customer exists, the customer's.

    ``few_rows`` (a GraphQL batch): products and customers are looked up by index row by row; the planner
    would otherwise hash the whole customer table for a thousand rows (about 8 ms per 50,000 customers).
    A file joins them by hash."""
    if few_rows:  # LIMIT 1 (the keys are unique) keeps each lookup a per-row index scan
        lookups = """
    LEFT JOIN LATERAL (SELECT id AS product_id FROM catalog_product WHERE sku = p.sku LIMIT 1) pr ON true
    LEFT JOIN LATERAL (SELECT id AS customer_id FROM behavior_customer WHERE external_id = p.customer LIMIT 1) cu
        ON true"""
    else:
        lookups = """
    LEFT JOIN (SELECT id AS product_id, sku AS known_sku FROM catalog_product) pr ON pr.known_sku = p.sku
    LEFT JOIN (SELECT id AS customer_id, external_id AS known_customer FROM behavior_customer) cu
        ON cu.known_customer = p.customer"""
    # Every test below has already matched TS_PATTERN: an offset follows the minutes (position 17 on)
    # exactly when a Z, + or - does; a day up to 28 exists in every month.
    tail = "substr(ts_text, 17)"
    has_offset = f"(strpos({tail}, 'Z') > 0 OR strpos({tail}, '+') > 0 OR strpos({tail}, '-') > 0)"
    day_exists = (
        "(substr(ts_text, 9, 2) COLLATE \"C\" <= '28' OR substr(ts_text, 9, 2)::int <= extract(day FROM "
        "make_date(substr(ts_text, 1, 4)::int, substr(ts_text, 6, 2)::int, 1) + interval '1 month - 1 day'))"
    )
    return f"""
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
    FROM {source}
), p AS MATERIALIZED (
    SELECT s.*,
        CASE WHEN ts_text ~ '^{TS_PATTERN}$' AND {day_exists}
            THEN CASE WHEN {has_offset} THEN ts_text::timestamptz ELSE ts_text::timestamp AT TIME ZONE %(tz)s END
        END AS ts,
        CASE WHEN qty_text IS NULL THEN 1 WHEN qty_text ~ '^{QTY_PATTERN}$' THEN qty_text::int END AS qty,
        CASE WHEN price_text ~ '^{PRICE_PATTERN}$' THEN round(price_text::numeric, 2) END AS price,
        CASE WHEN rating_text ~ '^{RATING_PATTERN}$' THEN rating_text::int END AS rating
    FROM s
), c AS (
    SELECT p.*, pr.product_id, cu.customer_id,
        CASE
            WHEN length(p.event_id) > 64 THEN '{Code.INVALID_EVENT_ID.value}'
            WHEN length(p.customer) > 64 THEN '{Code.INVALID_CUSTOMER.value}'
            WHEN p.sku IS NULL THEN '{Code.PRODUCT_REQUIRED.value}'
            WHEN p.kind IS NULL OR p.kind NOT IN ({", ".join(f"'{k}'" for k in KINDS)}) THEN '{Code.INVALID_KIND.value}'
            WHEN ts IS NULL OR ts > %(latest)s THEN '{Code.INVALID_TIMESTAMP.value}'
            WHEN qty IS NULL OR qty < 1 OR qty > {MAX_QUANTITY} THEN '{Code.INVALID_QUANTITY.value}'
            WHEN price_text IS NOT NULL AND price IS NULL THEN '{Code.INVALID_PRICE.value}'
            WHEN p.kind IN ('purchase', 'return') AND price IS NULL THEN '{Code.PRICE_REQUIRED.value}'
            WHEN rating_text IS NOT NULL AND (rating IS NULL OR rating < 1 OR rating > 5)
                THEN '{Code.RATING_OUT_OF_RANGE.value}'
            WHEN p.kind = 'review' AND rating IS NULL THEN '{Code.RATING_REQUIRED.value}'
            WHEN length(p.order_ref) > 64 THEN '{Code.INVALID_ORDER_REF.value}'
            WHEN length(p.session_id) > 64 THEN '{Code.INVALID_SESSION_ID.value}'
            WHEN pr.product_id IS NULL THEN '{Code.UNKNOWN_PRODUCT.value}'
        END AS code
    FROM p{lookups}
)
SELECT line, code, product_id, customer, customer_id, kind, ts, qty, price, rating, order_ref, session_id,
    CASE WHEN code IS NULL THEN COALESCE(event_id, 'auto-' || md5(concat_ws('|',
        COALESCE(customer, ''), sku, kind, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        qty::text, COALESCE(price::text, ''), COALESCE(rating::text, ''), order_ref, session_id)))
    END AS event_id
FROM c"""


def _store_sql(source: str, *, few_rows: bool, lock_references: bool) -> str:
    """Checks and stores the rows of ``source`` in one statement (one pass over the data, nothing written
    but the customers and events), and returns what happened as one row.

    ``lock_references``: the statement itself does what the foreign keys' per-row triggers would do at
    commit (see ``_run_store``): it locks every product and customer its events reference (FOR KEY SHARE,
    as the triggers do) and returns how many it locked and how many it should have."""
    locks = lock_counts = ""
    if lock_references:
        locks = """
), locked_products AS (
    SELECT id FROM catalog_product WHERE id IN (SELECT product_id FROM stored) FOR KEY SHARE
), locked_customers AS (
    -- Customers created by this statement are not in its snapshot: nobody else can see them yet.
    SELECT id FROM behavior_customer WHERE id IN (SELECT customer_id FROM stored) FOR KEY SHARE"""
        lock_counts = """,
    (SELECT count(*) FROM locked_products), (SELECT count(DISTINCT product_id) FROM stored),
    (SELECT count(*) FROM locked_customers),
    (SELECT count(DISTINCT customer_id) FROM stored WHERE customer_id NOT IN (SELECT id FROM new_customers))"""
    return f"""
WITH checked AS MATERIALIZED ({_check_sql(source, few_rows=few_rows)}
), new_customers AS (
    -- Customers of valid rows that did not exist when the statement began. One created meanwhile by another
    -- transaction conflicts: the no-op update returns its id (DO NOTHING would return nothing, and its
    -- events would lose their customer); it was not created here. The update names a non-key column, so it
    -- locks the row FOR NO KEY UPDATE, which does not wait for the KEY SHARE locks that other batches'
    -- events hold on their customers (naming external_id would lock FOR UPDATE and deadlock with them).
    -- In key order (as every writer of customers inserts them), so that two batches sharing new customers
    -- queue behind each other instead of deadlocking.
    INSERT INTO behavior_customer AS k (external_id, country, attributes, created_at)
    SELECT customer, '', '{{}}'::jsonb, now() FROM (
        SELECT DISTINCT customer FROM checked WHERE code IS NULL AND customer IS NOT NULL AND customer_id IS NULL
    ) d
    ORDER BY customer COLLATE "C"
    ON CONFLICT (external_id) DO UPDATE SET country = k.country
    RETURNING k.id, k.external_id, k.created_at = now() AS created_here
), stored AS (
    -- Of two rows with one event id the first (in line order) wins; the rows are inserted in event-id order,
    -- so that concurrent batches sharing events queue behind each other instead of deadlocking.
    INSERT INTO behavior_event (event_id, customer_id, product_id, kind, occurred_at, quantity, unit_price, rating,
        order_ref, session_id)
    SELECT DISTINCT ON (c.event_id COLLATE "C") c.event_id, COALESCE(c.customer_id, n.id), c.product_id, c.kind,
        c.ts, c.qty, c.price, c.rating, c.order_ref, c.session_id
    FROM checked c LEFT JOIN new_customers n ON n.external_id = c.customer
    WHERE c.code IS NULL
    ORDER BY c.event_id COLLATE "C", c.line
    ON CONFLICT (event_id) DO NOTHING
    RETURNING occurred_at, product_id, customer_id{locks}
)
SELECT
    (SELECT count(*) FROM checked),
    (SELECT json_object_agg(code, n) FROM (SELECT code, count(*) AS n FROM checked WHERE code IS NOT NULL
                                           GROUP BY code) r),
    (SELECT json_agg(json_build_array(line, code) ORDER BY line) FROM (
        SELECT line, code FROM checked WHERE code IS NOT NULL ORDER BY line LIMIT %(max_errors)s) e),
    (SELECT count(*) FILTER (WHERE created_here) FROM new_customers),
    (SELECT count(*) FROM stored), (SELECT min(occurred_at) FROM stored), (SELECT max(occurred_at) FROM stored),
    (SELECT array_agg(DISTINCT product_id) FROM stored){lock_counts}"""


_STAGE_SOURCE = "ingest_stage"
_ROWS_SOURCE = (
    "unnest(" + ", ".join(f"%({name})b::text[]" for name in EVENT_FIELDS) + ") WITH ORDINALITY AS r("
    + ", ".join(EVENT_FIELDS) + ", line)"
)
_SQL = {  # (few_rows, lock_references) -> the statement
    (few, locks): _store_sql(_ROWS_SOURCE if few else _STAGE_SOURCE, few_rows=few, lock_references=locks)
    for few in (False, True) for locks in (False, True)
}

# The foreign keys of behavior_event are checked by a trigger per row at commit: one query each, about as
# much work as storing the row (0.6x a bare COPY of the same rows). When the connection may set
# session_replication_role (a superuser, or GRANT SET ON PARAMETER session_replication_role), the statement
# runs with those triggers off and checks the same thing for the whole batch: every product and customer its
# events reference exists and is locked against deletion until commit (as the triggers lock them), or the
# statement fails. Off when either table has triggers of its own (replica mode would skip them too).
SET_BASED_REFERENCE_CHECKS = True

# Switches the triggers off for the rest of the transaction when allowed (one round trip); _run_store switches
# them back on after its statement.
_TRIGGERS_OFF_SQL = """
SELECT set_config('session_replication_role', 'replica', true)
WHERE current_setting('session_replication_role') = 'origin' AND ({may_set})
    AND NOT EXISTS (SELECT FROM pg_trigger WHERE NOT tgisinternal
                    AND tgrelid IN ('behavior_event'::regclass, 'behavior_customer'::regclass))"""


def _reference_triggers_off(cur) -> bool:
    """Whether this statement checks references itself: then the per-row triggers are off until
    ``_reference_triggers_on``."""
    if not SET_BASED_REFERENCE_CHECKS:
        return False
    may_set = "current_setting('is_superuser') = 'on'"
    if connection.pg_version >= 150000:  # SET privileges on parameters exist from PostgreSQL 15
        may_set += " OR has_parameter_privilege('session_replication_role', 'SET')"
    cur.execute(_TRIGGERS_OFF_SQL.format(may_set=may_set))
    return cur.fetchone() is not None


def _reference_triggers_on(cur) -> None:
    cur.execute("SET LOCAL session_replication_role = origin")


def _run_store(cur, *, few_rows: bool, params: dict, first_index: int, max_errors: int) -> EventsOutcome:
    params = {**params, "tz": settings.SHOP_TIME_ZONE, "latest": timezone.now() + timedelta(days=1),
              "max_errors": max_errors}
    # The triggers are off for this statement only: after it they are switched back on, and an error aborts
    # the transaction or rolls back the savepoint, which restores the setting as well.
    locks = _reference_triggers_off(cur)
    cur.execute(_SQL[few_rows, locks], params)
    row = cur.fetchone()
    if locks:
        _reference_triggers_on(cur)
        products_locked, products, customers_locked, customers = row[8:]
        if (products_locked, customers_locked) != (products, customers):
            raise IntegrityError(
                f"{products - products_locked} product(s) and {customers - customers_locked} customer(s) these "
                "events reference were deleted while they were stored")
    read, rejected, errors, customers_created, stored, start, end, product_ids = row[:8]
    out = EventsOutcome(read=read, stored=stored, customers_created=customers_created, start=start, end=end,
                        product_ids=set(product_ids or []))
    out.rejected = Counter(rejected or {})
    out.errors = [_error(first_index + line - 1, code) for line, code in errors or []]
    out.duplicates = out.read - out.stored - out.rejected_total
    return out


def _store_postgres_copy(*, columns, chunks, header, first_index, max_errors, on_bytes) -> EventsOutcome:
    with connection.cursor() as cur:
        # The checked rows, the ordered insert and the hash joins of a big file stay in memory (this
        # transaction only).
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("DROP TABLE IF EXISTS pg_temp.ingest_stage")
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
        out = _run_store(cur, few_rows=False, params={}, first_index=first_index, max_errors=max_errors)
        cur.execute("DROP TABLE ingest_stage")
    return out


class _UnpreparedCursor(psycopg.Cursor):
    """Binds parameters server-side and never prepares: psycopg would prepare a query run five times, which
    a pooler in transaction mode may not keep, and switching session_replication_role invalidates the plan
    of every statement anyway."""

    def execute(self, query, params=None, **kwargs):
        return super().execute(query, params, prepare=False, **kwargs)


def _store_postgres_rows(*, rows: list[list[str]], first_index: int, max_errors: int) -> EventsOutcome:
    if not rows:
        return EventsOutcome()
    # One array per field, sent in binary and read by unnest: no staging table to create and drop per call,
    # one round trip, and (unlike JSON or array literals) nothing for the server to parse per value. Django's
    # cursor binds parameters client-side (as literals), so this goes through a server-binding cursor on
    # the same connection and transaction. '' is sent as NULL, as an empty CSV field arrives through COPY.
    columns = {name: [row[i] or None for row in rows] for i, name in enumerate(EVENT_FIELDS)}
    connection.ensure_connection()
    with connection.wrap_database_errors, _UnpreparedCursor(connection.connection) as cur:
        return _run_store(cur, few_rows=True, params=columns, first_index=first_index, max_errors=max_errors)


# --- SQLite (and anything else): the same rules in Python --------------------------------------------

_TS = re.compile(TS_PATTERN)
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
