"""Rendezvous detector: resampling, close pairs, runs, against brute-force oracles."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect.detectors import find_pair_runs as exported_find_pair_runs
from stsdetect.detectors import find_rendezvous as exported_find_rendezvous
from stsdetect.detectors._grid import group_median, resample_tracks
from stsdetect.detectors.rendezvous import (
    PAIR_RUN_COLUMNS,
    find_pair_runs,
    find_rendezvous,
    resample,
)
from stsdetect.events import EVENT_COLUMNS
from stsdetect.geo import EARTH_RADIUS_M, KNOT_M_S, haversine_m, unit_xyz
from stsdetect.tracks import Tracks, build_tracks

T0_S = 1_709_251_200.0  # 2024-03-01T00:00:00Z, a multiple of 600 s


def destination(lat_deg, lon_deg, bearing_deg, dist_m):
    """Point reached from (lat, lon) along a great circle (exact spherical formula)."""
    d = np.asarray(dist_m, float) / EARTH_RADIUS_M
    la, lo, b = np.radians(lat_deg), np.radians(lon_deg), np.radians(bearing_deg)
    lat = np.arcsin(np.sin(la) * np.cos(d) + np.cos(la) * np.sin(d) * np.cos(b))
    lon = lo + np.arctan2(np.sin(b) * np.sin(d) * np.cos(la), np.cos(d) - np.sin(la) * np.sin(lat))
    return np.degrees(lat), (np.degrees(lon) + 180.0) % 360.0 - 180.0


def vessel(mmsi, lat0, lon0, speed_kn, bearing_deg, hours, every_s=60.0, start_s=0.0,
           offset_m=0.0, offset_bearing_deg=0.0):
    """Reports of a vessel on a straight course, optionally offset sideways from it."""
    t = np.arange(0.0, hours * 3600.0 + 1e-9, every_s)
    lat, lon = destination(lat0, lon0, bearing_deg, speed_kn * KNOT_M_S * t)
    if offset_m:
        lat, lon = destination(lat, lon, offset_bearing_deg, np.full(t.size, offset_m))
    return pd.DataFrame({
        "mmsi": np.int64(mmsi),
        "time": pd.to_datetime(np.round((T0_S + start_s + t) * 1e9).astype("int64"), utc=True),
        "lat": lat, "lon": lon, "sog_kn": float(speed_kn), "cog_deg": float(bearing_deg),
    })


def alongside(lat0=30.6, lon0=122.2, speed_kn=1.0, hours=3.0, gap_m=100.0, **kw):
    a = vessel(445123456, lat0, lon0, speed_kn, 60.0, hours, **kw)
    b = vessel(412654321, lat0, lon0, speed_kn, 60.0, hours, offset_m=gap_m,
               offset_bearing_deg=150.0, **kw)
    return pd.concat([a, b], ignore_index=True)


# --- scenarios ---------------------------------------------------------------------------------

def test_alongside_three_hours_at_one_knot_is_found():
    events = find_rendezvous(build_tracks(alongside()))
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert len(events) == 1
    ev = events.iloc[0]
    assert ev["event_type"] == "rendezvous"
    assert (ev["mmsi"], ev["other_mmsi"]) == (412654321, 445123456)  # smaller MMSI first
    assert ev["start"] == pd.Timestamp(T0_S, unit="s", tz="UTC")
    assert ev["duration_h"] == pytest.approx(3.0)
    assert ev["distance_m"] == pytest.approx(100.0, abs=0.5)
    assert ev["min_distance_m"] == pytest.approx(100.0, abs=0.5)
    assert ev["mean_sog_kn"] == pytest.approx(1.0)
    assert ev["n_positions"] == 2 * 181  # both vessels, one report a minute, ends included
    # Representative position: halfway along the 1.5 nmi track.
    mid_lat, mid_lon = destination(30.6, 122.2, 60.0, 1.5 * 1852.0)
    assert haversine_m(ev["lat"], ev["lon"], mid_lat, mid_lon) < 60.0


def test_fast_pass_far_pair_and_short_meeting_are_not_events():
    crossing = pd.concat([  # head-on pass at 10 kn each, 100 m abeam
        vessel(412000001, 30.6, 122.0, 10, 90, 3),
        vessel(412000002, *destination(30.6, 122.0, 90, 20 * 1852 * 3)[::1], 10, 270, 3,
               offset_m=100, offset_bearing_deg=0),
    ])
    far = alongside(gap_m=2000.0)
    short = alongside(hours=1.25)
    for frame in (crossing, far, short):
        assert len(find_rendezvous(build_tracks(frame))) == 0
    # 75 minutes together is seen as a pair run, but is too short for the 2 h definition.
    runs = find_pair_runs(build_tracks(short), min_duration="1h")
    assert len(runs) == 1 and runs["end_ns"].iloc[0] - runs["start_ns"].iloc[0] == 4200 * 10**9


def test_alongside_at_ten_knots_is_a_pair_run_but_not_a_rendezvous():
    tracks = build_tracks(alongside(speed_kn=10.0))
    runs = find_pair_runs(tracks)
    assert len(runs) == 1
    assert runs["median_sog_kn_a"].iloc[0] == pytest.approx(10.0)
    assert len(find_rendezvous(tracks)) == 0
    assert len(find_rendezvous(tracks, max_speed_kn=12.0)) == 1


@pytest.mark.parametrize(("lat0", "lon0"), [(-20.0, 179.99), (10.0, 179.995), (89.97, 30.0),
                                            (-89.97, -120.0)])
def test_antimeridian_and_poles(lat0, lon0):
    frame = alongside(lat0=lat0, lon0=lon0)
    if abs(lat0) < 80:
        assert (frame["lon"] > 0).any() and (frame["lon"] < 0).any()  # straddles 180
    events = find_rendezvous(build_tracks(frame))
    assert len(events) == 1
    assert events["distance_m"].iloc[0] == pytest.approx(100.0, abs=0.5)


def test_interruptions_tolerance_and_reporting_gaps():
    frame = alongside(hours=5.0)
    b = frame["mmsi"] == 412654321
    t_rel = (frame["time"] - frame["time"].min()).dt.total_seconds()
    # Vessel b strays 1 km off for 10 minutes at 2.5 h: one grid step apart.
    stray = b & (t_rel > 9000 - 300) & (t_rel < 9000 + 300)
    strayed = frame.copy()
    strayed.loc[stray, "lat"] += 1000 / 111_195
    assert len(find_rendezvous(build_tracks(strayed))) == 1  # bridged by the tolerance
    assert len(find_rendezvous(build_tracks(strayed), tolerance=0)) == 2
    # A 2-hour reporting gap of b: never interpolated across (max_gap 1 h) -> two events.
    silent = frame[~(b & (t_rel > 2 * 3600) & (t_rel < 4 * 3600))]
    events = find_rendezvous(build_tracks(silent), min_duration="1h")
    assert len(events) == 2
    assert events["end"].iloc[0] == pd.Timestamp(T0_S + 2 * 3600, unit="s", tz="UTC")
    assert len(find_rendezvous(build_tracks(silent), max_gap="3h")) == 1


def test_same_mmsi_segments_never_pair_and_errors():
    tracks = Tracks.from_arrays([412000001] * 4, T0_S + np.array([0, 7200, 0, 7200.0]),
                                [30, 30, 30, 30], [122, 122, 122.001, 122.001],
                                sog_kn=[0.0] * 4, segment=[0, 0, 1, 1])
    assert len(find_pair_runs(tracks, min_duration=0)) == 0
    with pytest.raises(TypeError, match="build_tracks"):
        find_rendezvous(alongside())
    with pytest.raises(ValueError, match="max_distance_m"):
        find_rendezvous(tracks, max_distance_m=-1)
    with pytest.raises(ValueError, match="step"):
        find_rendezvous(tracks, step="0s")
    with pytest.raises(ValueError, match="duration"):
        find_rendezvous(tracks, min_duration="soon")
    holed = Tracks.from_arrays([412000001, 412000002], [T0_S, T0_S], [30, np.nan], [122, 122])
    with pytest.raises(ValueError, match="non-finite lat_deg"):
        find_pair_runs(holed)


def test_empty_and_single_vessel():
    for tracks in (Tracks.empty(), build_tracks(vessel(412000001, 30, 122, 1, 0, 3))):
        events = find_rendezvous(tracks)
        assert len(events) == 0 and list(events.columns) == list(EVENT_COLUMNS)
        runs = find_pair_runs(tracks)
        assert len(runs) == 0 and list(runs.columns) == list(PAIR_RUN_COLUMNS)


def test_lazy_exports():
    assert exported_find_rendezvous is find_rendezvous
    assert exported_find_pair_runs is find_pair_runs


def test_group_median_matches_numpy():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 7, 200)
    values = rng.normal(size=200)
    values[rng.random(200) < 0.2] = np.nan
    values[group == 3] = np.nan
    got = group_median(group, values, 8)
    for g in range(8):
        sel = values[group == g]
        want = np.nan if np.isnan(sel).all() else np.nanmedian(sel)
        np.testing.assert_equal(got[g], want)


# --- brute-force oracles -----------------------------------------------------------------------

def oracle_resample(tracks: Tracks, step_s: float, max_gap_s: float):
    """Per-segment, per-grid-time loops (the independent reference for resample)."""
    out = {}
    for s in range(tracks.n_segments):
        lo, hi = tracks.offsets[s], tracks.offsets[s + 1]
        t = (tracks.time_ns / 1e9)[lo:hi]
        for k in range(int(np.ceil(t[0] / step_s)), int(np.floor(t[-1] / step_s)) + 1):
            tg = k * step_s
            i = int(np.flatnonzero(t <= tg)[-1])
            if t[i] == tg:
                j, w = i, 0.0
            else:
                j = i + 1
                if t[j] - t[i] > max_gap_s:
                    continue
                w = (tg - t[i]) / (t[j] - t[i])
            pi = unit_xyz(tracks.lat_deg[lo + i], tracks.lon_deg[lo + i])[0]
            pj = unit_xyz(tracks.lat_deg[lo + j], tracks.lon_deg[lo + j])[0]
            p = (1 - w) * pi + w * pj
            p = p / np.linalg.norm(p)
            lat, lon = np.degrees(np.arcsin(p[2])), np.degrees(np.arctan2(p[1], p[0]))
            si, sj = tracks.sog_kn[lo + i], tracks.sog_kn[lo + j]
            sog = (1 - w) * si + w * sj if not (np.isnan(si) or np.isnan(sj)) else (
                sj if np.isnan(si) else si)
            if np.isnan(sog) and j != i:
                sog = (haversine_m(tracks.lat_deg[lo + i], tracks.lon_deg[lo + i],
                                   tracks.lat_deg[lo + j], tracks.lon_deg[lo + j])
                       / (t[j] - t[i]) / KNOT_M_S)
            out[(s, k)] = (lat, lon, sog)
    return out


def oracle_pair_runs(tracks, res, max_distance_m, min_duration_s, step_s, tolerance_s):
    """All pairs at every grid time by double loop, runs by walking each pair's times."""
    by_time = {}
    for r in range(res.grid.size):
        by_time.setdefault(int(res.grid[r]), []).append(r)
    close = {}
    for k, rows in by_time.items():
        for r1, r2 in itertools.combinations(rows, 2):
            s1, s2 = int(res.segment[r1]), int(res.segment[r2])
            if tracks.segment_mmsi[s1] == tracks.segment_mmsi[s2]:
                continue
            d = float(haversine_m(res.lat_deg[r1], res.lon_deg[r1], res.lat_deg[r2],
                                  res.lon_deg[r2]))
            if d <= max_distance_m:
                if s1 > s2:
                    s1, s2, r1, r2 = s2, s1, r2, r1
                close.setdefault((s1, s2), []).append((k, d, r1, r2))
    runs = []
    for (s1, s2), obs in close.items():
        obs.sort()
        current = [obs[0]]
        for o in obs[1:]:
            if (o[0] - current[-1][0]) * step_s > step_s + tolerance_s + 1e-9:
                runs.append((s1, s2, current))
                current = []
            current.append(o)
        runs.append((s1, s2, current))
    rows = []
    for s1, s2, obs in runs:
        start, end = obs[0][0] * step_s, obs[-1][0] * step_s
        if end - start < min_duration_s:
            continue
        ra = np.array([o[2] for o in obs])
        rb = np.array([o[3] for o in obs])
        d = np.array([o[1] for o in obs])
        xyz = (unit_xyz(res.lat_deg[ra], res.lon_deg[ra])
               + unit_xyz(res.lat_deg[rb], res.lon_deg[rb])).sum(axis=0)
        sog = np.concatenate([res.sog_kn[ra], res.sog_kn[rb]])
        n_pos = 0
        for s in (s1, s2):
            t = (tracks.time_ns / 1e9)[tracks.offsets[s]:tracks.offsets[s + 1]]
            n_pos += int(((t >= start) & (t <= end)).sum())
        rows.append({
            "mmsi": int(tracks.segment_mmsi[s1]), "other_mmsi": int(tracks.segment_mmsi[s2]),
            "segment": s1, "other_segment": s2,
            "start_ns": round(start * 1e9), "end_ns": round(end * 1e9),
            "lat": np.degrees(np.arcsin(xyz[2] / np.linalg.norm(xyz))),
            "lon": np.degrees(np.arctan2(xyz[1], xyz[0])),
            "distance_m": float(np.median(d)), "min_distance_m": float(d.min()),
            "median_sog_kn_a": (np.nan if np.isnan(res.sog_kn[ra]).all()
                                else float(np.nanmedian(res.sog_kn[ra]))),
            "median_sog_kn_b": (np.nan if np.isnan(res.sog_kn[rb]).all()
                                else float(np.nanmedian(res.sog_kn[rb]))),
            "mean_sog_kn": np.nan if np.isnan(sog).all() else float(np.nanmean(sog)),
            "n_positions": n_pos, "n_steps": len(obs),
        })
    frame = pd.DataFrame(rows, columns=list(PAIR_RUN_COLUMNS)).astype(PAIR_RUN_COLUMNS)
    return frame.sort_values(["start_ns", "mmsi", "other_mmsi", "segment", "other_segment"]
                             ).reset_index(drop=True)


def assert_runs_equal(got: pd.DataFrame, want: pd.DataFrame):
    assert len(got) == len(want)
    exact = ["mmsi", "other_mmsi", "segment", "other_segment", "start_ns", "end_ns",
             "n_positions", "n_steps"]
    pd.testing.assert_frame_equal(got[exact].reset_index(drop=True),
                                  want[exact].astype(got[exact].dtypes), check_dtype=False)
    for col in ("distance_m", "min_distance_m", "median_sog_kn_a", "median_sog_kn_b",
                "mean_sog_kn", "lat"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-7, err_msg=col)
    dlon = (got["lon"].to_numpy() - want["lon"].to_numpy() + 180) % 360 - 180
    np.testing.assert_allclose(dlon, 0, atol=1e-7)


# --- property tests ----------------------------------------------------------------------------

@st.composite
def fleets(draw):
    """A few vessels within a few km of each other: random walks, convergers, divergers."""
    n = draw(st.integers(0, 6))
    lat0 = draw(st.sampled_from([30.6, -45.0, 0.0, 89.9, -89.95]))
    lon0 = draw(st.sampled_from([122.2, 179.995, -179.998, 0.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frames = []
    for v in range(n):
        kind = draw(st.sampled_from(["walk", "converge", "diverge", "still"]))
        n_rep = draw(st.integers(1, 40))
        t = np.sort(rng.choice(np.arange(0, 6 * 3600, 30), size=n_rep, replace=False))
        t = t.astype(float) + draw(st.sampled_from([0.0, 0.5]))
        start_m = rng.uniform(0, 1500)
        bearing = rng.uniform(0, 360)
        if kind == "walk":
            dist = start_m + np.cumsum(rng.normal(0, 60, n_rep))
        elif kind == "converge":
            dist = np.maximum(start_m - t * 0.3, 0)
        elif kind == "diverge":
            dist = 20 + t * 0.3
        else:
            dist = np.full(n_rep, start_m)
        lat, lon = destination(lat0, lon0, bearing, np.abs(dist))
        sog = rng.uniform(0, 4, n_rep)
        sog[rng.random(n_rep) < 0.3] = np.nan
        frames.append(pd.DataFrame({
            "mmsi": np.int64(412000000 + draw(st.integers(0, 4)) if v else 445000000),
            "time": pd.to_datetime(np.round((T0_S + t) * 1e9).astype("int64"), utc=True),
            "lat": lat, "lon": lon, "sog_kn": sog, "cog_deg": np.nan}))
    if not frames:
        return pd.DataFrame({"mmsi": pd.Series([], dtype="int64"),
                             "time": pd.Series([], dtype="datetime64[ns, UTC]"),
                             "lat": [], "lon": [], "sog_kn": [], "cog_deg": []})
    return pd.concat(frames, ignore_index=True)


params = st.fixed_dictionaries({
    "max_distance_m": st.sampled_from([200.0, 500.0, 1500.0]),
    "min_duration": st.sampled_from(["0s", "20min", "1h"]),
    "step": st.sampled_from(["5min", "10min"]),
    "max_gap": st.sampled_from(["15min", "1h"]),
    "tolerance": st.sampled_from(["0s", "10min"]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleets(), params, st.integers(1, 50))
def test_pair_runs_match_brute_force(frame, kw, chunk_points):
    tracks = build_tracks(frame)
    step_s = pd.Timedelta(kw["step"]).total_seconds()
    gap_s = pd.Timedelta(kw["max_gap"]).total_seconds()
    res = resample(tracks, kw["step"], kw["max_gap"])
    # The resampler against per-point loops.
    want = oracle_resample(tracks, step_s, gap_s)
    got_keys = list(zip(res.segment.tolist(), res.grid.tolist(), strict=True))
    assert got_keys == sorted(want)
    if want:
        ref = np.array([want[k] for k in got_keys])
        np.testing.assert_allclose(res.lat_deg, ref[:, 0], atol=1e-9)
        np.testing.assert_allclose((res.lon_deg - ref[:, 1] + 180) % 360 - 180, 0, atol=1e-9)
        np.testing.assert_allclose(res.sog_kn, ref[:, 2], rtol=1e-9, atol=1e-12)
    # Resampling in tiny chunks of segments gives the same arrays.
    chunked = resample_tracks(tracks, step_s, gap_s, chunk_points=chunk_points)
    for name, a, b in zip(res._fields, res, chunked, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    # Pair runs against the brute force on the same grid; tiny chunks must not change them.
    got = find_pair_runs(tracks, chunk_points=chunk_points, **kw)
    oracle = oracle_pair_runs(tracks, res, kw["max_distance_m"],
                              pd.Timedelta(kw["min_duration"]).total_seconds(), step_s,
                              pd.Timedelta(kw["tolerance"]).total_seconds())
    assert_runs_equal(got, oracle)
    # The documented dtypes, a fresh RangeIndex and the documented order.
    assert {k: str(v) for k, v in got.dtypes.items()} == PAIR_RUN_COLUMNS
    assert got.index.equals(pd.RangeIndex(len(got)))
    keys = list(zip(*(got[c].tolist() for c in ("start_ns", "mmsi", "other_mmsi", "segment",
                                                 "other_segment")), strict=True))
    assert keys == sorted(keys)
    # Events are the slow runs.
    events = find_rendezvous(tracks, chunk_points=chunk_points, **kw)
    slow = oracle[(oracle["median_sog_kn_a"] < 2) & (oracle["median_sog_kn_b"] < 2)]
    assert len(events) == len(slow)
    assert (events["mmsi"] < events["other_mmsi"]).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleets(), st.randoms(use_true_random=False))
def test_events_independent_of_row_order_and_pair_order(frame, rnd):
    kw = {"min_duration": "20min", "max_distance_m": 1500.0, "max_speed_kn": 3.0}
    events = find_rendezvous(build_tracks(frame), **kw)
    shuffled = frame.iloc[rnd.sample(range(len(frame)), len(frame))].reset_index(drop=True)
    pd.testing.assert_frame_equal(events, find_rendezvous(build_tracks(shuffled), **kw))
    # Relabel MMSIs so that the order of every pair flips: same events, mmsi swapped back.
    mapping = {m: 999999999 - (m - 400000000) for m in frame["mmsi"].unique()}
    flipped = find_rendezvous(build_tracks(frame.assign(mmsi=frame["mmsi"].map(mapping))), **kw)
    back = {v: k for k, v in mapping.items()}
    pairs = sorted(zip(events["mmsi"], events["other_mmsi"], events["start"], strict=True))
    pairs_flipped = sorted(
        (min(back[a], back[b]), max(back[a], back[b]), s)
        for a, b, s in zip(flipped["mmsi"], flipped["other_mmsi"], flipped["start"],
                           strict=True))
    assert pairs == pairs_flipped


# --- real data ---------------------------------------------------------------------------------

def test_runs_on_real_gfw_tracks(shared_data):
    frames = []
    for name in ("416000000.json", "338013000.json", "263576000.json"):
        raw = pd.read_json(shared_data / "gfw-gpsdio-segment" / name, lines=True)
        frames.append(pd.DataFrame({
            "mmsi": raw["ssvid"].astype(np.int64),
            "time": pd.to_datetime(raw["timestamp"], utc=True),
            "lat": raw["lat"], "lon": raw["lon"], "sog_kn": raw["speed"].astype(float),
            "cog_deg": raw["course"].astype(float)}))
    tracks = build_tracks(pd.concat(frames, ignore_index=True))
    events = find_rendezvous(tracks)
    assert list(events.columns) == list(EVENT_COLUMNS)
    # The segments of the one shared MMSI are never paired with each other.
    runs = find_pair_runs(tracks, min_duration=0, max_distance_m=50_000)
    assert (runs["mmsi"] != runs["other_mmsi"]).all()


@pytest.mark.parametrize("dump", ["dma-aisabnormal/ais-sample.txt",
                                  "gfw-ais-listener/nmea-with-tagblock.txt",
                                  "noaadata/test.ais"])
def test_runs_on_real_nmea_dumps(shared_data, dump):
    from stsdetect import read_ais

    positions = read_ais(shared_data / dump).positions
    tracks = build_tracks(positions)
    assert tracks.report["rows_out"] > 0
    events = find_rendezvous(tracks, step="1min")
    assert list(events.columns) == list(EVENT_COLUMNS)
    runs = find_pair_runs(tracks, step="1min", min_duration=0)
    assert (runs["mmsi"] < runs["other_mmsi"]).all()
    assert (runs["min_distance_m"] <= runs["distance_m"]).all()
    assert (runs["distance_m"] <= 500.0).all()


# --- simulated scenario with a known truth -----------------------------------------------------

@pytest.mark.parametrize("seed", [1, 7])
def test_simulated_scenario_matches_truth(seed, tmp_path):
    from stsdetect import read_ais
    from stsdetect.simulate import simulate

    scenario = simulate(seed=seed, min_interval_s=60)
    truth = scenario.truth[scenario.truth["event_type"] == "rendezvous"]
    expected = truth[truth["expect_detected"]]
    dump = scenario.write(tmp_path, compress=False)["nmea"]
    # As transmitted, and as decoded from the noisy dump (duplicates, bad checksums, 91/181).
    for positions in (scenario.positions, read_ais(dump).positions):
        events = find_rendezvous(build_tracks(positions))
        found = {(a, b): (s, e) for a, b, s, e in zip(
            events["mmsi"], events["other_mmsi"], events["start"], events["end"], strict=True)}
        assert set(found) == set(zip(expected["mmsi"], expected["other_mmsi"], strict=True))
        for row in expected.itertuples():
            start, end = found[(row.mmsi, row.other_mmsi)]
            assert abs(start - row.start) <= pd.Timedelta("20min")
            assert abs(end - row.end) <= pd.Timedelta("20min")


def test_tiny_step_rejected_with_a_reason():
    """#14 item 5: `--step 1ns` tried to allocate 19.5 PiB; now a clear error, nothing allocated."""
    from stsdetect.detectors._grid import MAX_GRID_POINTS, resample_tracks

    year = 86400.0 * 365
    mmsi = np.repeat(np.arange(1, 11), 2)  # ten vessels heard a year apart: 315M seconds
    t = np.tile([1.7e9, 1.7e9 + year], 10)
    tracks = Tracks.from_arrays(mmsi, t, np.full(20, 30.0), np.full(20, 122.0))
    with pytest.raises(ValueError, match="below the shortest"):
        find_pair_runs(tracks, step="1ns")
    assert 10 * year > MAX_GRID_POINTS
    with pytest.raises(ValueError, match="grid points"):
        find_pair_runs(tracks, step="1s")
    assert len(resample_tracks(tracks, 3600.0, 1e12).grid) == 10 * 365 * 24


def test_check_tracks_tells_huge_finite_values_from_non_finite_ones():
    """check_tracks' fast path is one sum: an overflow of huge (finite) values is not a
    non-finite row, and one NaN or infinity among them still is."""
    from stsdetect.detectors._checks import check_tracks

    t = [1.7e9, 1.7e9 + 1, 1.7e9 + 2]
    check_tracks(Tracks.from_arrays([412000000] * 3, t, [1e308, 1e308, -1e308], [0.0, 0, 0]))
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="1 rows with a non-finite lat_deg"):
            check_tracks(Tracks.from_arrays([412000000] * 3, t, [1e308, bad, 1e308],
                                            [0.0, 0, 0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([30.0, -1e308, 1e308, np.nan, np.inf, -np.inf]), min_size=1,
                max_size=8), st.lists(st.sampled_from([122.0, 1e308, np.nan, -np.inf]),
                                      min_size=8, max_size=8))
def test_check_tracks_scans_each_tracks_once_and_decides_as_a_full_scan(lat, lon):
    """check_tracks raises exactly when a full scan finds a non-finite place, on the first and
    every later call; a Tracks found finite is remembered (not scanned again) while it lives,
    and the memory is not shared with another Tracks."""
    import gc

    from stsdetect.detectors import _checks

    lon = lon[:len(lat)]
    with np.errstate(invalid="ignore"):  # (an infinite longitude does not wrap)
        tracks = Tracks.from_arrays([412000000] * len(lat), 1.7e9 + np.arange(len(lat)), lat,
                                    lon)
    finite = bool(np.isfinite(tracks.lat_deg).all() and np.isfinite(tracks.lon_deg).all())
    for _ in range(2):
        if finite:
            assert _checks.check_tracks(tracks) is tracks
        else:
            with pytest.raises(ValueError, match="non-finite"):
                _checks.check_tracks(tracks)
    assert (tracks in _checks._FINITE) == finite
    if finite:  # a later call does not scan again
        calls = []
        real = np.sum
        try:
            np.sum = lambda *a, **k: calls.append(1) or real(*a, **k)
            _checks.check_tracks(tracks)
        finally:
            np.sum = real
        assert not calls
        other = Tracks.from_arrays(tracks.mmsi, tracks.time_ns / 1e9, tracks.lat_deg.copy(),
                                   tracks.lon_deg.copy())
        assert other not in _checks._FINITE
        n = len(_checks._FINITE)
        del tracks
        gc.collect()
        assert len(_checks._FINITE) == n - 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(0, 10**6)), min_size=1, max_size=60))
def test_segment_keys_made_once_per_tracks_and_equal_a_fresh_computation(rows):
    """The keys kept for a Tracks are the formula's, read-only, shared by later searches of the
    same Tracks and not by another Tracks; the kept entry goes with its Tracks."""
    import gc

    from stsdetect.detectors import _grid

    mmsi = np.array([r[0] for r in rows], np.int64)
    t_ns = 1_700_000_000 * 10**9 + np.array([r[1] for r in rows], np.int64) * 10**9
    tracks = Tracks.from_arrays(mmsi, t_ns, np.zeros(mmsi.size), np.zeros(mmsi.size))
    keys, t0, span = _grid._segment_keys(tracks)
    oracle = [(int(t) - t0) / 1e9 + int(s) * span for t, s in
              zip(tracks.time_ns, tracks.segment, strict=True)]
    assert t0 == int(tracks.time_ns.min()) and keys.tolist() == oracle
    assert np.all(np.diff(keys) >= 0)  # sorted, as the searches need
    assert not keys.flags.writeable and _grid._segment_keys(tracks)[0] is keys
    other = Tracks.from_arrays(mmsi, t_ns + 10**9, np.zeros(mmsi.size), np.zeros(mmsi.size))
    assert _grid._segment_keys(other)[0] is not keys
    n = len(_grid._KEYS)
    del tracks, other
    gc.collect()
    assert len(_grid._KEYS) <= n - 2
