"""The engine: parameter objects, the stage registry and the one driver."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect import params as P
from stsdetect.scale.registry import STAGES, select


def _stage_function(stage):
    from stsdetect.context import add_context, find_anchorages
    from stsdetect.detectors.dark import find_dark_periods, find_dark_rendezvous
    from stsdetect.detectors.dark_vessels import imagery_events
    from stsdetect.detectors.loitering import find_loitering
    from stsdetect.detectors.rendezvous import find_rendezvous
    from stsdetect.detectors.tows import find_tows
    from stsdetect.flags import flag_events
    from stsdetect.tracks import build_tracks

    return {"tracks": build_tracks, "rendezvous": find_rendezvous,
            "dark_period": find_dark_periods, "dark_rendezvous": find_dark_rendezvous,
            "loitering": find_loitering, "anchorages": find_anchorages,
            "context": add_context, "tows": find_tows, "flags": flag_events,
            "imagery": imagery_events}.get(stage)


@pytest.mark.parametrize("stage", [s for s in P.STAGE_PARAMS if s != "read"])
def test_parameter_defaults_are_the_stage_functions_own(stage):
    func = _stage_function(stage)
    signature = inspect.signature(func).parameters
    for f in dataclasses.fields(P.STAGE_PARAMS[stage]):
        assert f.name in signature, (stage, f.name)
        assert signature[f.name].default == f.default, (stage, f.name)


@pytest.mark.parametrize("value", [2, 2.5, "2", " 7200 "])
def test_bare_numbers_are_refused_as_durations(value):
    with pytest.raises(ValueError, match="no unit"):
        P.stage_params({"min_gap": value})
    with pytest.raises(ValueError, match="no unit"):
        P.duration_ns(value)


def test_durations_are_exact_nanoseconds():
    assert P.duration_ns("1h30min") == 5400 * 10**9
    assert P.duration_ns(pd.Timedelta("2h")) == 7200 * 10**9
    assert P.duration_ns("1d") == 86400 * 10**9
    assert P.duration_ns(0) == 0
    assert P.RendezvousParams(step="10min").ns("step") == 600 * 10**9
    with pytest.raises(ValueError):
        P.duration_ns("-1h")


def test_parameter_objects_are_frozen_and_check_values():
    p = P.RendezvousParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.max_distance_m = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_distance_m"):
        P.RendezvousParams(max_distance_m=-5)
    with pytest.raises(TypeError, match="nonsense"):
        P.stage_params({"nonsense": 1})
    assert P.TracksParams(duplicate_window_s="10s").duplicate_window_s == 10.0


def test_detect_refuses_a_bare_number_duration_before_reading():
    import stsdetect

    with pytest.raises(ValueError, match="no unit"):
        stsdetect.detect("no-such-dump.nmea", min_gap=2)


def test_cli_refuses_a_bare_number_duration(capsys):
    from stsdetect.cli import EXIT_BAD_INPUT, main

    assert main(["detect", "no-such-dump.nmea", "--min-gap", "2"]) == EXIT_BAD_INPUT
    assert "no unit" in capsys.readouterr().err


def test_registry_selection():
    run, emit = select(["dark_rendezvous"])
    assert emit == ("dark_rendezvous",)
    assert "dark_period" in run  # its input, and always run for the flags
    run, emit = select(None)
    assert emit == tuple(n for n, s in STAGES.items() if s.event_type is not None)
    assert "anchorages" in run  # a context table, always made
    with pytest.raises(ValueError, match="unknown detector"):
        select(["tow"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-5, 40), st.integers(0, 12)), max_size=30),
       st.lists(st.integers(-10, 60), max_size=40))
def test_windows_spanned_equals_listing_every_span(spans, numbers):
    """The windows that finish and status tasks visit, and each one's rows: the same as
    listing each span's windows."""
    from stsdetect.scale.windows import jobs_by_window, windows_spanned

    k0 = np.array([a for a, _ in spans], np.int64)
    k1 = k0 + np.array([n for _, n in spans], np.int64)
    listed = set()
    for a, b in zip(k0.tolist(), k1.tolist(), strict=True):  # the oracle: every window listed
        listed.update(range(a, b + 1))
    expected = sorted(listed & set(numbers))
    got = windows_spanned(k0, k1, numbers)
    assert got.dtype == np.int64
    assert got.tolist() == expected
    # each window's job: exactly the rows whose span lists it
    jobs = jobs_by_window(pd.DataFrame({"row": np.arange(k0.size)}), k0, k1, numbers)
    assert sorted(jobs) == expected
    for k, rows in jobs.items():
        assert rows["row"].tolist() == [i for i, (a, b) in enumerate(zip(
            k0.tolist(), k1.tolist(), strict=True)) if a <= k <= b]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 48), st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=60),
       st.integers(-10**6, 10**6), st.integers(1, 10**6))
def test_partition_keys_and_filter_keep_every_row_of_the_range(hours, times_s, lo_s, span_s):
    """The spill's partition keys (window, part of the window) a window task reads, and the
    filter it reads the files with: every row of [lo, hi) lies in a partition read, and a
    window's neighbours give only their parts near the range (brute force over rows)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from stsdetect.scale.windows import partition_keys, range_filter, window_part

    w = hours * 3600 * 10**9
    t = np.asarray(times_s, np.int64) * 10**9 * 7  # times over a few windows either side
    lo, hi = lo_s * 10**9 * 7, (lo_s + span_s) * 10**9 * 7
    k, part = np.floor_divide(t, w), window_part(t, w)
    assert set(part.tolist()) <= {0, 1, 2}
    r = t - k * w  # the part of a row is where it lies in its window: quarters 0, 1-2, 3
    assert np.array_equal(part, np.where(r < w // 4, 0, np.where(r < w - w // 4, 1, 2)))
    table = pa.table({"w": k, "e": part.astype(np.int8), "row": np.arange(t.size)})
    keys = set(partition_keys(lo, hi, w))
    kept = {i for i, key in enumerate(zip(k.tolist(), part.tolist(), strict=True))
            if key in keys}
    inside = set(np.flatnonzero((t >= lo) & (t < hi)).tolist())
    assert inside <= kept
    # the read's filter (time tested only in the parts the range cuts) keeps exactly them
    stamped = table.append_column("time", pa.array(t).cast(pa.timestamp("ns", tz="UTC")))
    exact = ds.dataset(stamped).to_table(filter=range_filter(lo, hi, w))["row"].to_pylist()
    assert sorted(exact) == sorted(inside)
    # and what is kept lies in a window the range touches, in a part of it that it touches
    starts = k * w + np.array([0, w // 4, w - w // 4])[part]
    ends = k * w + np.array([w // 4, w - w // 4, w])[part]
    for i in kept:
        assert starts[i] < hi and ends[i] > lo


def _drift_chords_by_merge(rows, runs):
    """The drift chords as they were computed before: a pandas merge of every report with
    every run of its vessel, kept where the report lies in the run (the oracle)."""
    from stsdetect.geo import unit_xyz

    m = rows.merge(runs, on=["mmsi", "rank"])
    m = m.loc[(m["t"] >= m["t0"]) & (m["t"] <= m["t1"])]
    if not len(m):
        return pd.DataFrame({"id": np.zeros(0, np.int64), "chord": np.zeros(0)})
    xyz = unit_xyz(m["lat"].to_numpy(float), m["lon"].to_numpy(float))
    xyz -= m[["cx", "cy", "cz"]].to_numpy(float)
    chord = np.sqrt(np.einsum("ij,ij->i", xyz, xyz))
    out = pd.DataFrame({"id": m["id"].to_numpy(np.int64), "chord": chord})
    return out.groupby("id", as_index=False)["chord"].max()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 12), st.integers(0, 80))
def test_drift_chords_equal_a_merge_of_reports_and_runs(seed, n_runs, n_rows):
    """Each report is matched to its vessel's run by one sort, not a merge: the same chords
    to the bit, for runs that do not overlap within a vessel (ids in any order, reports at
    the runs' first and last times, between runs, of vessels without runs)."""
    from stsdetect.geo import unit_xyz
    from stsdetect.scale.carry import drift_chords

    rng = np.random.default_rng(seed)
    vessels = rng.integers(0, 3, n_runs)  # (mmsi, rank) pairs drawn from three
    mmsi, rank = np.array([7, 7, 9])[vessels], np.array([0, 1, 0])[vessels]
    # disjoint runs per vessel: cut a vessel's time line into consecutive spans
    t0 = np.zeros(n_runs, np.int64)
    t1 = np.zeros(n_runs, np.int64)
    for v in range(3):  # three vessels
        mine = np.flatnonzero(vessels == v)
        edges = np.sort(rng.choice(np.arange(0, 400, 2), 2 * mine.size, replace=False))
        t0[mine], t1[mine] = edges[0::2] * 10**9, edges[1::2] * 10**9
    centre = unit_xyz(rng.uniform(29, 31, n_runs), rng.uniform(121, 123, n_runs))
    runs = pd.DataFrame({"id": rng.permutation(n_runs).astype(np.int64) * 3 + 1,
                         "mmsi": mmsi, "rank": rank, "t0": t0, "t1": t1,
                         "cx": centre[:, 0], "cy": centre[:, 1], "cz": centre[:, 2]})
    pick = rng.integers(0, 4, n_rows)  # vessels 0-2, and 3: one without runs
    t = rng.integers(0, 400, n_rows).astype(np.int64) * 10**9
    if n_runs:  # some reports exactly at a run's first or last time
        at = rng.integers(0, n_runs, n_rows)
        edge = rng.random(n_rows) < 0.3
        t = np.where(edge, np.where(rng.random(n_rows) < 0.5, t0[at], t1[at]), t)
        pick = np.where(edge, vessels[at], pick)
    rows = pd.DataFrame({"mmsi": np.array([7, 7, 9, 11])[pick],
                         "rank": np.array([0, 1, 0, 0])[pick], "t": t,
                         "lat": rng.uniform(29, 31, n_rows), "lon": rng.uniform(121, 123, n_rows)})
    got = drift_chords(rows, runs)
    want = _drift_chords_by_merge(rows, runs)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                  check_exact=True)
