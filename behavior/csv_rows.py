"""Screening an events file row by row, so that one bad line is rejected as that row and never costs
the good ones (issue 16's tolerant imports).

``screened_chunks`` reads the file's bytes (gzip or plain; a truncated gzip yields what could be read and
says where it broke), splits them into CSV records (a quoted field may span lines), and rejects, with a
code, a record that:

* is not UTF-8 (``INVALID_ENCODING``);
* contains a NUL or another control character PostgreSQL text cannot hold (``INVALID_CHARACTER``);
* does not parse as CSV, or has another number of fields than the header (``MALFORMED_ROW``);
* has a field longer than ``MAX_FIELD`` characters (``FIELD_TOO_LONG``: nothing valid is that long);
* was cut off by the end of a truncated file (``MALFORMED_ROW``).

The good records are re-written as clean CSV for the one storage path (``behavior.bulk``), and
``Screen.rows`` maps each one back to its row number in the file, so reported rows stay the file's.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_FIELD = 4096
MAX_RECORD = 8 * MAX_FIELD
CHUNK_BYTES = 1 << 20
_BAD_CHARS = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"}


class FileUnreadable(ValueError):
    """The file as a whole cannot be imported (no header, a header that names no product_sku...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Screen:
    rows: list[int] = field(default_factory=list)  # file row number (1 = first data row) of each good record
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (row, code, message)
    truncated: str | None = None  # where a compressed file broke off, when it did
    header: list[str] = field(default_factory=list)


def file_bytes(path: Path, screen: Screen, on_bytes: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The file's bytes, uncompressed when gzip. A gzip stream that breaks off (truncated, corrupt) ends
    the data there and is noted in ``screen.truncated``."""
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if is_gzip else raw
        position = 0
        while True:
            try:
                chunk = stream.read1(CHUNK_BYTES)  # read1: what a broken stream gave is not lost
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
                screen.truncated = (f"the compressed file breaks off after {raw.tell():,} of "
                                    f"{path.stat().st_size:,} bytes ({type(exc).__name__}); the rows before "
                                    "that point were imported")
                return
            if not chunk:
                return
            if on_bytes:
                on_bytes(raw.tell() - position)
                position = raw.tell()
            yield chunk


def _records(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """CSV records as bytes (without the line end); a quoted field may hold line breaks, up to
    ``MAX_RECORD`` bytes (a stray quote then opens no field: its lines are records of their own). The last
    record is yielded even without a final line end."""
    pending, record = b"", []
    for chunk in chunks:
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()
        for line in lines:
            record.append(line)
            joined = b"\n".join(record)
            if joined.count(b'"') % 2 == 0:
                yield joined.rstrip(b"\r")
                record = []
            elif len(joined) > MAX_RECORD:
                yield from (part.rstrip(b"\r") for part in record)
                record = []
    record.append(pending)
    tail = b"\n".join(record)
    if tail:
        yield tail.rstrip(b"\r")


def _check(record: bytes, width: int) -> tuple[str | None, str, list[str]]:
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError as exc:
        return "INVALID_ENCODING", f"the row is not UTF-8 text (byte {exc.start + 1})", []
    if any(ch in _BAD_CHARS for ch in text):
        return "INVALID_CHARACTER", "the row contains a NUL or another control character", []
    try:
        values = next(csv.reader([text], strict=True))
    except (csv.Error, StopIteration) as exc:
        return "MALFORMED_ROW", f"the row is not valid CSV ({exc})", []
    if len(values) != width:
        return "MALFORMED_ROW", f"the row has {len(values)} fields; the header names {width}", []
    if any("\n" in v or "\r" in v for v in values):
        return "INVALID_CHARACTER", "a field contains a line break", []
    if any(len(v) > MAX_FIELD for v in values):
        return "FIELD_TOO_LONG", f"a field is longer than {MAX_FIELD} characters", []
    return None, "", values


def read_header(records: Iterator[bytes]) -> list[str]:
    first = next(records, None)
    if first is None or not first.strip():
        raise FileUnreadable("EMPTY_FILE", "The file is empty: it has no header line.")
    try:
        return [name.strip().lower() for name in next(csv.reader([first.decode("utf-8-sig")]))]
    except (UnicodeDecodeError, csv.Error, StopIteration):
        raise FileUnreadable("INVALID_FILE", "The header line is not CSV text in UTF-8.") from None


def screened_chunks(path: Path, screen: Screen, on_bytes: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Clean CSV (no header) of the file's good data rows; ``screen`` collects the rest. The header is
    read first (``screen.header``); ``FileUnreadable`` when there is none."""
    records = _records(file_bytes(path, screen, on_bytes))
    screen.header = read_header(records)
    width = len(screen.header)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    row = 0
    for record in records:
        row += 1
        if not record.strip():
            screen.rejected.append((row, "MALFORMED_ROW", "the row is empty"))
            continue
        code, message, values = _check(record, width)
        if code is not None:
            screen.rejected.append((row, code, message))
            continue
        writer.writerow(values)
        screen.rows.append(row)
        if out.tell() >= CHUNK_BYTES:  # keep the last row back: the file may yet break off inside it
            text = out.getvalue()
            cut = text.rstrip("\n").rfind("\n") + 1
            yield text[:cut].encode()
            out = io.StringIO(text[cut:])
            out.seek(0, io.SEEK_END)
            writer = csv.writer(out, lineterminator="\n")
    text = out.getvalue()
    if screen.truncated and screen.rows and screen.rows[-1] == row:
        # The file broke off inside its last row: what was read of it cannot be trusted.
        screen.rows.pop()
        screen.rejected.append((row, "MALFORMED_ROW", "the file breaks off inside this row"))
        text = text[:text.rstrip("\n").rfind("\n") + 1]
    if text:
        yield text.encode()
