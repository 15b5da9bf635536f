"""Reception coverage in the windowed and Dask drivers equals one in-memory run.

The coverage counts vessels present and heard per cell and hour; each window counts the hours
of its core and the silences across window edges are counted from the carried last reports.
The oracle is :func:`stsdetect.detect` over all the data. Satellite-like data (passes every
1-12 h) gives silences and unheard hours crossing every window edge, bursts cut by edges, and
vessels heard in one pass only (which the cadence rule calls shore reception).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_windows import assert_same_events, split_files

from stsdetect import pipeline
from stsdetect.detectors.coverage import bursts
from stsdetect.scale import detect_windowed
from stsdetect.simulate import SATELLITE_SOURCE, satellite_view, simulate
from stsdetect.tracks import build_tracks


def _lone_burst(positions, mmsi=999000001):
    """One vessel heard in a single short burst (three reports in ten minutes) at 05:00 of the
    second day: the cadence rule must call it shore reception in every mode."""
    t0 = positions["time"].min().floor("D") + pd.Timedelta("1D5h")
    row = positions.iloc[[0, 0, 0]].copy()
    row["mmsi"] = mmsi
    row["time"] = [t0, t0 + pd.Timedelta("5min"), t0 + pd.Timedelta("10min")]
    return pd.concat([positions, row], ignore_index=True).sort_values("time", kind="stable") \
        .reset_index(drop=True)


@pytest.fixture(scope="module")
def views():
    sc = simulate(seed=3, duration="3d", min_interval_s=60, n_background=20)
    sat = _lone_burst(satellite_view(sc, seed=3).positions)
    mixed = satellite_view(sc, seed=3, shore=[(30.6, 121.9, 74_000.0)]).positions
    return {"satellite": sat, "mixed": mixed, "shore": sc.positions}


def test_the_views_exercise_what_they_should(views):
    tracks = build_tracks(views["satellite"])
    _, _, short, alone = bursts(tracks)
    assert (short & alone).any()  # a vessel heard in one pass only
    want = pipeline.detect(views["satellite"], only="dark").events
    cov = want["coverage"].to_numpy(float)
    assert len(want) >= 20 and np.isfinite(cov).all() and (cov < 0.5).all()
    # silences crossing the edges of 5 h windows
    edge = np.floor(want["start"].astype("int64") / 18e12) != np.floor(
        want["end"].astype("int64") / 18e12)
    assert edge.sum() >= 10
    shore = pipeline.detect(views["shore"], only="dark").events
    assert (shore["coverage"] > 0.5).all() and shore["likely_intentional"].any()


@pytest.mark.parametrize("view,window,cuts", [
    ("satellite", "1d", [24, 48]), ("mixed", "1d", [24, 48]), ("shore", "1d", [24, 48]),
    ("satellite", "5h", [13, 40]), ("mixed", "5h", [13, 40]), ("satellite", "3h", [])])
def test_windowed_coverage_equals_single_run(views, view, window, cuts, tmp_path):
    positions = views[view]
    want = pipeline.detect(positions).events
    got = detect_windowed(split_files(positions, cuts), window=window, workdir=tmp_path / "w")
    assert_same_events(got.events, want)
    dark = got.events[got.events["event_type"] == "dark_period"]
    assert dark["coverage"].notna().all()


@pytest.mark.parametrize("options", [{"satellite_sources": SATELLITE_SOURCE},
                                     {"reception": "satellite"},
                                     {"satellite_sources": "nothing-matches"},
                                     {"coverage_cell_deg": 1.0, "coverage_min_vessels": 6,
                                      "coverage_max_bracket": "6h"}])
def test_windowed_coverage_options_equal_single_run(views, options, tmp_path):
    positions = views["mixed"]
    want = pipeline.detect(positions, **options).events
    got = detect_windowed(split_files(positions, [30]), window="6h", workdir=tmp_path / "w",
                          **options)
    assert_same_events(got.events, want)


def test_windowed_coverage_keeps_revisit_gaps_unintentional(views, tmp_path):
    """The issue's point, in the windowed mode: satellite revisit gaps are not intentional and
    make no dark rendezvous; the old heard test alone calls many intentional."""
    got = detect_windowed(split_files(views["satellite"], [24, 48]), workdir=tmp_path / "a").events
    dark = got[got["event_type"] == "dark_period"]
    assert len(dark) >= 20 and not dark["likely_intentional"].any()
    assert (got["event_type"] == "dark_rendezvous").sum() == 0
    old = detect_windowed(split_files(views["satellite"], [24, 48]), workdir=tmp_path / "b",
                          coverage=False).events
    assert old.loc[old["event_type"] == "dark_period", "likely_intentional"].sum() >= 5
    assert old["coverage"].isna().all()


def test_dask_coverage_equals_single_run(views, tmp_path):
    distributed = pytest.importorskip("distributed")
    import stsdetect.dask as sd

    positions = views["mixed"]
    want = pipeline.detect(positions).events
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        got = sd.detect(split_files(positions, [24, 48]), client=client, window="12h",
                        workdir=tmp_path / "d")
    assert_same_events(got.events, want)
    assert got.events.loc[got.events["event_type"] == "dark_period", "coverage"].notna().all()


def test_silence_starting_just_inside_a_loaded_edge(tmp_path):
    """A shore-heard vessel falls silent a few minutes after the start of the next window's
    loaded range: that window sees only a short burst before the silence, which alone would
    look like a satellite pass (and judge the silence by the satellite coverage, ~0); its
    reception must come from the window whose core held it."""
    from test_windows import DAY0, T0, H, _vessel

    from stsdetect.scale import make_plan

    margin_h = make_plan().margin_s / H
    rng = np.random.default_rng(0)
    quiet_from = 24 - margin_h + 5 / 60  # five minutes into window 1's loaded range
    parts = [_vessel(rng, 445000001, [(0, 0, 0), (48, 1, 1)], every_s=120,
                     dark=[(quiet_from, 30)], end_h=48)]
    for i in range(5):
        parts.append(_vessel(rng, 413000000 + i, [(0, 2 * i, 3), (48, 2 * i + 1, 3)],
                             every_s=120, end_h=48))
    frame = pd.concat(parts, ignore_index=True)
    positions = pd.DataFrame({
        "mmsi": frame["mmsi"].to_numpy(np.int64),
        "time": pd.to_datetime(np.round(frame["t"].to_numpy() * 1e9).astype("int64"), utc=True),
        "lat": frame["lat"], "lon": frame["lon"], "sog_kn": frame["sog_kn"]})
    positions = positions.sort_values("time", kind="stable").reset_index(drop=True)
    want = pipeline.detect(positions).events
    dark = want[want["event_type"] == "dark_period"]
    assert len(dark) == 1 and dark["coverage"].iloc[0] > 0.9
    assert bool(dark["likely_intentional"].iloc[0])
    start_h = (dark["start"].iloc[0] - DAY0).total_seconds() / H
    assert 24 - margin_h < start_h < 24 - margin_h + 0.2 and T0 > 0
    got = detect_windowed([positions], window="1d", workdir=tmp_path / "w")
    assert_same_events(got.events, want)
