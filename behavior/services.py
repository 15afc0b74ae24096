"""Writes for customers and events: batch ingestion, CSV imports, the demo dataset and synthetic data.

Every path that stores events goes through ``behavior.bulk`` (``store_events_csv`` for files and data
frames, ``store_events`` for a GraphQL batch: the same checks and the same statement) and then announces
what it stored once, through ``behavior.hooks`` (analytics subscribes to refresh its rollups).
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from django.db import DataError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from batching import (BATCH_LIMIT, UNSTORABLE_MESSAGE, InvalidItem, UpsertOutcome, chunks, first_occurrences,
                      text_field, unstorable_field)
from batching.retry import lock_keys, retry_on_conflict
from catalog.services import categories_upsert, products_upsert

from .bulk import EVENT_FIELDS, EventsOutcome, RowError, store_events, store_events_csv
from .csv_rows import FileUnreadable, Screen, screened_chunks
from .error_codes import CustomerErrorCode, IngestErrorCode
from .hooks import EventsStored, events_stored
from .models import Customer, Event, ImportReport
from .synthetic import SyntheticData, SyntheticSpec, generate

logger = logging.getLogger(__name__)

EVENTS_BATCH_LIMIT = 5000
FRAME_CHUNK_ROWS = 200_000
REPORT_SAMPLE_ERRORS = 200

Progress = Callable[[int], None]

UPSERT_LOCKS = 1  # batching.retry.lock_keys namespace of this app's upserts


def _events_stored(outcome: EventsOutcome, *, from_request: bool = False) -> None:
    """Announces what a path stored (nothing when it stored nothing), once per path."""
    if outcome.stored and outcome.start is not None:
        events_stored(EventsStored(start=outcome.start, end=outcome.end, product_ids=frozenset(outcome.product_ids),
                                   from_request=from_request))


# --- GraphQL batch ---------------------------------------------------------------------------------


def events_ingest(*, events: list[dict], limit: int = EVENTS_BATCH_LIMIT) -> EventsOutcome:
    """Store a batch of events (dicts keyed by EVENT_FIELDS). Valid events are stored even when others are
    rejected; every rejected one is reported by index and code; an event already stored is a duplicate."""
    if len(events) > limit:
        out = EventsOutcome()
        out.errors.append(RowError(-1, "events", IngestErrorCode.TOO_MANY_ITEMS.value,
                                   f"at most {limit} events per call; split the batch."))
        return out
    kept, positions, unstorable = _storable_events(events)
    if not kept:
        return _with_unstorable(EventsOutcome(), positions, unstorable)

    def store() -> EventsOutcome:
        with transaction.atomic():
            outcome = store_events(events=kept, max_errors=len(kept))
            _events_stored(outcome, from_request=True)
        return outcome

    return _with_unstorable(retry_on_conflict(store), positions, unstorable)


def _storable_events(events: list[dict]) -> tuple[list[dict], list[int], list[RowError]]:
    """(the events the database can store, their positions in the batch, an error for each other one)."""
    kept, positions, unstorable = [], [], []
    for index, event in enumerate(events):
        name = unstorable_field(event)
        if name is None:
            kept.append(event)
            positions.append(index)
        else:
            unstorable.append(RowError(index, name, IngestErrorCode.INVALID_CHARACTERS.value,
                                       UNSTORABLE_MESSAGE.format(field=name)))
    return kept, positions, unstorable


def _with_unstorable(outcome: EventsOutcome, positions: list[int], unstorable: list[RowError]) -> EventsOutcome:
    """The outcome of the stored subset, its errors at their positions in the whole batch, plus the rest."""
    if not unstorable:
        return outcome
    for error in outcome.errors:
        if error.index >= 0:
            error.index = positions[error.index]
    outcome.errors = sorted([*outcome.errors, *unstorable], key=lambda e: e.index)
    outcome.read += len(unstorable)
    outcome.rejected[IngestErrorCode.INVALID_CHARACTERS.value] += len(unstorable)
    return outcome


# --- customers -------------------------------------------------------------------------------------


def _clean_customer(item: dict) -> dict:
    cleaned: dict[str, Any] = {
        "external_id": text_field(item, "external_id", "externalId", 64, codes=CustomerErrorCode, required=True)}
    if item.get("country") is not None:
        cleaned["country"] = text_field(item, "country", "country", 64, codes=CustomerErrorCode)
    if item.get("signed_up_at") is not None:
        value = item["signed_up_at"]
        if isinstance(value, str):
            value = parse_datetime(value.strip()) if value.strip() else None
            if value is None and str(item["signed_up_at"]).strip():
                raise InvalidItem("signedUpAt", CustomerErrorCode.INVALID_VALUE,
                                  "signedUpAt must be an ISO 8601 date-time.")
        if value is not None and timezone.is_naive(value):
            value = timezone.make_aware(value)
        cleaned["signed_up_at"] = value
    if item.get("attributes") is not None:
        if not isinstance(item["attributes"], dict):
            raise InvalidItem("attributes", CustomerErrorCode.INVALID_VALUE, "attributes must be an object.")
        cleaned["attributes"] = item["attributes"]
    return cleaned


def customers_upsert(*, customers: list[dict], limit: int = BATCH_LIMIT) -> UpsertOutcome:
    """Items: external_id (the key); country, signed_up_at, attributes (optional, kept when left out).
    Errors carry CustomerErrorCode values."""
    out = UpsertOutcome()
    valid = []
    for index, item in first_occurrences(customers, "external_id", "externalId", limit, out,
                                         codes=CustomerErrorCode):
        try:
            valid.append(_clean_customer(item))
        except InvalidItem as exc:
            out.errors.append(exc.as_error(index))
    if not valid:
        return out
    # Keys in order (as the event statement creates customers), retried as a whole when another client
    # raced it (batching.retry): concurrent upserts of the same customers queue instead of deadlocking.
    valid.sort(key=lambda c: c["external_id"])
    out.created, out.updated = retry_on_conflict(lambda: _customers_write(valid), unique_violation=True)
    out.errors.sort(key=lambda e: e.index)
    return out


def _customers_write(valid: list[dict]) -> tuple[int, int]:
    with transaction.atomic():
        keys = [c["external_id"] for c in valid]
        lock_keys(UPSERT_LOCKS, keys)
        existing: dict[str, Customer] = {}
        for chunk in chunks(keys):
            existing.update({c.external_id: c for c in Customer.objects.filter(external_id__in=chunk)
                             .select_for_update().order_by("external_id")})
        new, changed, fields = [], [], set()
        for cleaned in valid:
            customer = existing.get(cleaned["external_id"])
            if customer is None:
                new.append(Customer(**cleaned))
                continue
            for key, value in cleaned.items():
                setattr(customer, key, value)
            fields.update(k for k in cleaned if k != "external_id")
            changed.append(customer)
        Customer.objects.bulk_create(new, batch_size=1000)
        if changed and fields:
            Customer.objects.bulk_update(changed, sorted(fields), batch_size=500)
    return len(new), len(changed)


# --- import reports --------------------------------------------------------------------------------


@dataclass
class _Tally:
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)
    samples: list[dict] = field(default_factory=list)
    notes: dict = field(default_factory=dict)

    def sample(self, row: int, field_name: str, code: str, message: str) -> None:
        if len(self.samples) < REPORT_SAMPLE_ERRORS:
            self.samples.append({"row": row, "field": field_name, "code": code, "message": message})

    def add_events(self, outcome: EventsOutcome, first_row: int = 1) -> None:
        self.read += outcome.read
        self.stored += outcome.stored
        self.duplicates += outcome.duplicates
        self.rejected.update(outcome.rejected)
        for error in outcome.errors:
            self.sample(error.index + first_row, error.field, error.code, error.message)


def _run_report(kind: str, source: str, work: Callable[[_Tally], None]) -> ImportReport:
    """Runs ``work`` in one transaction and keeps a report of it, also when it fails."""
    report = ImportReport.objects.create(kind=kind, source=source[:500])
    tally = _Tally()
    try:
        with transaction.atomic():
            work(tally)
            _finish(report, tally, ImportReport.Status.SUCCEEDED)
    except Exception as exc:
        report.refresh_from_db()
        report.status = ImportReport.Status.FAILED
        report.error_message = f"{type(exc).__name__}: {exc}"[:2000]
        report.finished_at = timezone.now()
        report.save()
        raise
    return report


def _finish(report: ImportReport, tally: _Tally, status: str) -> None:
    report.rows_read = tally.read
    report.rows_stored = tally.stored
    report.rows_duplicate = tally.duplicates
    report.rows_rejected = sum(tally.rejected.values())
    report.rejected_by_reason = dict(sorted(tally.rejected.items()))
    report.sample_errors = tally.samples
    report.notes = tally.notes
    report.status = status
    report.finished_at = timezone.now()
    report.save()


# --- files -----------------------------------------------------------------------------------------


def _open_bytes(path: Path, on_bytes: Progress | None) -> Iterator[bytes]:
    """The file's bytes, uncompressed when it is gzip; ``on_bytes`` gets the bytes read from disk."""
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if is_gzip else raw
        position = 0
        while chunk := stream.read(1 << 20):
            if on_bytes:
                on_bytes(raw.tell() - position)
                position = raw.tell()
            yield chunk


def _file_header(path: Path) -> list[str]:
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if is_gzip else open
    with opener(path, "rt", encoding="utf-8", newline="") as text:
        return [name.strip().lower() for name in next(csv.reader(text), [])]


def events_import_csv(*, path: Path | str, on_bytes: Progress | None = None) -> ImportReport:
    """Import an events CSV (plain or gzip) whose header names columns among EVENT_FIELDS.

    On PostgreSQL the file is first streamed straight into COPY (the fast path). If that fails on the
    file's form (a malformed line, a bad encoding, a NUL, a truncated gzip), the attempt is rolled back and
    the file is read again through ``behavior.csv_rows``, which rejects each bad row with a code and
    stores the good ones. SQLite always takes the screened path."""
    path = Path(path)

    def work(tally: _Tally) -> None:
        outcome = None
        if connection.vendor == "postgresql":
            outcome = _events_copy_fast(path, on_bytes)
        if outcome is None:
            outcome = _events_screened(path, on_bytes, tally)
        else:
            tally.add_events(outcome)
        tally.notes["customers_created"] = outcome.customers_created
        _events_stored(outcome)

    return _run_report(ImportReport.Kind.EVENTS, str(path), work)


# What a file that is not clean CSV in UTF-8 raises on the fast path.
_FILE_FORM_ERRORS = (DataError, psycopg.DataError, UnicodeDecodeError, EOFError, zlib.error, gzip.BadGzipFile, csv.Error)


def _events_copy_fast(path: Path, on_bytes: Progress | None) -> EventsOutcome | None:
    """The whole file through COPY in a savepoint; None when its form needs the screened path."""
    try:
        columns = _file_header(path)
    except _FILE_FORM_ERRORS:
        return None
    if not columns:
        return None
    _import_columns(columns)  # a header naming no product_sku fails here, as on the screened path
    try:
        with transaction.atomic():
            return store_events_csv(columns=columns, chunks=_open_bytes(path, on_bytes), header=True,
                                    max_errors=REPORT_SAMPLE_ERRORS)
    except _FILE_FORM_ERRORS as exc:
        logger.info("%s: not clean CSV (%s); importing it row by row", path, type(exc).__name__)
        return None


def _events_screened(path: Path, on_bytes: Progress | None, tally: _Tally) -> EventsOutcome:
    screen = Screen()
    chunks = screened_chunks(path, screen, on_bytes)
    first = next(chunks, b"")  # reads the header (FileUnreadable when there is none)
    outcome = store_events_csv(columns=_import_columns(screen.header), chunks=_prepend(first, chunks),
                               header=False, max_errors=REPORT_SAMPLE_ERRORS)
    for error in outcome.errors:
        error.index = screen.rows[error.index] - 1
    tally.add_events(outcome)
    tally.read += len(screen.rejected)
    for row, code, message in screen.rejected:
        tally.rejected[code] += 1
        tally.sample(row, "row", code, message)
    tally.samples.sort(key=lambda s: s["row"])
    if screen.truncated:
        tally.notes["truncated"] = screen.truncated
    return outcome


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _import_columns(header: list[str]) -> list[str]:
    """The header's columns, or a FileUnreadable that says what is wrong with it."""
    unknown = sorted(set(header) - set(EVENT_FIELDS))
    if unknown:
        raise FileUnreadable("UNKNOWN_COLUMN", f"The header names unknown column(s) {', '.join(unknown)}; the "
                             f"columns are among {', '.join(EVENT_FIELDS)}.")
    if "product_sku" not in header:
        raise FileUnreadable("MISSING_COLUMN", "The header has no product_sku column.")
    return header


def _dict_rows(path: Path, on_bytes: Progress | None) -> Iterator[dict]:
    lines = io.TextIOWrapper(_BytesIter(_open_bytes(path, on_bytes)), encoding="utf-8", newline="")
    reader = csv.DictReader(lines)
    reader.fieldnames = [name.strip().lower() for name in (reader.fieldnames or [])]
    for row in reader:
        yield {k: (v if v != "" else None) for k, v in row.items() if k}


class _BytesIter(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]):
        self._chunks, self._buffer = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n], self._buffer = self._buffer[:n], self._buffer[n:]
        return n


def _upsert_import(kind: str, path: Path, key: str, upsert: Callable[..., UpsertOutcome], argument: str,
                   on_bytes: Progress | None) -> ImportReport:
    def work(tally: _Tally) -> None:
        seen: set[str] = set()
        rows = _dict_rows(path, on_bytes)
        row_number = 0
        while True:
            batch, numbers = [], []
            for row in rows:
                row_number += 1
                tally.read += 1
                value = (row.get(key) or "").strip()
                if value and value in seen:  # first occurrence in the file wins
                    tally.duplicates += 1
                    continue
                seen.add(value)
                batch.append(row)
                numbers.append(row_number)
                if len(batch) >= BATCH_LIMIT:
                    break
            if not batch:
                break
            outcome = upsert(**{argument: batch})
            tally.stored += outcome.created + outcome.updated
            tally.notes["created"] = tally.notes.get("created", 0) + outcome.created
            tally.notes["updated"] = tally.notes.get("updated", 0) + outcome.updated
            for error in outcome.errors:
                tally.rejected[error.code] += 1
                tally.sample(numbers[error.index], error.field, error.code, error.message)

    return _run_report(kind, str(path), work)


def products_import_csv(*, path: Path | str, on_bytes: Progress | None = None) -> ImportReport:
    """Columns: sku, name, price; optional description, category_slug or category_id, brand, currency, stock,
    is_active."""
    return _upsert_import(ImportReport.Kind.PRODUCTS, Path(path), "sku", products_upsert, "products", on_bytes)


def customers_import_csv(*, path: Path | str, on_bytes: Progress | None = None) -> ImportReport:
    """Columns: external_id; optional country, signed_up_at."""
    return _upsert_import(ImportReport.Kind.CUSTOMERS, Path(path), "external_id", customers_upsert, "customers",
                          on_bytes)


# --- data frames (synthetic data, the demo dataset) ------------------------------------------------


def _frame_csv_chunks(events: pd.DataFrame, rows: int, on_rows: Progress | None) -> Iterator[bytes]:
    for start in range(0, len(events), rows):
        part = events.iloc[start:start + rows]
        yield part.to_csv(header=False, index=False, columns=list(EVENT_FIELDS), float_format="%.2f",
                          date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\n").encode()
        if on_rows:
            on_rows(len(part))


def store_frames(
    *,
    tally: _Tally,
    categories: pd.DataFrame | None,
    products: pd.DataFrame,
    customers: pd.DataFrame,
    events: pd.DataFrame,
    on_rows: Progress | None = None,
) -> EventsOutcome:
    """Categories, products, customers, then events through the event path, chunk by chunk."""
    if categories is not None and len(categories):
        cats = categories_upsert(categories=categories.to_dict("records"), limit=len(categories))
        _raise_on_errors("categories", cats)
    records = products.to_dict("records")
    for chunk in chunks(records, BATCH_LIMIT):
        _raise_on_errors("products", products_upsert(products=chunk))
    records = customers.drop(columns=[c for c in ("segment",) if c in customers]).to_dict("records")
    for record in records:
        if isinstance(record.get("signed_up_at"), pd.Timestamp):
            record["signed_up_at"] = record["signed_up_at"].to_pydatetime()
        elif pd.isna(record.get("signed_up_at", None)):
            record.pop("signed_up_at", None)
    for chunk in chunks(records, BATCH_LIMIT):
        _raise_on_errors("customers", customers_upsert(customers=chunk))
    total = EventsOutcome()
    first = 0
    for data in _frame_csv_chunks(events, FRAME_CHUNK_ROWS, on_rows):
        outcome = store_events_csv(columns=list(EVENT_FIELDS), chunks=[data], header=False, first_index=first,
                                   max_errors=REPORT_SAMPLE_ERRORS)
        first += outcome.read
        total.add(outcome, REPORT_SAMPLE_ERRORS)
    tally.add_events(total)
    _events_stored(total)
    return total


def _raise_on_errors(what: str, outcome: UpsertOutcome) -> None:
    if outcome.errors:
        first = outcome.errors[0]
        raise ValueError(f"{what}: {len(outcome.errors)} rejected, first #{first.index} {first.field} "
                         f"{first.code}: {first.message}")


def synthetic_load(*, spec: SyntheticSpec, on_rows: Progress | None = None) -> SyntheticData:
    """Generate a synthetic shop and store it through the import path (a report of kind 'synthetic')."""
    data = generate(spec)

    def work(tally: _Tally) -> None:
        store_frames(tally=tally, categories=data.categories, products=data.products, customers=data.customers,
                     events=data.events, on_rows=on_rows)
        tally.notes.update({"spec": {k: str(v) for k, v in spec.__dict__.items()},
                            "customers": len(data.customers), "products": len(data.products)})

    _run_report(ImportReport.Kind.SYNTHETIC, f"synthetic seed={spec.seed} customers={spec.customers} "
                f"products={spec.products} events_per_customer={spec.events_per_customer}", work)
    return data


def shop_frames_load(*, data: SyntheticData, source: str, on_rows: Progress | None = None) -> ImportReport:
    """Store a generated shop's frames (``shop_shapes.generate_shape``, or any with the synthetic columns)
    through the import path, as a report of kind 'synthetic'."""

    def work(tally: _Tally) -> None:
        store_frames(tally=tally, categories=data.categories, products=data.products, customers=data.customers,
                     events=data.events, on_rows=on_rows)
        tally.notes.update({"customers": len(data.customers), "products": len(data.products)})

    return _run_report(ImportReport.Kind.SYNTHETIC, source, work)


def file_size(path: Path | str) -> int:
    return os.path.getsize(path)


# --- the demo dataset ------------------------------------------------------------------------------

DEMO_SOURCE = "UCI Online Retail"


def demo_report() -> ImportReport | None:
    return (ImportReport.objects.filter(kind=ImportReport.Kind.DEMO, status=ImportReport.Status.SUCCEEDED)
            .order_by("-id").first())


def demo_load(*, path: Path | str, on_rows: Progress | None = None, force: bool = False) -> tuple[ImportReport, bool]:
    """Load UCI Online Retail through the import path, once: (report, loaded now?). A second call reuses the
    first load's report unless ``force``."""
    from .online_retail import clean, read_raw

    existing = demo_report()
    if existing is not None and not force:
        return existing, False

    def work(tally: _Tally) -> None:
        cleaned = clean(read_raw(path))
        stored = _Tally()
        store_frames(tally=stored, categories=cleaned.categories, products=cleaned.products,
                     customers=cleaned.customers, events=cleaned.events, on_rows=on_rows)
        tally.read = cleaned.read
        tally.stored, tally.duplicates = stored.stored, stored.duplicates
        tally.rejected = cleaned.rejected + stored.rejected
        tally.samples = (cleaned.samples + stored.samples)[:REPORT_SAMPLE_ERRORS]
        tally.notes = {**cleaned.notes, "products": len(cleaned.products), "customers": len(cleaned.customers),
                       "categories": len(cleaned.categories), "events_after_cleaning": len(cleaned.events)}

    return _run_report(ImportReport.Kind.DEMO, f"{DEMO_SOURCE} ({Path(path).name})", work), True


@dataclass(frozen=True)
class CustomerErased:
    events: int
    event_ids: list[int]
    start: Any  # earliest and latest occurred_at of the deleted events (None when there were none)
    end: Any
    product_ids: frozenset[int]


@transaction.atomic
def customer_erase(*, customer_id: int) -> CustomerErased:
    """Delete a customer and every event of theirs; what was deleted says which rollups to correct
    (the caller does: behavior does not know analytics)."""
    events = Event.objects.filter(customer_id=customer_id)
    rows = list(events.values_list("id", "occurred_at", "product_id"))
    events.delete()
    Customer.objects.filter(pk=customer_id).delete()
    moments = [row[1] for row in rows]
    return CustomerErased(events=len(rows), event_ids=[row[0] for row in rows],
                          start=min(moments) if moments else None, end=max(moments) if moments else None,
                          product_ids=frozenset(row[2] for row in rows))
