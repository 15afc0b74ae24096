"""PostgreSQL's binary formats to and from numpy: how a launch writes its millions of rows and how the
launch and the results read theirs, without a Python object (or a text number) per value.

Writing: one binary ``COPY ... FROM STDIN`` of rows laid out by numpy (``encode``, ``copy_in``).

Reading: ``columns_out`` has the server concatenate each column's binary values into one ``bytea``
(``string_agg(int8send(x), '')``), read by one ``COPY`` and split by numpy. A plain ``COPY (query) TO
STDOUT`` sends one message per row, and the driver hands each to Python: 3 million rows cost about 8 s of
that loop alone, against about 1 s for the server to build the columns. All columns are aggregated in the
same pass, so they stay aligned row by row (in no particular order). A column holds at most 1 GB (about
130 million int8 values): far beyond one campaign's reads.

The binary COPY layout: an 11-byte signature, flags and a header-extension length (int32 each); then per
row a field count (int16) and per field its length (int32, -1 for NULL) and big-endian value; -1 (int16)
ends it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + bytes(8)  # no flags, no header extension
TRAILER = b"\xff\xff"


def encode(columns: Sequence[tuple[np.ndarray, str]], text: np.ndarray | None = None) -> bytes:
    """The binary COPY stream of rows whose fields are ``columns`` (values, big-endian numpy kind such as
    ``">i8"``), then, if given, ``text`` (ASCII strings; rows of different lengths)."""
    count = len(columns[0][0]) if columns else len(text)
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, (_, kind) in enumerate(columns):
        fields += [(f"l{i}", ">i4"), (f"v{i}", kind)]
    encoded = None
    if text is not None:
        encoded = np.asarray(text).astype(np.bytes_)  # ASCII only: a wider character raises here
        width = max(encoded.dtype.itemsize, 1)
        fields += [("lt", ">i4"), ("t", f"S{width}")]
    rows = np.empty(count, dtype=fields)
    rows["count"] = len(columns) + (text is not None)
    for i, (values, kind) in enumerate(columns):
        rows[f"l{i}"] = np.dtype(kind).itemsize
        rows[f"v{i}"] = values
    if encoded is None:
        return HEADER + rows.tobytes() + TRAILER
    lengths = np.strings.str_len(encoded)
    rows["lt"], rows["t"] = lengths, encoded
    # Every row was laid out at the longest text's width: drop each row's padding after its own text.
    keep = np.ones((count, rows.dtype.itemsize), dtype=bool)
    keep[:, rows.dtype.itemsize - width:] = np.arange(width) < lengths[:, None]
    return HEADER + rows.view(np.uint8).reshape(count, -1)[keep].tobytes() + TRAILER


# The send function and numpy kind of each column type ``columns_out`` reads.
_SEND = {"int8": ("int8send", ">i8"), "int4": ("int4send", ">i4"), "int2": ("int2send", ">i2"),
         "float8": ("float8send", ">f8"), "bool": ("boolsend", "?"), "timestamptz": ("timestamptz_send", ">i8")}
_NATIVE = {">i8": np.int64, ">i4": np.int32, ">i2": np.int16, ">f8": np.float64, "?": np.bool_}


def columns_out(sql: str, params: list, columns: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The rows of ``sql`` as one array per column, in native byte order. ``columns`` are (name, type) with
    the names the query gives its columns and the types in ``_SEND``; a NULL is an error. Timestamps come as
    microseconds since 2000-01-01 UTC. (Text columns are not offered: for a million rows with three short
    texts, a CSV COPY measured faster than their aggregation.)"""
    parts = [f"string_agg({_SEND[kind][0]}(q.{name}), '')" for name, kind in columns]
    fields = _single_row(f"SELECT {', '.join(parts)} FROM ({sql}) q", params)
    arrays = {}
    for (name, kind), value in zip(columns, fields):
        wire = _SEND[kind][1]
        values = np.frombuffer(value if value is not None else b"", dtype=wire)
        arrays[name] = values.astype(_NATIVE[wire]) if wire != "?" else values.copy()
    if len({len(values) for values in arrays.values()}) > 1:
        raise RuntimeError("unexpected column lengths: a NULL value?")
    return arrays


def _single_row(sql: str, params: list) -> list[memoryview | None]:
    """The fields of the one row of ``COPY (sql) TO STDOUT (FORMAT binary)``."""
    buffer = bytearray()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        with connection.wrap_database_errors, cursor.cursor.copy(
                f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
            for block in copy:
                buffer += block
    if bytes(buffer[:11]) != SIGNATURE:
        raise RuntimeError("unexpected COPY output: no binary signature")
    at = 19 + int.from_bytes(buffer[15:19], "big")
    count = int.from_bytes(buffer[at:at + 2], "big", signed=True)
    at += 2
    fields: list[memoryview | None] = []
    for _ in range(count):
        length = int.from_bytes(buffer[at:at + 4], "big", signed=True)
        at += 4
        if length < 0:
            fields.append(None)
            continue
        fields.append(memoryview(buffer)[at:at + length])
        at += length
    return fields


def copy_in(table: str, names: Sequence[str], data: bytes) -> None:
    """``COPY table (names) FROM STDIN (FORMAT binary)`` of a stream built by ``encode``."""
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    view = memoryview(data)
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        for start in range(0, len(view), 1 << 22):
            copy.write(view[start:start + (1 << 22)])
