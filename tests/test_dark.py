"""Dark periods and dark rendezvous: crafted scenarios, brute-force oracles and invariants."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect.detectors.dark import find_dark_periods, find_dark_rendezvous, heard_counts
from stsdetect.events import EVENT_COLUMNS
from stsdetect.geo import KNOT_M_S, haversine_m
from stsdetect.tracks import Tracks

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
H = 3600.0
DPRK = 445_000_001
BARGE = 412_000_002
OTHER = 413_000_003


def _track(mmsi, t_s, lat, lon):
    t_s = np.asarray(t_s, float)
    return (np.full(t_s.size, mmsi, np.int64), t_s,
            np.broadcast_to(np.asarray(lat, float), t_s.shape),
            np.broadcast_to(np.asarray(lon, float), t_s.shape))


def _tracks(*parts, shuffle_seed=None):
    cols = [np.concatenate([p[k] for p in parts]) for k in range(4)]
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(cols[0].size)
        cols = [c[order] for c in cols]
    return Tracks.from_arrays(*cols)


def _every(t_from, t_to, step=600.0):
    return np.arange(t_from, t_to + step / 2, step)


# ---------------------------------------------------------------- crafted scenarios


def _crossing_scenario():
    """A DPRK ship goes dark for 18 h crossing the sea; a barge keeps reporting near the spot."""
    before = _every(T0, T0 + 6 * H)
    after = _every(T0 + 24 * H, T0 + 30 * H)
    # Vanishes at (33.0N, 124.0E) in the Yellow Sea, reappears in Hangzhou Bay (30.6N, 121.8E).
    dprk = _track(DPRK, np.r_[before, after],
                  np.r_[np.linspace(33.5, 33.0, before.size), np.full(after.size, 30.6)],
                  np.r_[np.full(before.size, 124.0), np.full(after.size, 121.8)])
    barge = _track(BARGE, _every(T0, T0 + 30 * H), 33.1, 124.05)  # ~12 km from vanishing
    return dprk, barge


def test_crossing_gap_is_found_with_its_geometry():
    dprk, barge = _crossing_scenario()
    # (the heard count alone: with only the barge in the dump, nobody is known to be along the
    # 300 km path, so the coverage test would say nothing is known of reception there)
    ev = find_dark_periods(_tracks(dprk, barge), coverage=False)
    assert list(ev.columns) == list(EVENT_COLUMNS)
    assert len(ev) == 1
    e = ev.iloc[0]
    assert e["event_type"] == "dark_period" and e["mmsi"] == DPRK
    assert e["start"] == pd.Timestamp(T0 + 6 * H, unit="s", tz="UTC")
    assert e["end"] == pd.Timestamp(T0 + 24 * H, unit="s", tz="UTC")
    assert e["duration_h"] == pytest.approx(18.0)
    assert (e["lat"], e["lon"]) == pytest.approx((33.0, 124.0))
    assert (e["end_lat"], e["end_lon"]) == pytest.approx((30.6, 121.8))
    expected_m = haversine_m(33.0, 124.0, 30.6, 121.8)
    assert e["distance_m"] == pytest.approx(expected_m)
    assert e["implied_speed_kn"] == pytest.approx(expected_m / (18 * H) / KNOT_M_S)
    assert e["n_positions"] == 2
    assert e["n_other_heard"] == 1
    assert bool(e["likely_intentional"]) and e["flags"] == ["likely_intentional"]
    assert np.isnan(e["coverage"])
    with_cov = find_dark_periods(_tracks(dprk, barge)).iloc[0]
    assert with_cov["coverage"] == 0.0 and not with_cov["likely_intentional"]


def test_heard_radius_is_respected():
    dprk, barge = _crossing_scenario()
    # The barge is ~12 km away: inside 20 km, outside 10 km.
    ev = find_dark_periods(_tracks(dprk, barge), radius_m=10_000)
    assert ev["n_other_heard"].tolist() == [0]
    assert not ev["likely_intentional"].iloc[0] and ev["flags"].iloc[0] == []


def test_min_gap_is_strict_and_12h_option():
    dprk, barge = _crossing_scenario()
    tracks = _tracks(dprk, barge)
    assert len(find_dark_periods(tracks, min_gap="18h")) == 0  # exactly 18 h is not longer
    assert len(find_dark_periods(tracks, min_gap="12h")) == 1
    assert len(find_dark_periods(tracks, min_gap=pd.Timedelta(hours=17.9))) == 1


def test_first_and_last_reports_are_not_gaps():
    # One vessel heard only late and briefly, another only early: no gaps at the dump's edges.
    late = _track(DPRK, _every(T0 + 20 * H, T0 + 21 * H), 30.0, 122.0)
    early = _track(BARGE, _every(T0, T0 + H), 30.0, 122.0)
    assert len(find_dark_periods(_tracks(late, early))) == 0


def test_empty_and_single_report_tracks():
    assert len(find_dark_periods(Tracks.empty())) == 0
    one = Tracks.from_arrays([DPRK], [T0], [30.0], [122.0])
    ev = find_dark_periods(one)
    assert len(ev) == 0 and list(ev.columns) == list(EVENT_COLUMNS)


def test_single_vessel_gap_is_not_intentional():
    t = np.r_[_every(T0, T0 + H), _every(T0 + 10 * H, T0 + 11 * H)]
    ev = find_dark_periods(_tracks(_track(DPRK, t, 30.0, 122.0)))
    assert len(ev) == 1 and ev["n_other_heard"].iloc[0] == 0
    assert not ev["likely_intentional"].iloc[0]


def test_segments_do_not_join_into_gaps():
    # Two transmitters sharing an MMSI: the gap between segment 0's end and segment 1's start
    # is not a silence of either.
    t = np.r_[_every(T0, T0 + H), _every(T0 + 10 * H, T0 + 11 * H)]
    seg = np.r_[np.zeros(7, int), np.ones(7, int)]
    tracks = Tracks.from_arrays(np.full(14, DPRK), t, np.full(14, 30.0), np.full(14, 122.0),
                                segment=seg)
    assert len(find_dark_periods(tracks)) == 0


def test_receiver_outage_is_not_intentional():
    """All vessels in one area fall silent together: gaps, but none likely intentional."""
    outage = (T0 + 4 * H, T0 + 16 * H)
    t = _every(T0, T0 + 20 * H)
    quiet = (t <= outage[0]) | (t >= outage[1])
    ships = [_track(400_000_000 + k, t[quiet], 30.5 + 0.02 * k, 122.2) for k in range(5)]
    # Far away (~170 km) a receiver still hears another vessel all along.
    far = _track(OTHER, t, 32.0, 122.2)
    ev = find_dark_periods(_tracks(*ships, far))
    assert len(ev) == 5
    assert (ev["n_other_heard"] == 0).all()
    assert not ev["likely_intentional"].any()
    assert all(f == [] for f in ev["flags"])


def test_heard_across_antimeridian():
    t = np.r_[_every(T0, T0 + H), _every(T0 + 10 * H, T0 + 11 * H)]
    dark = _track(DPRK, t, 10.0, 179.99)
    other = _track(BARGE, _every(T0, T0 + 11 * H), 10.0, -179.99)  # ~2.2 km east
    ev = find_dark_periods(_tracks(dark, other))
    assert ev["n_other_heard"].tolist() == [1]


def test_row_order_does_not_matter():
    dprk, barge = _crossing_scenario()
    a = find_dark_periods(_tracks(dprk, barge))
    b = find_dark_periods(_tracks(dprk, barge, shuffle_seed=3))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"min_gap": "soon"}, "duration"),
    ({"min_gap": "-1h"}, "duration"),
    ({"radius_m": 0}, "radius_m"),
    ({"radius_m": float("nan")}, "radius_m"),
    ({"min_others_heard": 0}, "min_others_heard"),
])
def test_bad_parameters(kwargs, match):
    dprk, barge = _crossing_scenario()
    with pytest.raises(ValueError, match=match):
        find_dark_periods(_tracks(dprk, barge), **kwargs)


def test_bad_inputs():
    with pytest.raises(TypeError, match="Tracks"):
        find_dark_periods(pd.DataFrame({"mmsi": [1]}))
    with pytest.raises(ValueError, match="no time"):  # Tracks cannot hold a missing time
        Tracks.from_arrays([DPRK, DPRK], [T0, np.nan], [30.0, 30.0], [122.0, 122.0])
    bad = Tracks.from_arrays([DPRK, DPRK], [T0, T0 + H], [30.0, np.nan], [122.0, 122.0])
    with pytest.raises(ValueError, match="non-finite lat_deg"):
        find_dark_periods(bad)


# ---------------------------------------------------------------- oracles on random tracks


def _brute_gaps(mmsi, t, lat, lon, gap_s, radius_m, heard_pool):
    """Per-vessel reference written the obvious way: sort each vessel, walk its reports."""
    out = []
    for m in np.unique(mmsi):
        rows = np.flatnonzero(mmsi == m)
        rows = rows[np.argsort(t[rows], kind="stable")]
        for a, b in itertools.pairwise(rows):
            if t[b] - t[a] > gap_s:
                heard = set()
                for r in heard_pool:
                    if (mmsi[r] != m and t[a] < t[r] < t[b]
                            and haversine_m(lat[a], lon[a], lat[r], lon[r]) <= radius_m):
                        heard.add(int(mmsi[r]))
                out.append((int(m), t[a], t[b], len(heard)))
    return sorted(out)


def _epoch(col):
    return (col - pd.Timestamp(0, tz="UTC")).dt.total_seconds().tolist()


def _gap_tuples(ev):
    return sorted(zip(ev["mmsi"].tolist(), _epoch(ev["start"]), _epoch(ev["end"]),
                      ev["n_other_heard"].astype(int).tolist(), strict=True))


@st.composite
def random_tracks(draw):
    n_vessels = draw(st.integers(1, 5))
    n = draw(st.integers(0, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mmsi = 412_000_000 + rng.integers(0, n_vessels, n)
    # Integer-second times over two days, with ties; positions in a ~60 km box, some across
    # the antimeridian.
    t = T0 + rng.integers(0, 48 * 3600, n).astype(float)
    centre_lon = draw(st.sampled_from([122.0, 179.9]))
    lat = 30.0 + rng.uniform(-0.3, 0.3, n)
    lon = centre_lon + rng.uniform(-0.3, 0.3, n)
    return mmsi, t, lat, (lon + 180) % 360 - 180


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_tracks(), st.sampled_from([3600.0, 4 * 3600.0, 6 * 3600.0]))
def test_gaps_equal_per_vessel_reference(data, gap_s):
    mmsi, t, lat, lon = data
    tracks = Tracks.from_arrays(mmsi, t, lat, lon)
    ev = find_dark_periods(tracks, min_gap=pd.Timedelta(seconds=gap_s), heard_bin=None)
    got = _gap_tuples(ev)
    # Tracks sort ties by time stably, so equal-time reports of a vessel make a zero gap either
    # way; the reference's (mmsi, start, end) multiset is order-free.
    want = _brute_gaps(mmsi, t, lat, lon, gap_s, 20_000.0, range(mmsi.size))
    assert got == want


@settings(max_examples=40, deadline=None)
@given(random_tracks())
def test_thinned_heard_counts_equal_reference_on_thinned_reports(data):
    mmsi, t, lat, lon = data
    tracks = Tracks.from_arrays(mmsi, t, lat, lon)
    bin_s = 1800.0
    ev = find_dark_periods(tracks, min_gap="1h", heard_bin="30min")
    exact = find_dark_periods(tracks, min_gap="1h", heard_bin=None)
    # Reference pool: the first report of each vessel in each 30-min bin.
    tb = np.floor((tracks.time_ns / 1e9) / bin_s)
    first = np.ones(len(tracks), bool)
    first[1:] = (tracks.mmsi[1:] != tracks.mmsi[:-1]) | (tb[1:] != tb[:-1])
    want = _brute_gaps(tracks.mmsi, (tracks.time_ns / 1e9), tracks.lat_deg, tracks.lon_deg, 3600.0,
                       20_000.0, np.flatnonzero(first))
    got = _gap_tuples(ev)
    assert got == want
    # Thinning can only lose vessels heard, never invent them.
    assert (ev["n_other_heard"].to_numpy(int) <= exact["n_other_heard"].to_numpy(int)).all()


@settings(max_examples=30, deadline=None)
@given(random_tracks(), st.integers(0, 2**32 - 1))
def test_dark_periods_order_invariant(data, seed):
    mmsi, t, lat, lon = data
    order = np.random.default_rng(seed).permutation(mmsi.size)
    a = find_dark_periods(Tracks.from_arrays(mmsi, t, lat, lon), min_gap="1h")
    b = find_dark_periods(Tracks.from_arrays(mmsi[order], t[order], lat[order], lon[order]),
                          min_gap="1h")
    pd.testing.assert_frame_equal(a, b)


def test_heard_counts_ignores_unknown_query_vessel():
    tracks = _tracks(_track(BARGE, _every(T0, T0 + 5 * H), 30.0, 122.0))
    got = heard_counts(tracks, [30.0, 30.0], [122.0, 122.0], [T0, T0], [T0 + H, T0 + H],
                       [999, BARGE], radius_m=1000)
    assert got.tolist() == [1, 0]
    with pytest.raises(ValueError, match="non-finite"):
        heard_counts(tracks, [np.nan], [122.0], [T0], [T0 + H], [1])
    with pytest.raises(ValueError, match="shape"):
        heard_counts(tracks, [30.0, 30.0], [122.0], [T0], [T0 + H], [1])


# ---------------------------------------------------------------- dark rendezvous


def _pair_scenario(sep_end_deg=0.0, b_off=(T0 + 5 * H, T0 + 15 * H)):
    """Two vessels go dark together ~5 km apart and reappear ~5 km apart."""
    a_t = np.r_[_every(T0, T0 + 4 * H), _every(T0 + 16 * H, T0 + 20 * H)]
    b_t = np.r_[_every(T0, b_off[0]), _every(b_off[1], T0 + 20 * H)]
    a_lat = np.where(a_t <= T0 + 4 * H, 30.50, 30.70)
    b_lat = np.where(b_t <= b_off[0], 30.545, 30.745 + sep_end_deg)  # 0.045 deg ~ 5.0 km
    return (_track(DPRK, a_t, a_lat, 122.5), _track(BARGE, b_t, b_lat, 122.5))


def test_two_vessels_dark_together_give_a_dark_rendezvous():
    a, b = _pair_scenario()
    dp = find_dark_periods(_tracks(a, b))
    assert len(dp) == 2
    # Nobody else was known present: reception there is unknown, so no dark rendezvous ...
    assert (dp["coverage"] < 0.5).all()
    assert len(find_dark_rendezvous(dp)) == 0
    # ... unless the coverage requirement is dropped.
    ev = find_dark_rendezvous(dp, min_coverage=None)
    assert list(ev.columns) == list(EVENT_COLUMNS)
    assert len(ev) == 1
    e = ev.iloc[0]
    assert e["event_type"] == "dark_rendezvous"
    assert (e["mmsi"], e["other_mmsi"]) == (min(DPRK, BARGE), max(DPRK, BARGE))
    assert e["start"] == pd.Timestamp(T0 + 5 * H, unit="s", tz="UTC")
    assert e["end"] == pd.Timestamp(T0 + 15 * H, unit="s", tz="UTC")
    assert e["distance_m"] == pytest.approx(haversine_m(30.5, 122.5, 30.545, 122.5))
    assert e["end_distance_m"] == pytest.approx(haversine_m(30.7, 122.5, 30.745, 122.5))
    assert (e["lat"], e["lon"]) == pytest.approx((30.5225, 122.5), abs=1e-4)
    assert (e["end_lat"], e["end_lon"]) == pytest.approx((30.7225, 122.5), abs=1e-4)
    # Nobody else was heard: neither silence looks intentional, so neither does the pair.
    assert not e["likely_intentional"] and e["flags"] == []
    # The same pair from the rows in the other order.
    pd.testing.assert_frame_equal(ev, find_dark_rendezvous(dp.iloc[::-1], min_coverage=None))


def test_dark_rendezvous_needs_good_coverage_around_both():
    a, b = _pair_scenario()
    # Three vessels heard all along, 10-15 km away: reception there is good.
    heard = [_track(OTHER + k, _every(T0, T0 + 20 * H), 30.6 + 0.02 * k, 122.62)
             for k in range(3)]
    dp = find_dark_periods(_tracks(a, b, *heard))
    # In the hours both are silent, 3 of the 4 others known there were heard.
    assert len(dp) == 2 and dp["likely_intentional"].all()
    assert dp["coverage"].min() == pytest.approx(0.75) and dp["coverage"].max() < 1.0
    ev = find_dark_rendezvous(dp)
    assert len(ev) == 1 and ev["coverage"].iloc[0] == pytest.approx(0.75)
    assert ev["likely_intentional"].iloc[0]
    # One of the two along a path nobody hears: no pair.
    dp2 = dp.assign(coverage=[1.0, 0.2])
    assert len(find_dark_rendezvous(dp2)) == 0
    assert len(find_dark_rendezvous(dp2, min_coverage=0.1)) == 1
    # Without coverage figures there is nothing to require.
    assert len(find_dark_rendezvous(dp2.drop(columns="coverage"))) == 1
    assert len(find_dark_rendezvous(dp2.assign(coverage=np.nan))) == 1
    with pytest.raises(ValueError, match="min_coverage"):
        find_dark_rendezvous(dp, min_coverage=2)


def test_dark_rendezvous_needs_both_ends_close_and_enough_overlap():
    a, b = _pair_scenario(sep_end_deg=0.1)  # reappear ~16 km apart
    assert len(find_dark_rendezvous(find_dark_periods(_tracks(a, b)))) == 0
    a, b = _pair_scenario(b_off=(T0 + 5 * H, T0 + 6.5 * H))  # overlap 1.5 h, gap 1.5 h
    dp = find_dark_periods(_tracks(a, b), min_gap="1h")
    assert len(dp) == 2
    assert len(find_dark_rendezvous(dp)) == 0
    assert len(find_dark_rendezvous(dp, min_overlap="1h")) == 1
    a, b = _pair_scenario()
    assert len(find_dark_rendezvous(find_dark_periods(_tracks(a, b)),
                                    max_distance_m=4_000)) == 0


def test_dark_rendezvous_ignores_other_event_types_and_same_mmsi():
    a, b = _pair_scenario()
    dp = find_dark_periods(_tracks(a, b))
    same = dp.copy()
    same["mmsi"] = DPRK
    assert len(find_dark_rendezvous(same)) == 0
    other = dp.copy()
    other["event_type"] = "loitering"
    assert len(find_dark_rendezvous(other)) == 0
    assert len(find_dark_rendezvous(dp.iloc[:0])) == 0


def test_dark_rendezvous_bad_input():
    with pytest.raises(TypeError):
        find_dark_rendezvous([1, 2])
    with pytest.raises(ValueError, match="columns"):
        find_dark_rendezvous(pd.DataFrame({"mmsi": [1]}))
    a, b = _pair_scenario()
    with pytest.raises(ValueError, match="max_distance_m"):
        find_dark_rendezvous(find_dark_periods(_tracks(a, b)), max_distance_m=-5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 25), st.sampled_from([122.0, 179.95]))
def test_dark_rendezvous_equals_brute_force_and_is_symmetric(seed, n, lon0):
    rng = np.random.default_rng(seed)
    start = T0 + rng.integers(0, 20, n) * H
    end = start + rng.integers(1, 12, n) * H
    lat = 30 + rng.uniform(-0.1, 0.1, n)
    lon = lon0 + rng.uniform(-0.1, 0.1, n)
    elat = lat + rng.uniform(-0.1, 0.1, n)
    elon = lon + rng.uniform(-0.1, 0.1, n)
    cov = rng.choice([np.nan, 0.2, 0.5, 0.9], n)
    from stsdetect.events import make_events

    dp = make_events("dark_period", mmsi=412_000_000 + rng.integers(0, 8, n), start=start,
                     end=end, lat=lat, lon=(lon + 180) % 360 - 180, end_lat=elat,
                     end_lon=(elon + 180) % 360 - 180, coverage=cov)
    got = find_dark_rendezvous(dp, max_distance_m=8_000, min_overlap="2h")
    m = dp["mmsi"].to_numpy()
    s = (dp["start"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    e = (dp["end"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    la, lo = dp["lat"].to_numpy(), dp["lon"].to_numpy()
    ela, elo = dp["end_lat"].to_numpy(), dp["end_lon"].to_numpy()
    cov = dp["coverage"].to_numpy()  # rows come back sorted by start
    if not np.isfinite(cov).any():  # no figures at all: nothing to require
        cov = np.ones(n)
    want = []
    for i in range(n):
        for j in range(i + 1, n):
            ov = min(e[i], e[j]) - max(s[i], s[j])
            if (m[i] != m[j] and ov >= 7200 and cov[i] >= 0.5 and cov[j] >= 0.5
                    and haversine_m(la[i], lo[i], la[j], lo[j]) <= 8000
                    and haversine_m(ela[i], elo[i], ela[j], elo[j]) <= 8000):
                want.append((min(m[i], m[j]), max(m[i], m[j]), max(s[i], s[j]),
                             min(e[i], e[j])))
    have = list(zip(got["mmsi"].tolist(), got["other_mmsi"].astype(int).tolist(),
                    _epoch(got["start"]), _epoch(got["end"]), strict=True))
    assert sorted(have) == sorted(want)
    assert (got["mmsi"] < got["other_mmsi"].astype(int)).all()
    perm = np.random.default_rng(seed + 1).permutation(n)
    again = find_dark_rendezvous(dp.iloc[perm], max_distance_m=8_000, min_overlap="2h")
    pd.testing.assert_frame_equal(got, again)


def test_radius_none_skips_the_heard_count():
    dprk, barge = _crossing_scenario()
    tracks = _tracks(dprk, barge)
    ev = find_dark_periods(tracks, radius_m=None)
    full = find_dark_periods(tracks)
    assert ev["n_other_heard"].isna().all() and ev["likely_intentional"].isna().all()
    assert ev["flags"].tolist() == [[]]
    cols = ["mmsi", "start", "end", "lat", "lon", "end_lat", "end_lon", "distance_m"]
    pd.testing.assert_frame_equal(ev[cols], full[cols])
    # A dark rendezvous of silences without the count is not called intentional.
    a, b = _pair_scenario()
    dr = find_dark_rendezvous(find_dark_periods(_tracks(a, b), radius_m=None, coverage=False))
    assert len(dr) == 1 and not dr["likely_intentional"].iloc[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 60)),
                max_size=40),
       st.integers(1, 20), st.sampled_from([1, 2, 3, 1 << 16]))
def test_first_in_bins_equals_the_whole_array_formula(rows, bin_s, block):
    """heard_counts' thinning (tracks.first_rows_in_bins, block by block; the windowed dark
    adapter's too) against the whole-array formula it replaces, with blocks small enough to
    cut every track."""
    import stsdetect.tracks as tr

    mmsi = np.array([211_000_000 + r[0] for r in rows], np.int64)
    tracks = Tracks.from_arrays(mmsi, np.array([r[2] for r in rows], float) + 1.7e9,
                                np.zeros(len(rows)), np.zeros(len(rows)),
                                segment=[r[1] for r in rows])
    bin_ns = bin_s * 10**9
    tbin = tracks.time_ns // bin_ns
    keep = np.ones(len(tracks), dtype=bool)
    keep[1:] = (tracks.segment[1:] != tracks.segment[:-1]) | (tbin[1:] != tbin[:-1])
    old, tr._GAP_BLOCK = tr._GAP_BLOCK, block
    try:
        got = tr.first_rows_in_bins(tracks, bin_ns)
    finally:
        tr._GAP_BLOCK = old
    np.testing.assert_array_equal(got, np.flatnonzero(keep))
