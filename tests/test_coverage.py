"""Reception coverage learned from the data, and satellite-like simulated reception."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect import pipeline
from stsdetect.detectors.coverage import (
    COVERAGE_COLUMNS,
    estimate_coverage,
    path_coverage,
    reception_of_reports,
)
from stsdetect.simulate import SATELLITE_SOURCE, SHORE_SOURCE, satellite_view, simulate
from stsdetect.tracks import Tracks

H = 3600.0
T0 = 1_700_000_000.0 - 1_700_000_000.0 % H  # on an hour boundary


def _grid_tracks(n_vessels=5, hours=10, step=600.0, silent=None, lat=30.1, lon=122.1):
    """Vessels at anchor 1 km apart in one cell, reporting every ``step`` s."""
    t = np.arange(T0, T0 + hours * H, step)
    parts = []
    for k in range(n_vessels):
        tk = t if silent is None or k not in silent else t[(t < silent[k][0]) | (t > silent[k][1])]
        parts.append((np.full(tk.size, 400_000_000 + k), tk, np.full(tk.size, lat + 0.01 * k),
                      np.full(tk.size, lon)))
    cols = [np.concatenate([p[i] for p in parts]) for i in range(4)]
    return Tracks.from_arrays(*cols)


def test_counts_present_and_heard_per_cell_and_hour():
    # vessel 0 silent from hour 2 to hour 6 (its reports at 2h00 and 6h00 are dropped too)
    tracks = _grid_tracks(silent={0: (T0 + 2 * H - 1, T0 + 6 * H)})
    cov = estimate_coverage(tracks)
    grid = cov.grid
    assert list(grid.columns) == COVERAGE_COLUMNS
    fine = grid[grid["level"] == 0].set_index("start")
    assert fine["present"].eq(5).all()  # bracketed: known present all along
    hour = (fine.index - pd.Timestamp(T0, unit="s", tz="UTC")) / pd.Timedelta("1h")
    silent = (hour >= 2) & (hour <= 5)
    assert (fine.loc[silent, "heard"] == 4).all() and (fine.loc[~silent, "heard"] == 5).all()
    assert fine["coverage"].between(0, 1).all()
    # the silence: the other four were heard in every hour of it
    got = path_coverage(cov, [30.1], [122.1], [T0 + 2 * H - 600], [30.1], [122.1],
                        [T0 + 6 * H + 600])
    assert got["coverage"].iloc[0] == pytest.approx(1.0)
    assert got["n_hours"].iloc[0] == 4


def test_receiver_outage_gives_low_coverage():
    # everybody silent together: nobody heard, all known present
    t_out = (T0 + 2 * H - 1, T0 + 7 * H)
    tracks = _grid_tracks(silent={k: t_out for k in range(5)})
    cov = estimate_coverage(tracks)
    got = path_coverage(cov, [30.1], [122.1], [T0 + 2 * H - 600], [30.1], [122.1],
                        [T0 + 7 * H + 600])
    assert got["coverage"].iloc[0] == 0.0


def test_parameters_are_checked():
    tracks = _grid_tracks()
    with pytest.raises(ValueError, match="cell_deg"):
        estimate_coverage(tracks, cell_deg=-1)
    with pytest.raises(ValueError, match="min_vessels"):
        estimate_coverage(tracks, min_vessels=0)
    with pytest.raises(ValueError, match="satellite"):
        estimate_coverage(tracks, satellite=np.zeros(3, bool))
    with pytest.raises(ValueError, match="reception"):
        reception_of_reports(tracks, reception="radio")
    with pytest.raises(ValueError, match="source"):
        reception_of_reports(tracks, satellite_sources="sat")
    empty = estimate_coverage(Tracks.empty())
    assert len(empty.grid) == 0
    assert path_coverage(empty, [1.0], [1.0], [T0], [1.0], [1.0], [T0 + H])["coverage"] \
        .isna().all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_coverage_is_a_share_and_does_not_depend_on_row_order(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    mmsi = 400_000_000 + rng.integers(0, 8, n)
    t = T0 + rng.uniform(0, 30 * H, n)
    lat = 30 + rng.uniform(-1, 1, n)
    lon = np.where(rng.random(n) < 0.3, 179.9 + rng.uniform(-0.2, 0.2, n), 122.0)
    lon = (lon + 180) % 360 - 180
    a = estimate_coverage(Tracks.from_arrays(mmsi, t, lat, lon))
    perm = rng.permutation(n)
    b = estimate_coverage(Tracks.from_arrays(mmsi[perm], t[perm], lat[perm], lon[perm]))
    pd.testing.assert_frame_equal(a.grid, b.grid)
    g = a.grid
    assert (g["heard"] <= g["present"]).all() and g["coverage"].between(0, 1).all()
    assert (g["heard_terrestrial"] + g["heard_satellite"] >= g["heard"]).all()


def test_reception_from_sources_and_from_cadence():
    sc = simulate(seed=11, duration="2d", min_interval_s=120, n_background=6)
    view = satellite_view(sc, seed=11, shore=[(30.6, 121.9, 60_000.0)])
    positions = view.positions
    assert set(positions["source"]) == {SATELLITE_SOURCE, SHORE_SOURCE}
    tracks = pipeline.detect(positions, only="dark_period").tracks
    by_source = reception_of_reports(tracks, positions, satellite_sources=f"^{SATELLITE_SOURCE}$")
    by_list = reception_of_reports(tracks, positions, satellite_sources=[SATELLITE_SOURCE])
    np.testing.assert_array_equal(by_source, by_list)
    assert 0 < by_source.mean() < 1
    # the cadence rule agrees with the sources on most reports
    by_cadence = reception_of_reports(tracks)
    assert (by_cadence == by_source).mean() > 0.95
    assert reception_of_reports(tracks, reception="satellite").all()
    assert not reception_of_reports(tracks, reception="terrestrial").any()


def _bursts_oracle(tracks, gap_ns, max_ns):
    """bursts() and the cadence rule as first written: a burst number per row (cumsum), the
    per-row flag read through it."""
    t, seg = tracks.time_ns, tracks.segment
    n = len(tracks)
    new_burst = np.ones(n, dtype=bool)
    new_burst[1:] = (seg[1:] != seg[:-1]) | (np.diff(t) > gap_ns)
    burst = np.cumsum(new_burst) - 1
    starts = np.flatnonzero(new_burst)
    ends = np.r_[starts[1:], n] - 1
    short = (t[ends] - t[starts]) <= max_ns
    b_seg = seg[starts]
    alone = np.r_[True, b_seg[1:] != b_seg[:-1]] & np.r_[b_seg[1:] != b_seg[:-1], True]
    return burst, starts, short, alone, (short & ~alone)[burst]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40)), min_size=1, max_size=60))
def test_bursts_and_cadence_equal_the_cumsum_route(rows):
    """bursts() and the cadence rule of reception_of_reports equal the per-row burst
    numbers made by a cumulative sum (several vessels; gaps on both sides of pass_gap and
    bursts on both sides of pass_max)."""
    from stsdetect.detectors.coverage import bursts

    mmsi = np.array([400_000_000 + v for v, _ in rows], np.int64)
    t = T0 + np.array([k for _, k in rows], float) * 600.0  # 10 min steps; pass_gap 30 min
    tracks = Tracks.from_arrays(mmsi, t, np.full(t.size, 30.0), np.full(t.size, 122.0))
    burst, starts, short, alone, sat = _bursts_oracle(tracks, 1800 * 10**9, 1200 * 10**9)
    got = bursts(tracks, "30min", "20min")
    for g, w in zip(got, (burst, starts, short, alone), strict=True):
        np.testing.assert_array_equal(g, w)
        assert g.dtype == w.dtype
    np.testing.assert_array_equal(reception_of_reports(tracks), sat)


def _truth_hits(events, truth):
    """(flagged intentional, true among them, truth dark periods found intentional)."""
    dk = events[events["event_type"] == "dark_period"]
    dk = dk[dk["likely_intentional"].fillna(False).astype(bool)]
    tr = truth[truth["event_type"] == "dark_period"]
    hit = np.zeros(len(dk), bool)
    found = np.zeros(len(tr), bool)
    for i, (m, s, e) in enumerate(zip(dk["mmsi"], dk["start"], dk["end"], strict=True)):
        ok = ((tr["mmsi"] == m) & (tr["start"] < e) & (tr["end"] > s)).to_numpy()
        hit[i] = ok.any()
        found |= ok
    return len(dk), int(hit.sum()), int(found.sum())


@pytest.mark.parametrize("seed", [0, 1])
def test_revisit_gaps_are_not_intentional_nor_dark_rendezvous(seed):
    sc = simulate(seed=seed, duration="3d", min_interval_s=60, n_background=20)
    for view in (satellite_view(sc, seed=seed),
                 satellite_view(sc, seed=seed, shore=[(30.6, 121.9, 74_000.0)])):
        ev = pipeline.detect(view.positions).events
        dark = ev[ev["event_type"] == "dark_period"]
        assert len(dark) >= 5  # the revisit gaps are there ...
        flagged, true, _ = _truth_hits(ev, sc.truth)
        assert flagged == true  # ... but none is called intentional unless it is one
        assert (ev["event_type"] == "dark_rendezvous").sum() == 0
        # the old test alone ("someone heard within 20 km") calls many of them intentional
        old = pipeline.detect(view.positions, coverage=False).events
        old_flagged, old_true, _ = _truth_hits(old, sc.truth)
        if view.positions["source"].eq(SATELLITE_SOURCE).all():
            assert old_flagged - old_true >= 5


def test_shore_reception_keeps_the_injected_dark_periods():
    sc = simulate(seed=2, duration="3d", min_interval_s=60, n_background=20)
    ev = pipeline.detect(sc.positions).events
    flagged, true, found = _truth_hits(ev, sc.truth)
    n_truth = int((sc.truth["event_type"] == "dark_period").sum())
    assert flagged == true and found >= n_truth - 1
    dark = ev[ev["event_type"] == "dark_period"]
    assert (dark["coverage"] > 0.5).all()


def test_satellite_view_parameters_and_passes():
    sc = simulate(seed=4, duration="2d", min_interval_s=120, n_background=4)
    view = satellite_view(sc, seed=4, revisit=("2h", "3h"), pass_duration="10min",
                          decode_probability=1.0, message_probability=1.0)
    gaps = view.passes["start"].diff().dropna() / pd.Timedelta("1h")
    assert gaps.between(2, 3).all() and len(view.passes) >= 14
    # every report heard lies in a pass
    t = view.positions["time"].to_numpy()
    k = np.searchsorted(view.passes["start"].to_numpy(), t, side="right") - 1
    assert (k >= 0).all() and (t < view.passes["end"].to_numpy()[k]).all()
    assert view.noise["position_reports"] == len(view.positions) == len(view.lines())
    for bad in ({"revisit": ("3h", "2h")}, {"decode_probability": 1.5},
                {"message_probability": 0}, {"pass_duration": "2h", "revisit": ("1h", "2h")}):
        with pytest.raises(ValueError):
            satellite_view(sc, **bad)


def test_coverage_knobs_reach_the_model():
    sc = simulate(seed=0, duration="2d", min_interval_s=60, n_background=20)
    view = satellite_view(sc, seed=0)
    ev = pipeline.detect(view.positions, only="dark").events
    cov = ev["coverage"].to_numpy(float)
    assert np.nanmax(cov) < 0.5  # revisits: low satellite coverage
    # a pass rule no burst meets: every report counts as shore reception; the silences are
    # then judged by the coverage of all reception, still low (passes every few hours) ...
    shore = pipeline.detect(view.positions, only="dark", satellite_pass_max="1s").events
    assert not np.allclose(shore["coverage"].to_numpy(float), cov, equal_nan=True)
    # ... and a bracket shorter than the revisit gaps counts nobody present between passes:
    # every hour with a vessel heard then looks fully covered
    short = pipeline.detect(view.positions, only="dark", coverage_max_bracket="30min").events
    assert np.nanmean(short["coverage"].to_numpy(float)) > np.nanmean(cov)
    many = pipeline.detect(view.positions, only="dark", coverage_min_vessels=10_000).events
    assert not np.allclose(many["coverage"].to_numpy(float), cov, equal_nan=True)


def test_satellite_sources_from_tag_blocks_and_pghp_through_the_cli(tmp_path):
    """The reception named by the dump itself: tag-block ``s:`` on some lines, Gatehouse
    ``$PGHP`` ``pss`` on the others; ``--satellite-sources`` reads both."""
    import re

    from stsdetect import read_ais
    from stsdetect.cli import EXIT_OK, main
    from stsdetect.events import read_events

    sc = simulate(seed=11, duration="2d", min_interval_s=120, n_background=6)
    view = satellite_view(sc, seed=11, shore=[(30.6, 121.9, 60_000.0)])
    out = []
    for i, line in enumerate(view.lines()):  # lines of a small test dump
        m = re.match(r"\\s:([^,]+),c:(\d+)\*[0-9A-F]{2}\\(.*)", line)
        if i % 2:
            t = pd.Timestamp(int(m.group(2)), unit="s")
            out.append(f"$PGHP,1,{t:%Y,%-m,%-d,%-H,%-M,%-S},0,412,,{m.group(1)},1,00*00")
            out.append(m.group(3))
        else:
            out.append(line)
    dump = tmp_path / "mixed.nmea"
    dump.write_text("\n".join(out) + "\n")
    data = read_ais(dump)
    assert set(data.positions["source"]) == {SATELLITE_SOURCE, SHORE_SOURCE}
    assert len(data.positions) == len(view.positions)
    want = pipeline.detect(view.positions, only="dark", satellite_sources=SATELLITE_SOURCE)
    cadence = pipeline.detect(view.positions, only="dark")
    e = tmp_path / "e.csv"
    assert main(["detect", str(dump), "--only", "dark_period", "--satellite-sources",
                 SATELLITE_SOURCE, "-o", str(e), "-q"]) == EXIT_OK
    got = read_events(e).sort_values(["start", "mmsi"]).reset_index(drop=True)
    w = want.events.sort_values(["start", "mmsi"]).reset_index(drop=True)
    np.testing.assert_allclose(got["coverage"], w["coverage"], rtol=1e-6)
    # the sources decide, not the cadence: on some silences the two differ
    c = cadence.events.sort_values(["start", "mmsi"]).reset_index(drop=True)
    assert not np.allclose(c["coverage"], w["coverage"])
