"""The binary COPY encoding, byte for byte (no database: the launch tests COPY it into PostgreSQL, and read
it back with ``columns_out``)."""

from __future__ import annotations

import struct

import numpy as np

from campaigns import pgbinary


def test_rows_with_a_text_of_two_lengths_are_laid_out_without_padding():
    data = pgbinary.encode([(np.array([7, 8]), ">i8"), (np.array([1.5, -2.0]), ">f8")],
                           text=np.array(["CONTROL", "TREATMENT"]))
    expected = (b"PGCOPY\n\xff\r\n\x00" + bytes(8)
                + struct.pack(">hiqid", 3, 8, 7, 8, 1.5) + struct.pack(">i", 7) + b"CONTROL"
                + struct.pack(">hiqid", 3, 8, 8, 8, -2.0) + struct.pack(">i", 9) + b"TREATMENT"
                + b"\xff\xff")
    assert data == expected
