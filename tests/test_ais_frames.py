"""The reader's start and end: frames wrapped around its columns, the vessels table's takes,
the format sniffing, the smaller first chunk and the cached plausible-time bounds.

Each is checked against the plain pandas / Python route it replaces (the oracle).
"""

from __future__ import annotations

import io
import re
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.ais._frames import frame, utc_array
from stsdetect.ais.plausible import valid_time_range
from stsdetect.ais.reader import _CSV_HEADER, _chunks, _sniff
from stsdetect.ais.statics import _take

NAT = np.iinfo(np.int64).min
times_ns = st.one_of(st.just(NAT), st.integers(-(2**62), 2**62))


def _columns(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    ns = rng.integers(0, 2**60, n)
    ns[rng.random(n) < 0.1] = NAT
    words = np.array(["", "a", "bé", None], dtype=object)[rng.integers(0, 4, n)]
    ints = rng.integers(0, 100, n)
    return {
        "mmsi": rng.integers(0, 10**9, n),
        "time": pd.Series(ns, dtype="datetime64[ns, UTC]").array,
        "lat": rng.random(n),
        "flag": rng.integers(0, 3, n).astype(np.int8),
        "name": pd.array(words, dtype="string"),
        "imo": pd.arrays.IntegerArray(ints, ints > 80),
        "count": rng.integers(0, 5, n).astype(np.int32),
    }


@settings(max_examples=30)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1))
def test_frame_is_the_dataframe_constructor(n, seed):
    cols = _columns(n, seed)
    got = frame(cols)
    pd.testing.assert_frame_equal(got, pd.DataFrame(cols, copy=False), check_exact=True)
    assert list(got.columns) == list(cols)
    for name in ("mmsi", "lat", "flag"):  # the arrays themselves, not copies
        assert np.shares_memory(got[name].to_numpy(), cols[name]) or n == 0
    got.columns.name = "renamed"  # (each frame its own column index)
    assert frame(cols).columns.name is None


def test_frame_rejects_what_it_cannot_wrap():
    with pytest.raises(ValueError, match="rows"):
        frame({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(TypeError, match="1-D numeric"):
        frame({"a": np.zeros((3, 2))})
    with pytest.raises(TypeError, match="NumPy or pandas"):
        frame({"a": [1, 2, 3]})


@settings(max_examples=50)
@given(st.lists(times_ns, max_size=50), st.sampled_from(["ns", "us", "ms", "s"]))
def test_utc_array_is_the_series_route(ns, unit):
    ns = np.array(ns, dtype=np.int64)
    want = pd.Series(ns.copy(), dtype="datetime64[ns, UTC]").array
    if unit != "ns":
        want = want.as_unit(unit)
    got = utc_array(ns, unit)
    assert got.dtype == want.dtype
    assert got.equals(want) if len(ns) else len(got) == 0
    if unit == "ns" and len(ns):
        assert np.shares_memory(got.asi8, ns)


texts = st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=1, max_size=30)


@settings(max_examples=80)
@given(texts, st.data(), st.sampled_from(["pandas", "chunked", "sliced", "string"]))
def test_vessel_take_is_pandas_take(values, data, layout):
    """The vessels table's take (one chunk of large_string: its buffers gathered by the
    kernel, a slice's validity bits read from its offset; others: pandas) is pandas'."""
    import pyarrow as pa

    arr = pd.array(values, dtype="string")
    if layout == "chunked" and len(values) > 1:  # two chunks: pandas' own route
        pa_arr = pa.array(values, pa.large_string())
        arr = pd.arrays.ArrowStringArray(pa.chunked_array([pa_arr[:1], pa_arr[1:]]))
    elif layout == "sliced":  # a slice of a longer array: offsets and bits from its offset
        pad = data.draw(st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=11))
        sliced = pa.array(pad + values, pa.large_string()).slice(len(pad))
        arr = pd.arrays.ArrowStringArray(sliced)
    elif layout == "string":  # 32-bit offsets: Arrow's own take
        arr = pd.arrays.ArrowStringArray(pa.array(values, pa.string()))
    at = np.array(data.draw(st.lists(st.integers(-1, len(values) - 1), max_size=40)),
                  dtype=np.int64)
    got = _take(arr, at)
    want = arr.take(at, allow_fill=True)
    assert got.dtype == want.dtype
    assert list(got.isna()) == list(want.isna())
    assert [v for v in got if v is not pd.NA] == [v for v in want if v is not pd.NA]


def _sniff_oracle(head: bytes) -> str:
    """The sniffer before it looked at the first 4 KiB first: every line of the head."""
    for line in head.splitlines():
        text = line.strip().lstrip(b"\xef\xbb\xbf")
        if not text:
            continue
        if text.startswith(b"{") and b'"ssvid"' in text:
            return "gfw_jsonl"
        if text.startswith(b"MMSI,BaseDateTime"):
            return "marinecadastre"
        if text.startswith(b"# Timestamp,Type of mobile") or text.startswith(
                b"Timestamp,Type of mobile"):
            return "dma"
        if not text.startswith(b"#"):
            return "csv" if _CSV_HEADER.match(text) else "nmea"
    return "nmea"


_LINES = [b"", b"   ", b"# a comment", b"# Timestamp,Type of mobile,MMSI", b"MMSI,BaseDateTime,LAT",
          b'{"ssvid": 1}', b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
          b"mmsi,timestamp,latitude,longitude", b"\xef\xbb\xbfMMSI,BaseDateTime", b"#" * 900]


@settings(max_examples=80)
@given(st.lists(st.sampled_from(_LINES), max_size=40),
       st.sampled_from([b"\n", b"\r\n", b"\r"]), st.integers(0, 6000))
def test_sniff_reads_as_every_line_did(lines, end, pad):
    head = end.join(lines)
    assert _sniff(head) == _sniff_oracle(head)
    # the decision after more than 4 KiB of comments, and a line cut at the 4 KiB mark
    head = b"#" * pad + end + head
    assert _sniff(head) == _sniff_oracle(head)


@settings(max_examples=40)
@given(st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=60),
       st.integers(1024, 4096), st.integers(1, 8))
def test_smaller_first_chunk_keeps_every_byte_and_line(lines, chunk, part):
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    got = [bytes(a[:n]) for a, n, _ in _chunks(io.BytesIO(data), chunk, 3, None, chunk // part)]
    assert b"".join(got) == data
    for piece in got[:-1]:  # each chunk but the last ends at a line end (no line > a chunk)
        assert piece.endswith(b"\n")
    if len(data) > chunk:
        assert len(got[0]) <= chunk // part or b"\n" not in data[:chunk // part]


def test_valid_time_range_now_is_read_each_call():
    before = time.time_ns()
    lo, hi = valid_time_range("2002-01-01..now+1d")
    after = time.time_ns()
    assert lo == pd.Timestamp("2002-01-01", tz="UTC").value
    assert before + 86_400 * 10**9 <= hi <= after + 86_400 * 10**9
    time.sleep(0.002)
    assert valid_time_range("2002-01-01..now+1d")[1] > hi  # not a cached "now"
    assert valid_time_range("now-2h..now")[1] - valid_time_range("now-2h..now")[0] == \
        pytest.approx(7200e9, abs=1e8)
    for bad in ("now+1x..", "..yesterday"):
        with pytest.raises(ValueError, match=re.escape("is not a time")):
            valid_time_range(bad)


@settings(max_examples=40)
@given(st.lists(st.integers(0, 700), max_size=12), st.integers(0, 11), st.integers(1, 3000),
       st.lists(st.booleans(), min_size=12, max_size=12))
def test_columns_made_elsewhere_keep_every_row(sizes, when, rows, ready):
    """Rows appended while the final columns are made on another thread (``reserve`` with a
    ``run``: adopted by the first append after they are ready, or dropped when the store
    has grown past them) are the rows appended, in order (oracle: their concatenation)."""
    from concurrent.futures import Future

    from stsdetect.ais.reader import _ROW_DTYPES, _Columns, _fresh_columns

    store = _Columns(_ROW_DTYPES)
    later: list = []

    def run(fn, *args):  # a chore finished only when a later append says so
        done = Future()
        later.append((done, fn, args))
        return done

    blocks = []
    rng = np.random.default_rng(len(sizes) * 7 + when)
    for i, n in enumerate(sizes):
        if i == when:
            store.reserve(rows, run)
        if ready[i]:
            for done, fn, args in later:
                if not done.done():
                    done.set_result(fn(*args))
        block = {k: rng.integers(0, 100, n).astype(d) for k, d in _ROW_DTYPES.items()}
        blocks.append(block)
        store.append(block)
    got = store.columns()
    if not sum(sizes):
        assert got is None
        return
    for k in _ROW_DTYPES:
        np.testing.assert_array_equal(got[k], np.concatenate([b[k] for b in blocks]))
    fresh = _fresh_columns(_ROW_DTYPES, 5000)
    assert all(len(a) == 5000 for a in fresh.values())


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(["", "a.nmea", "dir/é.txt", "x" * 300]),
                          st.integers(0, 5000)), min_size=1, max_size=6))
def test_string_runs_sliced_from_a_longer_run_are_the_runs(calls):
    """A single run made before (the reader's ``expect``) and sliced for a shorter one later
    is the array made afresh for it (oracle: the repeated texts, and a fresh call)."""
    from stsdetect.ais.reader import _string_runs

    blocks: dict = {}
    for text, k in calls:
        got = _string_runs([(text, k)], blocks)
        assert len(got) == k
        assert got.dtype == _string_runs([(text, k)]).dtype
        assert (got == text).all() if k else True
    runs = [(t, k % 700) for t, k in calls]  # several runs: no slice of a single one
    got = _string_runs(runs, blocks)
    assert list(got) == [t for t, k in runs for _ in range(k)]


def _widened(values, times, keys, first, last) -> tuple:
    """``first`` / ``last`` (one per key) widened by the ``times`` (NaT ignored) of the
    ``values`` that are ``keys``, by pandas' groupby (the oracle of the compiled widening)."""
    known = pd.DataFrame({"k": values, "t": times})[times != NAT]
    g = known.groupby("k")["t"]
    lo, hi = g.min(), g.max()
    pos = pd.Series(np.arange(keys.size), index=keys)
    hit = lo.index.isin(keys)
    at = pos[lo.index[hit]].to_numpy()
    first, last = first.copy(), last.copy()
    first[at] = np.minimum(first[at], lo.to_numpy()[hit])
    last[at] = np.maximum(last[at], hi.to_numpy()[hit])
    return first, last


@settings(max_examples=60)
@given(st.lists(st.lists(st.tuples(st.integers(0, 12), times_ns), max_size=30), min_size=1,
                max_size=9), st.lists(st.integers(0, 15), min_size=1, max_size=10, unique=True))
def test_vessel_times_from_unfolded_parts_are_the_folded_ones(chunks, vessels):
    """The vessels' first and last times widened by every chunk's time ranges as they are
    (the reader after its last chunk) equal those widened by the ranges folded into one row
    per vessel first (the route before: ``_fold_ranges``)."""
    from stsdetect.ais.kernel import time_ranges
    from stsdetect.ais.reader import _fold_ranges

    parts = [time_ranges(np.array([m for m, _ in c], np.int64),
                         np.array([t for _, t in c], np.int64)) for c in chunks]
    keys = np.array(vessels, np.int64)
    folded_keys, folded_first, folded_last = _fold_ranges(parts)
    routes = [(np.concatenate([p[0] for p in parts] * 2),  # as they are
               np.concatenate([p[1] for p in parts] + [p[2] for p in parts])),
              (np.concatenate([folded_keys, folded_keys]),  # folded first
               np.concatenate([folded_first, folded_last]))]
    out = []
    for values, times in routes:
        out.append(_widened(values, times, keys, np.full(keys.size, np.iinfo(np.int64).max),
                            np.full(keys.size, NAT)))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 12), times_ns), min_size=1, max_size=40),
       st.lists(st.lists(st.tuples(st.integers(0, 15), times_ns), max_size=30), max_size=6),
       st.booleans())
def test_vessel_groups_widened_in_their_pass_as_by_groupby(records, chunks, on_pool):
    """The vessels' grouping given chunks' time ranges (``seen``) widens their first and
    last times in its compiled pass as pandas' groupby of the ranges does after it, on this
    thread or started on a pool's."""
    from concurrent.futures import ThreadPoolExecutor

    from stsdetect.ais.kernel import time_ranges, vessel_groups
    from stsdetect.ais.reader import _run_started

    n = len(records)
    args = (np.array([m for m, _ in records], np.int64),
            np.array([t for _, t in records], np.int64), np.ones((n, 9), bool), 2, 3,
            np.arange(n + 1), np.full(n, 65, np.uint8), np.zeros(n))
    parts = [time_ranges(np.array([m for m, _ in c], np.int64),
                         np.array([t for _, t in c], np.int64)) for c in chunks]
    seen = tuple(np.concatenate([p[j] for p in parts] or [np.zeros(0, np.int64)])
                 for j in range(3))
    keys, at, first, last, changes = vessel_groups(*args)
    first, last = _widened(np.concatenate([seen[0], seen[0]]),
                           np.concatenate([seen[1], seen[2]]), keys, first, last)
    with ThreadPoolExecutor(1) as pool:
        got = (vessel_groups(*args, seen=seen, run=lambda fn, *a: _run_started(pool, fn, *a))()
               if on_pool else vessel_groups(*args, seen=seen))
    for g, w in zip(got, (keys, at, first, last, changes), strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("n_vessels", [5, 3000])  # (3000: past the first, small table)
def test_vessel_groups_widened_past_the_first_table_as_by_groupby(n_vessels):
    """The same with more vessels than the grouping's first key table holds (its pass
    retried with a larger one, the widening with it)."""
    from stsdetect.ais.kernel import NAT_NS, vessel_groups

    rng = np.random.default_rng(n_vessels)
    n = 4 * n_vessels
    args = (rng.integers(0, n_vessels, n).astype(np.int64), rng.integers(0, 10**12, n),
            rng.random((n, 9)) < 0.7, 2, 3, np.arange(n + 1) * 2,
            rng.integers(65, 67, 2 * n).astype(np.uint8), rng.integers(0, 4, n) * 1.0)
    values = rng.integers(0, 2 * n_vessels, 5000).astype(np.int64)  # half not grouped
    first_t = rng.integers(-(10**12), 10**13, values.size)
    last_t = first_t + rng.integers(0, 10**12, values.size)
    unknown = rng.random(values.size) < 0.1  # (a row's times: both known or neither)
    first_t[unknown] = last_t[unknown] = NAT_NS
    keys, at, first, last, changes = vessel_groups(*args)
    first, last = _widened(np.concatenate([values, values]), np.concatenate([first_t, last_t]),
                           keys, first, last)
    got = vessel_groups(*args, seen=(values, first_t, last_t))
    for g, w in zip(got, (keys, at, first, last, changes), strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("n_vessels", [5, 3000])  # (3000: past the first, small table)
def test_vessel_groups_started_on_a_pool_are_the_ones_made_here(n_vessels):
    """The vessels' compiled grouping handed to a pool thread (started before the caller
    goes on, its result asked for later; retried with the larger table there) is the
    grouping made in place; a pool whose threads never start it gets it taken back."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from stsdetect.ais.kernel import vessel_groups
    from stsdetect.ais.reader import _run_started

    rng = np.random.default_rng(n_vessels)
    n = 4 * n_vessels
    args = (rng.integers(0, n_vessels, n).astype(np.int64), rng.integers(0, 10**12, n),
            rng.random((n, 9)) < 0.7, 2, 3, np.arange(n + 1) * 2,  # names of 2 bytes
            rng.integers(65, 67, 2 * n).astype(np.uint8), rng.integers(0, 4, n) * 1.0)
    want = vessel_groups(*args)

    class Idle:
        def submit(self, fn, *a):
            return Future()

    with ThreadPoolExecutor(1) as pool:
        for runner in (pool, Idle()):
            got = vessel_groups(*args, run=lambda fn, *a, r=runner: _run_started(r, fn, *a))()
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, w)
