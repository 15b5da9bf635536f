"""Loitering: crafted stops, a plain per-vessel reference on random tracks, invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.detectors.loitering import find_loitering, report_speed_kn
from stsdetect.events import EVENT_COLUMNS
from stsdetect.geo import KNOT_M_S, haversine_m
from stsdetect.tracks import Tracks

T0 = 1_700_000_000.0
H = 3600.0
DPRK = 445_000_001


def _stop_track(stop_h=6.0, step_s=600.0, lon=122.0, with_sog=True, total_h=24.0):
    """Sail north at 10 kn, stop (drifting at 0.3 kn) from hour 3 for ``stop_h``, sail on."""
    t = np.arange(0.0, total_h * H + 1, step_s)
    stopped = (t >= 3 * H) & (t <= (3 + stop_h) * H)
    v_m_s = np.where(stopped, 0.3, 10.0) * KNOT_M_S
    north_m = np.r_[0.0, np.cumsum(v_m_s[1:] * np.diff(t))]
    lat = 30.0 + north_m / 111_195.0
    sog = np.where(stopped, 0.3, 10.0) if with_sog else None
    return Tracks.from_arrays(np.full(t.size, DPRK), T0 + t, lat, np.full(t.size, lon), sog), \
        stopped


def test_a_six_hour_stop_is_one_loitering_event():
    tracks, stopped = _stop_track()
    ev = find_loitering(tracks)
    assert list(ev.columns) == list(EVENT_COLUMNS)
    assert len(ev) == 1
    e = ev.iloc[0]
    assert e["event_type"] == "loitering" and e["mmsi"] == DPRK
    assert e["start"] == pd.Timestamp(T0 + 3 * H, unit="s", tz="UTC")
    assert e["end"] == pd.Timestamp(T0 + 9 * H, unit="s", tz="UTC")
    assert e["duration_h"] == pytest.approx(6.0)
    assert e["n_positions"] == int(stopped.sum()) == 37
    assert e["mean_sog_kn"] == pytest.approx(0.3)
    lat = tracks.lat_deg[stopped]
    assert e["lat"] == pytest.approx(lat.mean(), abs=1e-4)
    assert e["lon"] == pytest.approx(122.0)
    # Drift: 0.3 kn for 6 h is 3.3 km end to end; the farthest report is ~half that from the
    # mean position.
    assert e["distance_m"] == pytest.approx(0.3 * KNOT_M_S * 6 * H / 2, rel=0.02)


def test_implied_speed_is_used_when_sog_is_missing():
    tracks, stopped = _stop_track(with_sog=False)
    ev = find_loitering(tracks)
    assert len(ev) == 1
    # The last stopped report is followed by a 10-kn step, and a report takes the larger of
    # its two steps' speeds, so the run is one report shorter.
    assert ev["n_positions"].iloc[0] == int(stopped.sum()) - 1
    assert ev["mean_sog_kn"].iloc[0] == pytest.approx(0.3, rel=0.01)
    speed = report_speed_kn(tracks)
    assert np.isfinite(speed).all()
    assert speed[~stopped] == pytest.approx(10.0, rel=0.01)


def _report_speed_oracle(tracks, gap_s):
    """report_speed_kn as first written: an implied speed for every step (NaN where unused)."""
    n = len(tracks)
    speed = tracks.sog_kn.astype(float, copy=True)
    if n < 2:
        return speed
    missing = ~np.isfinite(speed)
    need = np.flatnonzero(missing[:-1] | missing[1:])
    if need.size == 0:
        return speed
    a, b = need, need + 1
    dt = (tracks.time_ns[b] - tracks.time_ns[a]) / 1e9
    ok = (tracks.segment[a] == tracks.segment[b]) & (dt > 0) & (dt <= gap_s)
    step = np.full(n - 1, np.nan)
    a, b, dt = a[ok], b[ok], dt[ok]
    step[a] = haversine_m(tracks.lat_deg[a], tracks.lon_deg[a], tracks.lat_deg[b],
                          tracks.lon_deg[b]) / dt / KNOT_M_S
    rows = np.flatnonzero(missing)
    prev_step = step[np.maximum(rows - 1, 0)]
    prev_step[rows == 0] = np.nan
    next_step = step[np.minimum(rows, n - 2)]
    next_step[rows == n - 1] = np.nan
    speed[rows] = np.fmax(prev_step, next_step)
    return speed


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 30),
                          st.sampled_from([0.0, 0.001, 0.05]),
                          st.sampled_from([np.nan, 0.2, 5.0])), min_size=1, max_size=40))
def test_report_speed_equals_the_every_step_route(rows):
    """The implied speeds taken from the few steps next to a report without SOG equal those
    read from an array of every step (segment edges, long and zero-length steps, the first
    and last rows)."""
    rows = sorted(rows)
    mmsi = np.array([412000000 + r[0] for r in rows])
    t = T0 + np.array([r[1] for r in rows], float) * 1200.0  # steps up to 10 h, some zero
    lat = 30.0 + np.array([r[2] for r in rows])
    sog = np.array([r[3] for r in rows])
    tracks = Tracks.from_arrays(mmsi, t, lat, np.full(t.size, 122.0), sog)
    for gap in ("1h", "3h"):
        want = _report_speed_oracle(tracks, pd.Timedelta(gap).total_seconds())
        np.testing.assert_array_equal(report_speed_kn(tracks, max_gap=gap), want)


def test_min_duration_is_inclusive_and_short_stops_are_ignored():
    tracks, _ = _stop_track(stop_h=4.0)
    assert len(find_loitering(tracks)) == 1
    tracks, _ = _stop_track(stop_h=3.5)
    assert len(find_loitering(tracks)) == 0
    assert len(find_loitering(tracks, min_duration="3h")) == 1
    # A higher threshold makes the whole 10-kn track slow.
    assert find_loitering(tracks, max_speed_kn=11)["n_positions"].tolist() == [len(tracks)]


def test_sog_zero_while_moving_is_not_loitering():
    tracks, _ = _stop_track(stop_h=0.0)  # sails at 10 kn all day ...
    lying = Tracks.from_arrays(tracks.mmsi, tracks.time_ns, tracks.lat_deg, tracks.lon_deg,
                               np.zeros(len(tracks)))  # ... but reports SOG 0
    assert len(find_loitering(lying)) == 0


def test_a_silence_breaks_a_run():
    t = np.r_[np.arange(0, 3 * H + 1, 600), np.arange(5 * H, 8 * H + 1, 600)]
    tracks = Tracks.from_arrays(np.full(t.size, DPRK), T0 + t, np.full(t.size, 30.0),
                                np.full(t.size, 122.0), np.zeros(t.size))
    assert len(find_loitering(tracks)) == 0  # 3 h + 3 h, but 2 h unheard in between
    ev = find_loitering(tracks, max_gap="2h")
    assert len(ev) == 1 and ev["duration_h"].iloc[0] == pytest.approx(8.0)


def test_segments_do_not_join():
    t = np.arange(0, 6 * H + 1, 600)
    seg = (t > 3 * H).astype(int)
    tracks = Tracks.from_arrays(np.full(t.size, DPRK), T0 + t, np.full(t.size, 30.0),
                                np.full(t.size, 122.0), np.zeros(t.size), segment=seg)
    assert len(find_loitering(tracks)) == 0


def test_loitering_across_the_antimeridian():
    t = np.arange(0, 6 * H + 1, 600)
    lon = np.where(np.arange(t.size) % 2 == 0, 179.999, -179.999)
    tracks = Tracks.from_arrays(np.full(t.size, DPRK), T0 + t, np.full(t.size, -15.0), lon,
                                np.full(t.size, 0.5))
    ev = find_loitering(tracks)
    assert len(ev) == 1
    assert abs(ev["lon"].iloc[0]) == pytest.approx(180.0, abs=0.002)
    assert ev["distance_m"].iloc[0] < 200


def test_empty_and_single_report():
    assert len(find_loitering(Tracks.empty())) == 0
    one = Tracks.from_arrays([DPRK], [T0], [30.0], [122.0], [0.0])
    assert len(find_loitering(one, min_duration=0)) == 0  # one report is not a run


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"max_speed_kn": 0}, "max_speed_kn"),
    ({"min_duration": "long"}, "duration"),
    ({"max_gap": "-1h"}, "duration"),
])
def test_bad_parameters(kwargs, match):
    tracks, _ = _stop_track()
    with pytest.raises(ValueError, match=match):
        find_loitering(tracks, **kwargs)


def test_bad_input_type():
    with pytest.raises(TypeError, match="Tracks"):
        find_loitering(np.zeros(3))


# ---------------------------------------------------------------- reference on random tracks


def _reference(mmsi, t, lat, lon, sog, max_kn, min_s, gap_s):
    """Walk each vessel's reports in time order, the obvious way."""
    out = []
    for m in np.unique(mmsi):
        rows = np.flatnonzero(mmsi == m)
        rows = rows[np.argsort(t[rows], kind="stable")]
        k = rows.size

        def step_kn(a, b):
            dt = t[b] - t[a]
            if 0 < dt <= gap_s:
                return haversine_m(lat[a], lon[a], lat[b], lon[b]) / dt / KNOT_M_S
            return None

        speed = []
        for p in range(k):
            if np.isfinite(sog[rows[p]]):
                speed.append(sog[rows[p]])
                continue
            near = [s for s in (step_kn(rows[p - 1], rows[p]) if p > 0 else None,
                                step_kn(rows[p], rows[p + 1]) if p < k - 1 else None)
                    if s is not None]
            speed.append(max(near) if near else np.nan)
        p = 0
        while p < k:
            if not speed[p] < max_kn:
                p += 1
                continue
            q = p
            while q + 1 < k and speed[q + 1] < max_kn and t[rows[q + 1]] - t[rows[q]] <= gap_s:
                q += 1
            span = t[rows[q]] - t[rows[p]]
            net = haversine_m(lat[rows[p]], lon[rows[p]], lat[rows[q]], lon[rows[q]])
            if q > p and span >= min_s and net / span / KNOT_M_S < max_kn:
                out.append((int(m), t[rows[p]], t[rows[q]], q - p + 1,
                            round(float(np.mean(speed[p:q + 1])), 9)))
            p = q + 1
    return sorted(out)


@st.composite
def random_tracks(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(0, 80))
    rng = np.random.default_rng(seed)
    mmsi = 412_000_000 + rng.integers(0, draw(st.integers(1, 4)), n)
    t = T0 + rng.integers(0, 24, n) * 900.0  # 15-min grid over 6 h: ties and gaps both occur
    lat = 30.0 + rng.uniform(-0.02, 0.02, n)
    lon = 122.0 + rng.uniform(-0.02, 0.02, n)
    sog = np.where(rng.random(n) < 0.3, np.nan, rng.uniform(0, 4, n))
    return mmsi, t, lat, lon, sog


@settings(max_examples=80, deadline=None)
@given(random_tracks(), st.sampled_from(["30min", "1h", "2h"]),
       st.sampled_from(["900s", "1h"]))
def test_loitering_equals_per_vessel_reference(data, min_duration, max_gap):
    mmsi, t, lat, lon, sog = data
    tracks = Tracks.from_arrays(mmsi, t, lat, lon, sog)
    ev = find_loitering(tracks, max_speed_kn=2.0, min_duration=min_duration, max_gap=max_gap)
    # The reference sorts each vessel like Tracks does (stable by time), so compare on the
    # sorted arrays: equal-time reports keep one order in both.
    want = _reference(tracks.mmsi, (tracks.time_ns / 1e9), tracks.lat_deg, tracks.lon_deg,
                      tracks.sog_kn, 2.0, pd.Timedelta(min_duration).total_seconds(),
                      pd.Timedelta(max_gap).total_seconds())
    epoch = pd.Timestamp(0, tz="UTC")
    got = sorted(zip(ev["mmsi"].tolist(), (ev["start"] - epoch).dt.total_seconds().tolist(),
                     (ev["end"] - epoch).dt.total_seconds().tolist(),
                     ev["n_positions"].tolist(),
                     [round(x, 9) for x in ev["mean_sog_kn"].tolist()], strict=True))
    assert got == want


@settings(max_examples=30, deadline=None)
@given(random_tracks(), st.integers(0, 2**32 - 1))
def test_loitering_order_invariant(data, seed):
    mmsi, t, lat, lon, sog = data
    # Distinct times per vessel, so that the order of equal-time reports cannot matter.
    t = t + np.arange(t.size) * 1e-3
    perm = np.random.default_rng(seed).permutation(t.size)
    a = find_loitering(Tracks.from_arrays(mmsi, t, lat, lon, sog), min_duration="1h")
    b = find_loitering(Tracks.from_arrays(mmsi[perm], t[perm], lat[perm], lon[perm],
                                          sog[perm]), min_duration="1h")
    pd.testing.assert_frame_equal(a, b)
