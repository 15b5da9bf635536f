"""Issue #15, session 21: the per-chunk work done under the GIL cut down (compiled
post-passes of a decoded chunk: static texts, time ranges with a kept key table, nullable
ints; the CR-only window cuts are tested in ``test_ais_gil_cr``).

Oracles: the kernel's per-field helper (``trim_text``), pandas' groupby and NumPy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ais_statics import assert_time_ranges_are_groupby

from stsdetect.ais import kernel, reader
from stsdetect.ais.kernel import (
    NAT_NS,
    TEXT_BYTES,
    TEXT_SLOTS,
    static_texts,
    time_ranges,
    trim_text,
)

_FIELDS = ("name", "callsign", "destination")
slot_text = st.text(st.sampled_from("  AB9@-"), max_size=20)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(slot_text, slot_text, slot_text, st.sampled_from([5, 19, 24])),
                     max_size=40), junk=st.integers(0, 255))
def test_static_texts_are_trim_text_per_field(rows, junk):
    """The one-pass texts of a chunk's static rows are :func:`trim_text`'s of each field,
    then "A" for a type 5 and "B" for the others, whatever lies between the slots."""
    text = np.full((len(rows), TEXT_BYTES), junk, np.uint8)
    for i, row in enumerate(rows):
        for field, value in zip(_FIELDS, row[:3], strict=True):
            at, width = TEXT_SLOTS[field]
            text[i, at:at + width] = np.frombuffer(value[:width].ljust(width).encode(),
                                                   np.uint8)
    msg_type = np.array([r[3] for r in rows], np.int64)
    got = static_texts(text, msg_type)
    assert len(got) == 4
    for field, (offsets, data, valid, blank) in zip(_FIELDS, got, strict=False):
        w_off, w_data, w_valid, w_blank = trim_text(text, field)
        assert offsets.tolist() == w_off.tolist()
        assert data.tobytes() == w_data.tobytes()
        assert valid.tobytes() == w_valid.tobytes()
        assert blank == w_blank
    offsets, data, valid, blank = got[3]
    assert offsets.tolist() == list(range(len(rows) + 1))
    assert data.tobytes() == b"".join(b"A" if r[3] == 5 else b"B" for r in rows)
    assert valid is None and blank == 0


def test_static_text_columns_are_the_old_ones():
    """The statics' text columns made of the one-pass buffers equal those made field by
    field (dtypes, values and nulls)."""
    stat = {"mmsi": np.array([1, 2, 3]), "msg_type": np.array([5, 24, 19]),
            "text": np.frombuffer((b"AB  C  " + b" " * 49 + b" " * 8 + b"NAME 1" + b" " * 42
                                   + b" " * 56), np.uint8).reshape(3, TEXT_BYTES).copy()}
    pa = pytest.importorskip("pyarrow")
    texts = reader._texts_of(stat)
    for field in _FIELDS:  # (field by field: trim_text's buffers, as the reader made them)
        offsets, data, valid, blank = trim_text(stat["text"], field)
        old = pa.LargeStringArray.from_buffers(3, pa.py_buffer(offsets), pa.py_buffer(data),
                                               pa.py_buffer(valid), null_count=blank)
        assert texts[field].equals(old), field
    assert texts["ais_class"].to_pylist() == ["A", "B", "B"]
    assert texts["callsign"].to_pylist() == ["AB  C", None, None]
    assert texts["name"].to_pylist() == [None, "NAME 1", None]


@settings(max_examples=100, deadline=None)
@given(chunks=st.lists(st.lists(st.tuples(st.integers(0, 40), st.integers(-5, 5) | st.none()),
                                max_size=300), max_size=6))
def test_time_ranges_leave_their_table_empty(chunks):
    """Calls one after another on a thread (the key table kept between them) each give
    pandas' groupby of their own rows, and leave the kept table empty."""
    for rows in chunks:
        values = np.array([v * 2**33 + 1 for v, _ in rows], np.int64)
        times = np.array([NAT_NS if t is None else t * 10**9 for _, t in rows], np.int64)
        assert_time_ranges_are_groupby(values, times)
        table = kernel._tables.table
        assert (table == -1).all()


def test_time_ranges_of_many_keys_collide_and_clear():
    """Keys that share slots (multiples of a power of two) and more rows than the kept
    table holds: the same as groupby, the kept table empty after."""
    rng = np.random.default_rng(7)
    for n, spread in ((50_000, 2**40), (300_000, 2**20), (20_000, 64)):
        values = rng.integers(0, 5000, n) * spread
        times = rng.integers(0, 10**12, n)
        times[rng.random(n) < 0.1] = NAT_NS
        assert_time_ranges_are_groupby(values, times)
        assert (kernel._tables.table == -1).all()


@given(st.lists(st.integers(-(2**53), 2**53) | st.none(), max_size=200))
def test_whole_numbers_are_the_nullable_int_of_numpy(values):
    """The statics' nullable Int64 columns (imo, ship_type) made in one compiled pass equal
    those of the NumPy steps they replace (0 and masked where NaN)."""
    floats = np.array([np.nan if v is None else float(v) for v in values], np.float64)
    missing = np.isnan(floats)
    want = pd.arrays.IntegerArray(np.where(missing, 0, floats).astype(np.int64), missing)
    got = reader._nullable_int(floats)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got._data, want._data)
    np.testing.assert_array_equal(got._mask, want._mask)
    assert got.equals(want)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 300), st.integers(-5, 5) | st.none()),
                     max_size=400), distinct=st.integers(0, 400))
def test_time_ranges_with_too_few_distinct_expected(rows, distinct):
    """With a guess of the distinct values (a key table sized for it) that is too low, the
    second pass gives the same as without one, and the kept table is left empty."""
    values = np.array([v * 2**20 for v, _ in rows], np.int64)
    times = np.array([NAT_NS if t is None else t * 10**9 for _, t in rows], np.int64)
    want = time_ranges(values, times)
    got = time_ranges(values, times, distinct)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    assert (kernel._tables.table == -1).all()
