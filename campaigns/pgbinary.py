"""PostgreSQL's binary COPY format to and from numpy record arrays: how a launch writes its millions of
rows and how the results read theirs, without a Python object (or a text number) per value.

The layout: an 11-byte signature, flags and a header-extension length (int32 each); then per row a field
count (int16) and per field its length (int32) and big-endian value; -1 (int16) ends it. Only non-null
fields are handled here: fixed-width numbers, and on writing one trailing text column.
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


def decode(buffer: bytes | bytearray, fields: Sequence[tuple[str, str]]) -> np.ndarray:
    """The rows of a binary COPY stream of fixed-width, non-null ``fields`` (name, big-endian kind) as one
    record array (a view of ``buffer``)."""
    if bytes(buffer[:11]) != SIGNATURE:
        raise RuntimeError("unexpected COPY output: no binary signature")
    start = 19 + int.from_bytes(buffer[15:19], "big")
    row = np.dtype([("count", ">i2")] + [part for i, (name, kind) in enumerate(fields)
                                         for part in ((f"l{i}", ">i4"), (name, kind))])
    body = memoryview(buffer)[start:len(buffer) - 2]
    if len(body) % row.itemsize:
        raise RuntimeError("unexpected COPY output: rows of another width (a NULL value?)")
    return np.frombuffer(body, dtype=row)


def copy_out(sql: str, params: list, fields: Sequence[tuple[str, str]]) -> np.ndarray:
    """``COPY (sql) TO STDOUT (FORMAT binary)`` as a record array (``decode``), with room to hash and sort."""
    buffer = bytearray()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")
        # The driver's own copy() is under Django's cursor: wrap its errors as Django's (IntegrityError, ...).
        with connection.wrap_database_errors, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
            for block in copy:
                buffer += block
    return decode(buffer, fields)


def copy_in(table: str, names: Sequence[str], data: bytes) -> None:
    """``COPY table (names) FROM STDIN (FORMAT binary)`` of a stream built by ``encode``."""
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    view = memoryview(data)
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(
            f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        for start in range(0, len(view), 1 << 22):
            copy.write(view[start:start + (1 << 22)])
