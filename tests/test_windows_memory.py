"""A windowed run's spill held in memory (stsdetect.scale.spill) reads back as the disk spill.

Oracles: the spill's files (the disk route of the same partitions) for the rows a range
reads, and the single in-memory run of test_windows for the events.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_windows import (
    assert_same_events,
    detectors,
    make_scenario,
    single_run,
    split_files,
)

from stsdetect.scale import detect_windowed, make_plan
from stsdetect.scale import windows as W
from stsdetect.scale.spill import MemorySpill

DAY_NS = 86_400 * 10**9
T0_NS = pd.Timestamp("2024-03-01", tz="UTC").value


@pytest.fixture(scope="module")
def planted():
    """test_windows' three days with planted events, and their events in one run."""
    positions = make_scenario()
    return positions, single_run(positions, detectors())


@pytest.mark.parametrize("window", ["1d", "12h"])
def test_spill_in_memory_equals_single_run_and_disk_spill(planted, window):
    scenario, reference = planted
    files = split_files(scenario, [24, 48])
    held = detect_windowed(files, window=window, only=detectors())
    assert held.report["spill"] == "memory"
    assert held.workdir is None
    assert_same_events(held.events, reference)
    disk = detect_windowed(files, window=window, only=detectors(), spill_memory_bytes=0)
    assert disk.report["spill"] == "disk"
    pd.testing.assert_frame_equal(held.events, disk.events)
    for key in ("rows_spilled", "windows", "max_rows_loaded", "open_entries",
                "status_passes"):
        assert held.report[key] == disk.report[key], key


def test_budget_exceeded_mid_run_writes_all_to_disk(planted):
    """Past the budget, the pieces held so far and every later one go to the files: the
    run reads them there and finds the same events."""
    scenario, reference = planted
    files = split_files(scenario, [24, 48])
    probe = MemorySpill("unused", 1 << 40, None)
    W.spill_positions(files[0], probe, 86_400.0, "x")
    flushed = []
    real_flush = MemorySpill.flush

    def flush(self):
        flushed.append(len(self._pieces))
        real_flush(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MemorySpill, "flush", flush)
        # room for the first day's reports only: the second day's goes over
        res = detect_windowed(files, only=detectors(), spill_memory_bytes=probe.nbytes)
    assert flushed == [2]  # two pieces held, then written
    assert res.report["spill"] == "disk"
    assert_same_events(res.events, reference)


def test_spill_that_outlives_the_run_is_written_to_files(planted, tmp_path):
    files = split_files(planted[0], [24, 48])
    kept = detect_windowed(files, only=["dark_period"], keep_workdir=True)
    try:
        assert kept.report["spill"] == "disk"
        assert any((kept.workdir / W._POSITION_DIR).rglob("*.arrow"))
    finally:
        import shutil

        shutil.rmtree(kept.workdir)
    given_dir = detect_windowed(files, only=["dark_period"], workdir=tmp_path / "w")
    assert given_dir.report["spill"] == "disk"
    assert any((tmp_path / "w" / W._POSITION_DIR).rglob("*.arrow"))


def test_negative_budget_is_refused():
    with pytest.raises(ValueError, match="spill_memory_bytes must be 0 or more"):
        detect_windowed([pd.DataFrame()], spill_memory_bytes=-1)


def test_flush_writes_the_pieces_held_and_then_every_new_one(tmp_path):
    written = []
    spill = MemorySpill(tmp_path, 10_000, lambda table, part: written.append(part))
    pos = _positions(np.random.default_rng(1), 200, span_days=2)
    W.spill_positions(pos.iloc[:100], spill, 86_400.0, "a")
    assert not spill.on_disk and written == [] and spill.nbytes > 0
    W.spill_positions(pos.iloc[100:], spill, 86_400.0, "b")  # past the budget
    assert spill.on_disk and written == ["a", "b"] and spill.nbytes == 0
    W.spill_positions(pos.iloc[:10], spill, 86_400.0, "c")
    assert written == ["a", "b", "c"]


def _positions(rng, n, span_days=3, statuses=True):
    t = T0_NS + rng.integers(-DAY_NS // 2, span_days * DAY_NS, n)
    hour = 3_600 * 10**9
    t[::3] = t[::3] // hour * hour  # reports on the hour: on the edges of the ranges read
    out = pd.DataFrame({
        "mmsi": rng.choice(np.array([412000001, 412000002, 445000003, 413000004]), n),
        "time": pd.to_datetime(t, utc=True),
        "lat": rng.uniform(29, 31, n), "lon": rng.uniform(121, 123, n),
        "sog_kn": rng.uniform(0, 12, n), "cog_deg": rng.uniform(0, 360, n),
    })
    if statuses:
        out["nav_status"] = rng.integers(0, 16, n).astype(np.int8)
        out["source"] = pd.array(rng.choice(["a", "bé", ""], n), dtype="string")
    return out


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(1, 299), max_size=4),
       sorted_time=st.booleans(), lacking=st.sets(st.integers(0, 4), max_size=2),
       lo_h=st.integers(-30, 80), span_h=st.integers(1, 60),
       pick=st.sampled_from(["all", "tracks", "status"]), by_mmsi=st.booleans(),
       ordered=st.booleans())
def test_held_rows_read_back_as_the_spill_files(tmp_path_factory, seed, cuts, sorted_time,
                                                lacking, lo_h, span_h, pick, by_mmsi,
                                                ordered):
    """Any range, vessels and columns read from the spill held in memory give the rows the
    disk spill of the same pieces gives: same rows, order, values and dtypes (pieces of
    several sources, some without the status and source columns; rows in or out of time
    order)."""
    rng = np.random.default_rng(seed)
    pos = _positions(rng, 300)
    if sorted_time:
        pos = pos.sort_values("time", kind="stable", ignore_index=True)
    bounds = [0, *sorted(set(cuts)), len(pos)]
    plan = make_plan(window="1d")
    folder = tmp_path_factory.mktemp("disk")
    held = MemorySpill(tmp_path_factory.mktemp("held"), 1 << 40, None)
    schemas = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        piece = pos.iloc[a:b].reset_index(drop=True)
        if i in lacking:
            piece = piece.drop(columns=["nav_status", "source"])
        for target in (folder, held):
            got = W.spill_positions(piece, target, plan.window_s, f"p{i:03d}", seq_start=a)
        schemas.append(got["schema"])
    schema = W.unify_schemas(schemas)
    lo = T0_NS + lo_h * 3_600 * 10**9
    hi = lo + span_h * 3_600 * 10**9
    mmsi = [412000002, 445000003] if by_mmsi else None
    cols = {"all": None, "tracks": W.TRACK_COLUMNS,
            "status": ("mmsi", "time", "nav_status")}[pick]
    want = W.load_positions(folder, plan, lo, hi, mmsi=mmsi, schema=schema, columns=cols,
                            ordered=ordered)
    got = W.load_positions(held, plan, lo, hi, mmsi=mmsi, schema=schema, columns=cols,
                           ordered=ordered)
    if not ordered:  # no order promised: compare as sets of rows
        key = [c for c in ("time", "mmsi", "lat") if c in want.columns]
        want = want.sort_values(key, ignore_index=True) if len(want) else want
        got = got.sort_values(key, ignore_index=True) if len(got) else got
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want)


def test_side_tables_are_held_while_the_budget_has_room(tmp_path):
    spill = MemorySpill(tmp_path, 1_000, None)  # room for 100 int64s, not 190
    small = pd.DataFrame({"t": np.arange(100, dtype=np.int64)}, index=np.arange(100) + 7)
    W._write_side(spill, W._HEARD_DIR, 3, small)
    got = W._read_side(spill, W._HEARD_DIR, 3)
    assert got is not None and not (tmp_path / W._HEARD_DIR).exists()
    pd.testing.assert_frame_equal(got, small.reset_index(drop=True))  # as a file reads
    W._write_side(spill, W._HEARD_DIR, 4, small.iloc[:90])  # no room left: a file
    assert (tmp_path / W._HEARD_DIR).exists()
    pd.testing.assert_frame_equal(W._read_side(spill, W._HEARD_DIR, 4),
                                  small.iloc[:90].reset_index(drop=True))
    assert W._read_side(spill, W._HEARD_DIR, 5) is None


def test_a_read_is_never_a_view_of_the_held_spill(tmp_path):
    """Frames read from a held spill own their columns, also when one held slice holds the
    whole range (it would otherwise be converted without a copy); and so do frames read
    from the files of a part read whole (memory-mapped)."""
    plan = make_plan(window="1d")
    spill = MemorySpill(tmp_path, 1 << 40, None)
    pos = _positions(np.random.default_rng(5), 50, span_days=1)
    ns = pos["time"].to_numpy("datetime64[ns]").view(np.int64)
    pos = pos.loc[(ns >= T0_NS) & (ns < T0_NS + DAY_NS // 4)]  # all in one part of a window
    W.spill_positions(pos.reset_index(drop=True), spill, plan.window_s, "a")
    (_, held), = spill.slices([(T0_NS // DAY_NS, 0)])
    for lo, hi in ((T0_NS, T0_NS + DAY_NS), (T0_NS - DAY_NS, T0_NS + 2 * DAY_NS)):
        got = W.load_positions(spill, plan, lo, hi, columns=W.TRACK_COLUMNS)
        assert len(got) == len(pos)
        for c in ("lat", "lon", "mmsi"):
            assert not np.shares_memory(got[c].to_numpy(),
                                        held.column(c).chunk(0).to_numpy()), c
    folder = tmp_path / "files"
    W.spill_positions(pos.reset_index(drop=True), folder, plan.window_s, "a")
    a = W.load_positions(folder, plan, T0_NS, T0_NS + DAY_NS, columns=W.TRACK_COLUMNS)
    b = W.load_positions(folder, plan, T0_NS, T0_NS + DAY_NS, columns=W.TRACK_COLUMNS)
    assert len(a) == len(pos)
    for c in ("lat", "lon", "mmsi"):
        assert not np.shares_memory(a[c].to_numpy(), b[c].to_numpy()), c

