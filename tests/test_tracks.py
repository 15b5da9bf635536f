"""build_tracks: cleaning counts, duplicates, outliers, identity splits, order invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stsdetect.geo import EARTH_RADIUS_M, KNOT_M_S, haversine_m
from stsdetect.tracks import REPORT_KEYS, Tracks, build_tracks

T0 = pd.Timestamp("2024-03-01T00:00:00Z")


def positions(mmsi, t_s, lat, lon, sog=np.nan, cog=np.nan, **extra):
    """A positions table in the decoder's schema from column values."""
    n = len(np.atleast_1d(t_s))
    frame = pd.DataFrame({
        "mmsi": np.broadcast_to(np.asarray(mmsi, dtype=np.int64), (n,)),
        "time": T0 + pd.to_timedelta(np.asarray(t_s, dtype=float), unit="s"),
        "lat": np.broadcast_to(np.asarray(lat, float), (n,)),
        "lon": np.broadcast_to(np.asarray(lon, float), (n,)),
        "sog_kn": np.broadcast_to(np.asarray(sog, float), (n,)),
        "cog_deg": np.broadcast_to(np.asarray(cog, float), (n,)),
        "heading_deg": np.nan,
        "nav_status": np.int8(15),
        "msg_type": np.int8(1),
        "source": "",
    })
    for k, v in extra.items():
        frame[k] = v
    return frame


def straight(mmsi, lat0, lon0, speed_kn, bearing_deg, n, every_s=60.0, t0_s=0.0):
    """A vessel on a great circle at constant speed (exact positions on the sphere)."""
    t = t0_s + np.arange(n) * every_s
    d = speed_kn * KNOT_M_S * (t - t0_s) / EARTH_RADIUS_M
    la, lo, b = np.radians(lat0), np.radians(lon0), np.radians(bearing_deg)
    lat = np.arcsin(np.sin(la) * np.cos(d) + np.cos(la) * np.sin(d) * np.cos(b))
    lon = lo + np.arctan2(np.sin(b) * np.sin(d) * np.cos(la), np.cos(d) - np.sin(la) * np.sin(lat))
    return positions(mmsi, t, np.degrees(lat), (np.degrees(lon) + 180) % 360 - 180,
                     sog=speed_kn, cog=bearing_deg)


def max_implied_speed_kn(tracks: Tracks) -> float:
    """Fastest step between consecutive reports of one segment, allowing the noise margin."""
    same = tracks.segment[1:] == tracks.segment[:-1]
    d = haversine_m(tracks.lat_deg[:-1], tracks.lon_deg[:-1], tracks.lat_deg[1:],
                    tracks.lon_deg[1:])
    dt = np.diff(tracks.time_ns) / 1e9
    speed = np.maximum(d - 100.0, 0) / np.maximum(dt, 1e-9) / KNOT_M_S
    return float(speed[same].max()) if same.any() else 0.0


def test_report_counts_each_reason_once():
    good = straight(412000001, 30.0, 122.0, 8, 45, 10)
    bad = pd.concat([
        positions(412000002, [0, 60], [30.1, 30.2], [122.0, 122.0]).assign(time=pd.NaT),
        positions(412000003, [0, 60, 120], [91.0, np.nan, 30.0], [122.0, 122.0, 181.0]),
        positions([0, 123456789, 111111111, 99999999, 1000000000], np.arange(5) * 60.0,
                  30.0, 122.0),
    ])
    dups = good.iloc[[2, 5]].assign(source="other-station")
    dups["time"] += pd.Timedelta("2s")  # the same broadcast heard late elsewhere
    tracks = build_tracks(pd.concat([good, bad, dups], ignore_index=True))
    r = tracks.report
    assert set(REPORT_KEYS) <= set(r)
    assert r["rows_in"] == 10 + 2 + 3 + 5 + 2
    assert r["dropped_no_time"] == 2
    assert r["dropped_no_position"] == 3
    assert r["dropped_invalid_mmsi"] == 5
    assert r["dropped_duplicate"] == 2
    assert r["dropped_outlier"] == 0 and r["segments_split"] == 0
    assert r["rows_out"] == len(tracks) == 10
    assert tracks.n_segments == 1 and tracks.segment_mmsi.tolist() == [412000001]


def test_output_is_sorted_with_offsets():
    frame = pd.concat([straight(412000002, 30, 122, 5, 0, 20), straight(412000001, 31, 122, 5,
                                                                         90, 15)])
    tracks = build_tracks(frame.sample(frac=1.0, random_state=1))
    assert tracks.mmsi.tolist() == [412000001] * 15 + [412000002] * 20
    assert tracks.offsets.tolist() == [0, 15, 35]
    for k in range(tracks.n_segments):
        assert np.all(np.diff(tracks.time_ns[tracks.offsets[k]:tracks.offsets[k + 1]]) > 0)
    assert tracks.sog_kn[0] == 5 and tracks.cog_deg[0] == 90


def test_near_duplicates_need_same_place_and_close_time():
    base = positions(412000001, [0, 1, 3, 30, 600], [30.0, 30.0, 30.00001, 30.0, 30.0], 122.0)
    # 1 s and 3 s later at the same place (1 m off): duplicates; 30 s later: a new report.
    tracks = build_tracks(base)
    assert tracks.report["dropped_duplicate"] == 2
    assert ((tracks.time_ns / 1e9) - T0.timestamp()).tolist() == [0, 30, 600]
    # Same second, far apart: two transmitters, not a duplicate.
    far = positions(412000002, [0, 0], [30.0, 31.0], 122.0)
    assert build_tracks(far).report["dropped_duplicate"] == 0


def test_single_spike_is_dropped_as_outlier():
    frame = straight(412000001, 30.0, 122.0, 10, 30, 40)
    frame.loc[17, ["lat", "lon"]] = [32.0, 124.0]  # one bad fix 280 km away
    tracks = build_tracks(frame)
    assert tracks.report["dropped_outlier"] == 1
    assert tracks.report["segments_split"] == 0
    assert len(tracks) == 39 and tracks.n_segments == 1
    assert max_implied_speed_kn(tracks) < 50


@pytest.mark.parametrize("position", [0, 39])
def test_spike_at_either_end_is_dropped(position):
    frame = straight(412000001, 30.0, 122.0, 10, 30, 40)
    frame.loc[position, ["lat", "lon"]] = [-10.0, 60.0]
    tracks = build_tracks(frame)
    assert tracks.report["dropped_outlier"] == 1 and tracks.n_segments == 1


def test_bad_fix_right_at_a_jump_edge_is_skipped_not_split():
    # One fix 3 km off (impossible in the 20 s between reports): whichever way the jump is
    # read, exactly one report goes as an outlier and the track stays one segment.
    frame = straight(412000001, 30.0, 122.0, 10, 0, 60, every_s=20)
    frame.loc[30, "lat"] += 3000 / 111_195
    tracks = build_tracks(frame)
    assert tracks.n_segments == 1
    assert tracks.report["dropped_outlier"] == 1


def test_two_transmitters_sharing_an_mmsi_are_split():
    # Two ships 600 km apart broadcast the same MMSI, interleaved irregularly in time.
    rng = np.random.default_rng(3)
    a = straight(412000001, 30.0, 122.0, 8, 90, 200, every_s=60)
    b = straight(412000001, 25.0, 121.0, 12, 200, 150, every_s=80, t0_s=7)
    keep_a = rng.random(200) < 0.8
    frame = pd.concat([a[keep_a], b], ignore_index=True)
    tracks = build_tracks(frame)
    assert tracks.report["segments_split"] == 1
    assert tracks.report["dropped_outlier"] == 0
    assert tracks.n_segments == 2
    sizes = sorted(np.diff(tracks.offsets).tolist())
    assert sizes == sorted([int(keep_a.sum()), 150])
    for k in range(2):
        lat = tracks.lat_deg[tracks.offsets[k]:tracks.offsets[k + 1]]
        assert (lat > 27.5).all() or (lat < 27.5).all()  # each segment is one ship
    assert max_implied_speed_kn(tracks) < 50


def test_three_transmitters_and_outliers():
    a = straight(412000001, 30.0, 122.0, 8, 90, 100, every_s=90)
    b = straight(412000001, 20.0, 115.0, 8, 90, 100, every_s=90, t0_s=30)
    c = straight(412000001, 10.0, 110.0, 8, 90, 100, every_s=90, t0_s=60)
    spikes = positions(412000001, [1000.5, 5000.5], [0.0, -40.0], [0.0, 10.0])
    tracks = build_tracks(pd.concat([a, b, c, spikes]))
    assert tracks.n_segments == 3
    assert sorted(np.diff(tracks.offsets).tolist()) == [100, 100, 100]
    assert tracks.report["dropped_outlier"] == 2
    assert max_implied_speed_kn(tracks) < 50


def test_antimeridian_and_pole_tracks_are_not_outliers():
    east = straight(412000001, 10.0, 179.9, 20, 90, 60)  # crosses 180
    assert (east["lon"] < 0).any() and (east["lon"] > 0).any()
    polar = straight(412000002, 89.95, 0.0, 15, 0, 60)  # goes over the pole
    tracks = build_tracks(pd.concat([east, polar]))
    assert tracks.report["dropped_outlier"] == 0
    assert tracks.report["segments_split"] == 0
    assert tracks.n_segments == 2 and len(tracks) == 120
    assert ((tracks.lon_deg >= -180) & (tracks.lon_deg < 180)).all()


def test_empty_and_single_row():
    empty = build_tracks(positions(412000001, [], [], []).iloc[:0])
    assert len(empty) == 0 and empty.n_segments == 0
    assert empty.report["rows_in"] == 0 and empty.report["rows_out"] == 0
    one = build_tracks(positions(412000001, [0], [30.0], [122.0]))
    assert len(one) == 1 and one.n_segments == 1 and one.report["rows_out"] == 1


def test_input_forms_and_errors():
    frame = straight(412000001, 30.0, 122.0, 8, 90, 5)
    expected = build_tracks(frame)
    naive = frame.assign(time=frame["time"].dt.tz_localize(None))
    as_text = frame.assign(time=frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    epoch = pd.Timestamp(0, tz="UTC")
    as_seconds = frame.drop(columns="time").assign(
        time_s=(frame["time"] - epoch).dt.total_seconds())
    other_tz = frame.assign(time=frame["time"].dt.tz_convert("Asia/Shanghai"))
    arrow = frame.convert_dtypes(dtype_backend="pyarrow")  # e.g. read from Parquet
    text_mmsi = frame.assign(mmsi=frame["mmsi"].astype(str))
    for variant in (naive, as_text, as_seconds, other_tz, arrow, text_mmsi):
        got = build_tracks(variant)
        np.testing.assert_array_equal(got.time_ns, expected.time_ns)
    minimal = frame[["mmsi", "time", "lat", "lon"]]
    assert np.isnan(build_tracks(minimal).sog_kn).all()
    garbled = frame.assign(time=["2024-03-01T00:00:00Z", "not a time", None, "2024-03-01T00:03Z",
                                 "2024-03-01T00:04Z"])
    assert build_tracks(garbled).report["dropped_no_time"] == 2
    sentinel = frame.assign(sog_kn=102.3, cog_deg=360.0)
    got = build_tracks(sentinel)
    assert np.isnan(got.sog_kn).all() and np.isnan(got.cog_deg).all()
    with pytest.raises(ValueError, match="lacks column"):
        build_tracks(frame.drop(columns="lat"))
    with pytest.raises(ValueError, match="time"):
        build_tracks(frame.drop(columns="time"))
    with pytest.raises(TypeError, match="DataFrame"):
        build_tracks(frame.to_numpy())
    with pytest.raises(ValueError, match="max_speed_kn"):
        build_tracks(frame, max_speed_kn=0)


# --- properties ------------------------------------------------------------------------------

@st.composite
def traffic(draw):
    """Random walks of a few vessels, some sharing an MMSI, some with spikes and duplicates."""
    n_vessels = draw(st.integers(0, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frames = []
    for _ in range(n_vessels):
        n = draw(st.integers(1, 40))
        lat0 = draw(st.floats(-89.0, 89.0))
        lon0 = draw(st.sampled_from([179.99, -179.99, 0.0, 122.0]))
        t = np.sort(rng.integers(0, 6 * 3600, n)).astype(float)
        step = rng.normal(0, 0.002, (n, 2)).cumsum(axis=0)
        lat = np.clip(lat0 + step[:, 0], -89.9, 89.9)
        lon = (lon0 + step[:, 1] + 180) % 360 - 180
        mmsi = 412000000 + draw(st.integers(0, 2))  # collisions: shared identities
        frame = positions(mmsi, t, lat, lon, sog=rng.uniform(0, 15, n))
        if n > 3 and draw(st.booleans()):
            frame.loc[n // 2, "lat"] = -lat0  # a far spike
        frames.append(frame)
        if draw(st.booleans()):
            frames.append(frame.iloc[: n // 2].assign(source="dup"))
    if not frames:
        return positions(412000000, [], [], []).iloc[:0]
    return pd.concat(frames, ignore_index=True)


def tracks_equal(a: Tracks, b: Tracks):
    for name in ("mmsi", "segment", "time_ns", "lat_deg", "lon_deg", "sog_kn", "cog_deg",
                 "offsets", "segment_mmsi"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.report == b.report


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(traffic(), st.randoms(use_true_random=False))
def test_order_invariance_and_invariants(frame, rnd):
    tracks = build_tracks(frame)
    shuffled = frame.iloc[rnd.sample(range(len(frame)), len(frame))].reset_index(drop=True)
    tracks_equal(tracks, build_tracks(shuffled))
    r = tracks.report
    dropped = sum(v for k, v in r.items() if k.startswith("dropped_"))
    assert r["rows_out"] == r["rows_in"] - dropped == len(tracks)
    # Sorted by (mmsi, segment, time); offsets and segment ids consistent.
    key = np.lexsort((tracks.time_ns, tracks.segment, tracks.mmsi))
    np.testing.assert_array_equal(key, np.arange(len(tracks)))
    assert tracks.offsets[0] == 0 and tracks.offsets[-1] == len(tracks)
    np.testing.assert_array_equal(np.repeat(np.arange(tracks.n_segments),
                                            np.diff(tracks.offsets)), tracks.segment)
    assert r["segments_split"] == int(
        (np.unique(tracks.segment_mmsi, return_counts=True)[1] > 1).sum())
    # No segment keeps an impossible jump (the 100 m noise allowance aside).
    assert max_implied_speed_kn(tracks) <= 50 + 1e-6
    # Every kept row is an input row.
    rows_in = set(zip(frame["mmsi"], frame["lat"].round(9), frame["lon"].round(9), strict=True))
    assert set(zip(tracks.mmsi, tracks.lat_deg.round(9), tracks.lon_deg.round(9),
                   strict=True)) <= rows_in


# --- real data ---------------------------------------------------------------------------------

def read_gfw(path) -> pd.DataFrame:
    raw = pd.read_json(path, lines=True)
    return pd.DataFrame({
        "mmsi": raw["ssvid"].astype(np.int64),
        "time": pd.to_datetime(raw["timestamp"], utc=True),
        "lat": raw["lat"].astype(float),
        "lon": raw["lon"].astype(float),
        "sog_kn": raw["speed"].astype(float),
        "cog_deg": raw["course"].astype(float),
    })


def test_shared_mmsi_in_real_gfw_data_is_split(shared_data):
    frame = read_gfw(shared_data / "gfw-gpsdio-segment" / "416000000.json")
    tracks = build_tracks(frame)
    r = tracks.report
    assert r["segments_split"] == 1 and tracks.n_segments >= 2
    # The identity is used both in the Taiwan Strait and in the Indian Ocean: no segment may
    # mix the two, and no segment keeps an impossible jump.
    for k in range(tracks.n_segments):
        lat = tracks.lat_deg[tracks.offsets[k]:tracks.offsets[k + 1]]
        assert (lat > 15).all() or (lat < 0).all()
    assert max_implied_speed_kn(tracks) < 50
    assert r["rows_out"] > 0.8 * (r["rows_in"] - r["dropped_duplicate"])


def test_single_vessel_gfw_tracks_stay_mostly_whole(shared_data):
    for name in ("263576000.json", "338013000.json"):
        frame = read_gfw(shared_data / "gfw-gpsdio-segment" / name)
        tracks = build_tracks(frame)
        largest = np.diff(tracks.offsets).max()
        assert largest >= 0.9 * len(tracks), name  # GFW: one vessel plus singleton noise
        assert max_implied_speed_kn(tracks) < 50


def test_from_arrays_breaks_time_ties_by_the_row_whatever_the_input_order():
    # Two reports of one vessel at the same second but different places: the detectors take
    # "the last report before a gap", so the sorted order must not depend on the input order.
    t = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta([0, 0, 7200], unit="s")
    lat = np.array([30.0, 30.5, 31.0])
    lon = np.array([122.0, 122.1, 122.2])
    mmsi = np.full(3, 412000001)
    rows = []
    for order in ([0, 1, 2], [1, 0, 2], [2, 1, 0]):
        tr = Tracks.from_arrays(mmsi[order], t[order], lat[order], lon[order])
        rows.append((tr.lat_deg.tolist(), tr.lon_deg.tolist(), tr.time_ns.tolist()))
    assert rows[0] == rows[1] == rows[2]


def _clean_oracle(frame):
    """Steps 1-4 of build_tracks in plain NumPy (the oracle of its compiled passes): masks,
    one stable lexsort by every column (NaN last), duplicates against the previous row."""
    from stsdetect.tracks import INVALID_MMSIS

    mmsi = frame["mmsi"].to_numpy(np.int64)
    t = pd.DatetimeIndex(frame["time"]).as_unit("ns").asi8
    no_time = np.asarray(frame["time"].isna())
    lat, lon = frame["lat"].to_numpy(float), frame["lon"].to_numpy(float).copy()
    sog, cog = frame["sog_kn"].to_numpy(float).copy(), frame["cog_deg"].to_numpy(float).copy()
    no_pos = ~no_time & ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    valid = (mmsi >= 100_000_000) & (mmsi <= 999_999_999) & ~np.isin(mmsi, list(INVALID_MMSIS))
    ok = ~no_time & ~no_pos & valid
    lon[lon == 180.0] = -180.0
    sog[~((sog >= 0) & (sog < 102.25))] = np.nan
    cog[~((cog >= 0) & (cog < 360))] = np.nan
    rows = np.flatnonzero(ok)
    order = rows[np.lexsort((cog[rows], sog[rows], lon[rows], lat[rows], t[rows], mmsi[rows]))]
    dup = np.zeros(order.size, dtype=bool)
    a, b = order[1:], order[:-1]
    dup[1:] = (mmsi[a] == mmsi[b]) & (t[a] - t[b] <= 5 * 10**9) \
        & (haversine_m(lat[a], lon[a], lat[b], lon[b]) <= 15.0)
    keep = order[~dup]
    counts = {"dropped_no_time": int(no_time.sum()), "dropped_no_position": int(no_pos.sum()),
              "dropped_invalid_mmsi": int((~no_time & ~no_pos & ~valid).sum()),
              "dropped_duplicate": int(dup.sum())}
    return (mmsi[keep], t[keep], lat[keep], lon[keep], sog[keep], cog[keep]), counts


def _assert_same_rows(tracks, want):
    got = (tracks.mmsi, tracks.time_ns, tracks.lat_deg, tracks.lon_deg, tracks.sog_kn,
           tracks.cog_deg)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        if w.dtype.kind == "f":  # -0.0 and 0.0 tie in the order: the input order decides
            assert np.array_equal(np.signbit(g), np.signbit(w))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([211000000] * 4 + [412000000] * 2
                                          + [0, 123456789, 99999999, 1000000000]),
                          st.one_of(st.integers(0, 3), st.integers(0, 7), st.just(None)),
                          st.sampled_from([30.0, 30.01] * 2 + [-0.0, 0.0, np.nan, 91.0]),
                          st.sampled_from([122.0, 122.01] * 2 + [180.0, np.nan, -181.0]),
                          st.sampled_from([1.0, 5.0, -1.0, 102.3, np.nan]),
                          st.sampled_from([3.0, 1.0, 360.0, np.nan])),
                min_size=2, max_size=40), st.booleans())
def test_cleaning_equals_a_numpy_oracle(rows, time_order):
    """The compiled cleaning passes (codes, counting sort with the already-sorted check,
    duplicates) equal masks + a stable lexsort by (mmsi, time, lat, lon, sog, cog) with NaN
    last + the duplicate rule, in and out of time order. Any step is allowed (10,000 km of
    position noise), so no step is an impossible jump."""
    if time_order:  # a dump written in time order: no vessel needs the lexsort
        rows = sorted(rows, key=lambda r: -1 if r[1] is None else r[1])
    cols = list(zip(*rows, strict=True)) if rows else [()] * 6
    frame = pd.DataFrame({
        "mmsi": np.array(cols[0], np.int64),
        "time": pd.to_datetime([None if s is None else T0 + pd.Timedelta(s, "s")
                                for s in cols[1]], utc=True).as_unit("ns"),
        "lat": np.array(cols[2], float), "lon": np.array(cols[3], float),
        "sog_kn": np.array(cols[4], float), "cog_deg": np.array(cols[5], float)})
    tracks = build_tracks(frame, position_noise_m=1e7)  # no jumps: the cleaning alone
    want, counts = _clean_oracle(frame)
    _assert_same_rows(tracks, want)
    assert {k: tracks.report[k] for k in counts} == counts
    assert tracks.report["dropped_outlier"] == 0


def test_cleaning_with_many_vessels_equals_the_oracle():
    """Thousands of MMSIs (the compiled hash table grows several times), rows shuffled, some
    vessels with every report twice (duplicates), ties in time."""
    rng = np.random.default_rng(7)
    n = 40_000
    mmsi = rng.choice(rng.integers(100_000_000, 999_999_999, 5000), n)
    t = T0 + pd.to_timedelta(rng.integers(0, 3600, n), unit="s")
    frame = pd.DataFrame({"mmsi": mmsi, "time": t, "lat": 30 + rng.random(n) * 1e-4,
                          "lon": 122 + rng.random(n) * 1e-4,
                          "sog_kn": rng.choice([1.0, np.nan, 102.3], n),
                          "cog_deg": rng.choice([10.0, 360.0], n)})
    frame = pd.concat([frame, frame.iloc[::7]], ignore_index=True)
    tracks = build_tracks(frame.sample(frac=1.0, random_state=1), position_noise_m=1e7)
    want, counts = _clean_oracle(frame)
    _assert_same_rows(tracks, want)
    assert {k: tracks.report[k] for k in counts} == counts
    assert tracks.n_segments == np.unique(want[0]).size
    assert np.array_equal(tracks.segment_mmsi, np.unique(want[0]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 6)), max_size=12))
def test_range_rows_concatenates_the_ranges(ranges):
    """range_rows equals concatenating one arange per range (empty ranges included)."""
    from stsdetect.tracks import range_rows

    lo = np.array([a for a, _ in ranges], np.int64)
    hi = lo + np.array([n for _, n in ranges], np.int64)
    want = np.concatenate([np.zeros(0, np.int64)]
                          + [np.arange(a, b, dtype=np.int64) for a, b in zip(lo, hi, strict=True)])
    got = range_rows(lo, hi)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 40)),
                max_size=40),
       st.integers(-5, 30), st.sampled_from([1, 2, 3, 1 << 16]))
def test_gap_rows_equals_the_whole_array_formula(rows, gap, block):
    """gap_rows (block by block, segment ends by offsets) against the formula it replaces in
    the dark-period and loitering detectors, with blocks small enough to cut every track."""
    import stsdetect.tracks as tr

    mmsi = np.array([211_000_000 + r[0] for r in rows], np.int64)
    tracks = Tracks.from_arrays(mmsi, np.array([r[2] for r in rows], float) + 1.7e9,
                                np.zeros(len(rows)), np.zeros(len(rows)),
                                segment=[r[1] for r in rows])
    gap_ns = gap * 10**9
    expected = np.flatnonzero((tracks.segment[1:] == tracks.segment[:-1])
                              & (np.diff(tracks.time_ns) > gap_ns))
    old, tr._GAP_BLOCK = tr._GAP_BLOCK, block
    try:
        got = tr.gap_rows(tracks, gap_ns)
    finally:
        tr._GAP_BLOCK = old
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)



def test_detect_cleans_with_build_tracks_itself(monkeypatch):
    """detect() cleans through build_tracks (its defaults, the one copy of them) and takes the
    heard spans from heard_spans: a changed build_tracks is what detect() runs."""
    import stsdetect.tracks as tr
    from stsdetect import detect

    calls = []
    real = tr.build_tracks

    def spy(positions, *args, **kwargs):
        calls.append(kwargs)
        return real(positions, *args, **kwargs)

    monkeypatch.setattr(tr, "build_tracks", spy)
    pos = pd.concat([straight(211000001, 30.0, 122.0, 10.0, 90.0, 30),
                     straight(211000002, 30.001, 122.0, 10.0, 90.0, 30)], ignore_index=True)
    result = detect(pos, regions=[], context=False, track_max_speed_kn=40.0)
    assert calls == [{"max_speed_kn": 40.0, "duplicate_window_s": 5.0,
                      "duplicate_distance_m": 15.0, "position_noise_m": 100.0,
                      "min_segment_reports": 3}]
    assert len(result.tracks) == 60


def test_heard_spans_are_a_field_that_travels_with_the_tracks():
    """build_tracks' heard spans are the field Tracks.heard, not state kept beside the object:
    pickling (tracks sent to or from a Dask worker) and copies keep them; from_arrays and a
    subset of rows (take) have none; Tracks without them still run detect() and the activity
    table (which then reads the positions), with the same results."""
    import copy
    import pickle

    from stsdetect import detect
    from stsdetect.identity.activity import _position_part, vessel_activity
    from stsdetect.tracks import heard_spans

    # two vessels lying together for three hours (a rendezvous), one of them also heard with no
    # position (kept in its heard span, not in the tracks), and a vessel never cleaned in
    pos = pd.concat([straight(211000001, 30.0, 122.0, 0.3, 90.0, 180),
                     straight(211000002, 30.0005, 122.0, 0.3, 90.0, 180),
                     positions(211000002, [-600.0], [91.0], [181.0]),
                     positions(123456789, [0.0, 60.0], [30.2, 30.2], [122.2, 122.2])],
                    ignore_index=True)
    tracks = build_tracks(pos)
    heard = heard_spans(tracks)
    assert heard is tracks.heard and heard["mmsi"].tolist() == [123456789, 211000001,
                                                               211000002]
    pd.testing.assert_frame_equal(heard, _position_part(pos, None, None))
    for other in (pickle.loads(pickle.dumps(tracks)), copy.copy(tracks),
                  copy.deepcopy(tracks)):
        pd.testing.assert_frame_equal(heard_spans(other), heard)
        pd.testing.assert_frame_equal(vessel_activity(other, pos, heard=heard_spans(other)),
                                      vessel_activity(tracks, pos))
    bare = Tracks.from_arrays(tracks.mmsi, tracks.time_ns, tracks.lat_deg, tracks.lon_deg,
                              tracks.sog_kn, tracks.cog_deg, segment=tracks.segment)
    assert heard_spans(bare) is None and bare.heard is None
    assert heard_spans(tracks.take(np.arange(len(tracks)))) is None
    assert heard_spans(tracks.take(tracks.mmsi == 211000001)) is None
    pd.testing.assert_frame_equal(vessel_activity(bare, pos), vessel_activity(tracks, pos))
    with_heard = detect(tracks, regions=[], context=False).events
    assert (with_heard["event_type"] == "rendezvous").any()
    pd.testing.assert_frame_equal(detect(bare, regions=[], context=False).events, with_heard)
    pd.testing.assert_frame_equal(
        detect(pickle.loads(pickle.dumps(tracks)), regions=[], context=False).events,
        with_heard)
    assert Tracks.empty().heard is None


def test_tracks_are_read_only_so_a_checked_tracks_cannot_change_unseen():
    """Every Tracks' arrays are read-only (from build_tracks, from_arrays, take, empty, the
    constructor, and after pickling or copying): writing into a checked Tracks raises instead
    of going unseen by check_tracks' memory. Arrays made writable again on purpose are
    scanned at every check (a NaN written then is found), never remembered; a caller's own
    arrays given to the constructor stay writable."""
    import copy
    import pickle

    from stsdetect.detectors import _checks
    from stsdetect.detectors.rendezvous import find_pair_runs
    from stsdetect.tracks import _ARRAY_FIELDS

    pos = pd.concat([straight(211000001, 30.0, 122.0, 0.3, 90.0, 20),
                     straight(211000002, 30.0005, 122.0, 0.3, 90.0, 20)], ignore_index=True)
    tracks = build_tracks(pos)
    lat = tracks.lat_deg.copy()
    raw = Tracks(tracks.mmsi.copy(), tracks.segment.copy(), tracks.time_ns.copy(), lat,
                 tracks.lon_deg.copy(), tracks.sog_kn.copy(), tracks.cog_deg.copy(),
                 tracks.offsets.copy(), tracks.segment_mmsi.copy())
    assert lat.flags.writeable  # the caller's array: not frozen
    made = [tracks, raw, Tracks.from_arrays(pos["mmsi"], pos["time"], pos["lat"], pos["lon"]),
            tracks.take(tracks.mmsi == 211000001), tracks.take(np.arange(5)), Tracks.empty(),
            pickle.loads(pickle.dumps(tracks)), copy.copy(tracks), copy.deepcopy(tracks)]
    for t in made:
        assert [n for n in _ARRAY_FIELDS if getattr(t, n).flags.writeable] == []
    for t in (tracks, raw):
        find_pair_runs(t, max_distance_m=500.0)  # checked (and remembered)
        before = t.lat_deg.copy()
        for value in (999.0, np.nan):
            with pytest.raises(ValueError, match="read-only"):
                t.lat_deg[3] = value
            with pytest.raises(ValueError, match="read-only"):
                t.lon_deg[...] = value
        np.testing.assert_array_equal(t.lat_deg, before)
        assert _checks.check_tracks(t) is t
        # writable again on purpose: not remembered, so the NaN written then is found
        t.lat_deg.flags.writeable = True
        t.lat_deg[3] = np.nan
        for _ in range(2):
            with pytest.raises(ValueError, match="1 rows with a non-finite lat_deg"):
                find_pair_runs(t, max_distance_m=500.0)
        t.lat_deg[3] = before[3]
        assert _checks.check_tracks(t) is t
