"""Tolerant imports (issue 16): a malformed line, a bad encoding, a NUL, an oversized field, a binary blob
or a truncated gzip is rejected as that row, with a code, and every good row is stored. Runs on SQLite
and, with DATABASE_URL, on PostgreSQL (where the fast COPY path first fails and the screened one takes over)."""

from __future__ import annotations

import gzip

import pytest
from django.core.management import CommandError, call_command

from behavior.csv_rows import FileUnreadable
from behavior.models import Event, ImportReport
from behavior.services import events_import_csv

HEADER = b"event_id,customer_external_id,product_sku,kind,occurred_at,quantity,unit_price,rating,order_ref,session_id\n"


def _row(i: int) -> bytes:
    return f"t{i},c{i % 7},MUG-1,view,2024-03-01T10:{i % 60:02d}:00Z,,,,,\n".encode()


def _good(n: int, start: int = 0) -> bytes:
    return b"".join(_row(i) for i in range(start, start + n))


BAD_LINES = [
    (b"this is not, a row\n", "MALFORMED_ROW"),
    (b"x1,c1,MUG-1,view,2024-03-01T10:00:00Z,,,,,,,,,\n", "MALFORMED_ROW"),
    (b"x2,c\x001,MUG-1,view,2024-03-01T10:00:00Z,,,,,\n", "INVALID_CHARACTER"),
    ("x3,Zo\u00eb,MUG-1,view,2024-03-01T10:00:00Z,,,,,\n".encode("latin-1"), "INVALID_ENCODING"),
    (b"x4,c1,MUG-1,view,2024-03-01T10:00:00Z,,,,," + b"s" * 5000 + b"\n", "FIELD_TOO_LONG"),
    (bytes(range(11, 256)) * 4 + b"\n", "INVALID_ENCODING"),  # a binary blob (no line break inside)
]


def test_each_bad_line_is_rejected_with_its_code_and_the_good_rows_are_stored(shop, tmp_path):
    body = _good(5)
    expected = []
    for k, (line, code) in enumerate(BAD_LINES):
        body += line + _good(2, start=100 + 2 * k)
        expected.append((6 + 3 * k, code))
    path = tmp_path / "events.csv"
    path.write_bytes(HEADER + body)
    report = events_import_csv(path=path)
    good = 5 + 2 * len(BAD_LINES)
    assert (report.status, report.rows_read, report.rows_stored, report.rows_rejected) == (
        "succeeded", good + len(BAD_LINES), good, len(BAD_LINES))
    assert Event.objects.count() == good
    assert [(s["row"], s["code"]) for s in report.sample_errors] == expected


def test_rows_rejected_by_the_rules_keep_their_file_row_numbers_after_a_bad_line(shop, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(HEADER + _good(2) + b"garbage\n" + b"u1,c1,NOPE,view,2024-03-01T10:00:00Z,,,,,\n" + _good(1, 9))
    report = events_import_csv(path=path)
    assert [(s["row"], s["code"]) for s in report.sample_errors] == [(3, "MALFORMED_ROW"), (4, "UNKNOWN_PRODUCT")]
    assert report.rows_stored == 3


def test_a_truncated_gzip_stores_what_was_read_and_says_where_it_broke(shop, tmp_path):
    whole = gzip.compress(HEADER + _good(3000))
    path = tmp_path / "events.csv.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    report = events_import_csv(path=path)
    assert report.status == "succeeded"
    assert 0 < report.rows_stored < 3000 and Event.objects.count() == report.rows_stored
    assert "breaks off after" in report.notes["truncated"]
    # The last row read was cut: it is rejected, not stored half-read.
    assert report.sample_errors[-1]["code"] == "MALFORMED_ROW"
    assert report.rows_read == report.rows_stored + report.rows_rejected


@pytest.mark.parametrize(("content", "code"), [(b"", "EMPTY_FILE"), (b"sku,name\nA,B\n", "UNKNOWN_COLUMN"),
                                               (b"event_id,kind\n1,view\n", "MISSING_COLUMN")])
def test_a_file_that_cannot_be_imported_says_why(shop, tmp_path, content, code):
    path = tmp_path / "events.csv"
    path.write_bytes(content)
    with pytest.raises(FileUnreadable) as caught:
        events_import_csv(path=path)
    assert caught.value.code == code
    assert ImportReport.objects.get().status == "failed"


def test_the_command_reports_a_bad_file_without_a_traceback(shop, tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(b"")
    with pytest.raises(CommandError, match="The file is empty"):
        call_command("import_events", str(path), verbosity=0)
