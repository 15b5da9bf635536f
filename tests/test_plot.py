"""Plots: maps of events and tracks, one map per event, a pair's separation/speed timeline."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.events import concat_events, make_events, write_events
from stsdetect.tracks import Tracks

matplotlib = pytest.importorskip("matplotlib")

from stsdetect import plot  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
DPRK, BARGE, BYSTANDER = 445123456, 412000001, 413999999


def _haversine_oracle_m(lat1, lon1, lat2, lon2):
    """Independent great-circle distance (math module, same mean radius as the library)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


@pytest.fixture
def scenario():
    """A DPRK ship sails east and stops; a barge comes south to meet it; a bystander far off.

    Reports every 2 min for 20 h. The DPRK ship is silent from 2 h to 9 h (a dark period).
    """
    t = np.arange(0.0, 20 * 3600.0, 120.0)
    lat_a = np.full(t.size, 30.6)
    lon_a = np.minimum(121.5 + t / 3600 * 0.05, 122.0)
    lat_b = np.maximum(31.0 - t / 3600 * 0.04, 30.602)
    lon_b = np.full(t.size, 122.0)
    sog_a = np.where(lon_a < 122.0, 3.0, 0.3)
    sog_b = np.where(lat_b > 30.602, 2.4, 0.2)
    silent = (t > 2 * 3600) & (t < 9 * 3600)
    keep_a = ~silent
    tracks = Tracks.from_arrays(
        np.r_[np.full(keep_a.sum(), DPRK), np.full(t.size, BARGE), np.full(t.size, BYSTANDER)],
        np.r_[T0 + t[keep_a], T0 + t, T0 + t],
        np.r_[lat_a[keep_a], lat_b, np.full(t.size, 29.0)],
        np.r_[lon_a[keep_a], lon_b, np.full(t.size, 123.5)],
        np.r_[sog_a[keep_a], sog_b, np.full(t.size, 10.0)],
    )
    rv = make_events("rendezvous", mmsi=[BARGE], other_mmsi=pd.array([DPRK], dtype="Int64"),
                     start=[T0 + 11 * 3600], end=[T0 + 16 * 3600], lat=[30.601], lon=[122.0])
    dk = make_events("dark_period", mmsi=[DPRK], start=[T0 + 2 * 3600], end=[T0 + 9 * 3600],
                     lat=[30.6], lon=[121.6], end_lat=[30.6], end_lon=[121.95])
    lo = make_events("loitering", mmsi=[BARGE, DPRK], start=[T0 + 12 * 3600, T0 + 12 * 3600],
                     end=[T0 + 17 * 3600, T0 + 17 * 3600], lat=[30.602, 30.6],
                     lon=[122.0, 122.0])
    return tracks, concat_events([rv, dk, lo])


def _track_steps(ax):
    """The drawn track lines as (n, 2, 2) steps between consecutive drawn reports (the
    collection holds one polyline per unbroken piece of track)."""
    steps = [np.stack([line[:-1], line[1:]], axis=1)
             for line in _gid(ax, "tracks").get_segments() if len(line) > 1]
    return np.concatenate(steps) if steps else np.zeros((0, 2, 2))


def _gid(ax, gid):
    found = [a for a in [*ax.collections, *ax.lines] if a.get_gid() == gid]
    return found[0] if found else None


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0  # not a blank canvas


# ------------------------------------------------------------------------------ map content
def test_map_markers_per_type_and_limits_cover_events(scenario, tmp_path):
    tracks, events = scenario
    ax = plot.plot_events_map(events, tracks)
    for etype, count in events["event_type"].value_counts().items():
        markers = _gid(ax, f"events-{etype}")
        assert markers is not None and len(markers.get_offsets()) == count
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    lons = np.r_[events["lon"], events["end_lon"].dropna()]
    lats = np.r_[events["lat"], events["end_lat"].dropna()]
    assert x0 <= lons.min() - 0.2 + 1e-9 and x1 >= lons.max() + 0.2 - 1e-9
    assert y0 <= lats.min() - 0.2 + 1e-9 and y1 >= lats.max() + 0.2 - 1e-9
    assert _gid(ax, "coastline") is not None and _gid(ax, "land") is not None
    # One number per place (the rendezvous and both loiterings share one), in table order,
    # and a key beside the map listing each number's events and vessels.
    numbers = [t.get_text() for t in ax.texts if t.get_gid() == "event-label"]
    assert numbers == ["1", "2"]
    key = [t.get_text() for t in ax.texts if t.get_gid() == "label-key"]
    assert key == [f" 1 dark period\n   {DPRK}\n 2 3 events, 2 vessels: {BARGE} ..."]
    gaps = _gid(ax, "dark-gaps")
    assert gaps is not None and len(gaps.get_segments()) == 1
    np.testing.assert_allclose(gaps.get_segments()[0], [[121.6, 30.6], [121.95, 30.6]])
    out = tmp_path / "map.png"
    ax.figure.savefig(out)
    _assert_png(out)


def test_map_tracks_only_participants_within_tail_and_broken_at_gaps(scenario):
    tracks, events = scenario
    rv = events[events["event_type"] == "rendezvous"]
    ax = plot.plot_events_map(rv, tracks, tail_h=1)
    points = _gid(ax, "track-points").get_offsets()
    # Independent expectation: rows of the two participants within [start-1h, end+1h].
    t = (tracks.time_ns / 1e9)
    window = (t >= T0 + 10 * 3600) & (t <= T0 + 17 * 3600)
    expected = window & np.isin(tracks.mmsi, [DPRK, BARGE])
    assert len(points) == expected.sum()
    assert not np.any(np.isclose(points[:, 0], 123.5))  # the bystander is never drawn
    # Whole scenario: the DPRK ship's 7 h silence is not bridged by a track line.
    ax = plot.plot_events_map(events, tracks, tail_h=12)
    segs = _track_steps(ax)
    dprk_lat = np.isclose(segs[:, :, 1], 30.6).all(axis=1)
    jumps = np.abs(segs[dprk_lat, 1, 0] - segs[dprk_lat, 0, 0])
    assert jumps.max() < 0.01  # consecutive 2-min reports only, never the 0.35 deg gap


def test_map_thins_many_reports_but_keeps_pieces(scenario, monkeypatch):
    tracks, events = scenario
    full = plot.plot_events_map(events, tracks, tail_h=24)
    n_full = len(_gid(full, "track-points").get_offsets())
    monkeypatch.setattr(plot, "MAX_TRACK_POINTS", 100)
    ax = plot.plot_events_map(events, tracks, tail_h=24)
    points = np.asarray(_gid(ax, "track-points").get_offsets())
    assert n_full > 900 and 90 <= len(points) <= 100 + 10
    segs = _track_steps(ax)
    dprk_lat = np.isclose(segs[:, :, 1], 30.6).all(axis=1)
    steps = np.abs(segs[dprk_lat, 1, 0] - segs[dprk_lat, 0, 0])
    assert steps.max() < 0.2  # thinned steps, but never across the 7 h silence
    # Every piece still ends where the track ends: the DPRK ship's last report is drawn.
    last = np.flatnonzero(tracks.mmsi == DPRK)[-1]
    assert np.isclose(points, [tracks.lon_deg[last], tracks.lat_deg[last]]).all(axis=1).any()


def test_map_accepts_path_and_positions_frame(scenario, tmp_path):
    tracks, events = scenario
    path = write_events(events, tmp_path / "events.geojson")
    positions = tracks.to_dataframe().drop(columns="segment")
    ax = plot.plot_events_map(path, positions)
    n_points = len(_gid(ax, "track-points").get_offsets())
    ax2 = plot.plot_events_map(events, tracks)
    assert n_points == len(_gid(ax2, "track-points").get_offsets()) > 0


def test_map_counts_what_it_cannot_draw(scenario):
    tracks, events = scenario
    positions = tracks.to_dataframe()
    positions.loc[:9, "time"] = pd.NaT
    positions.loc[10:14, "lat"] = np.nan
    broken = events.copy()
    broken.loc[0, "lat"] = np.nan
    with pytest.warns(UserWarning) as record:
        ax = plot.plot_events_map(broken, positions)
    messages = [str(w.message) for w in record]
    assert any(m.startswith(f"15 of {len(positions)} positions") for m in messages)
    assert any(m.startswith(f"1 of {len(events)} events have no position") for m in messages)
    drawn = sum(len(_gid(ax, f"events-{t}").get_offsets()) for t in events["event_type"].unique())
    assert drawn == len(events)  # the marker is there (NaN), matplotlib skips it


def test_map_order_invariant(scenario):
    tracks, events = scenario
    shuffled = events.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a = plot.plot_events_map(events, tracks)
    b = plot.plot_events_map(shuffled, tracks)
    assert a.get_xlim() == pytest.approx(b.get_xlim())
    for etype in events["event_type"].unique():
        pa = _gid(a, f"events-{etype}").get_offsets()
        pb = _gid(b, f"events-{etype}").get_offsets()
        np.testing.assert_allclose(np.sort(pa, axis=0), np.sort(pb, axis=0))
    sa = np.sort(np.asarray(_gid(a, "track-points").get_offsets()), axis=0)
    sb = np.sort(np.asarray(_gid(b, "track-points").get_offsets()), axis=0)
    np.testing.assert_allclose(sa, sb)


def test_map_across_antimeridian_is_one_narrow_view():
    ev = make_events("rendezvous", mmsi=[1, 3], other_mmsi=pd.array([2, 4], dtype="Int64"),
                     start=[T0, T0], end=[T0 + 7200, T0 + 7200], lat=[10.0, 10.1],
                     lon=[179.95, -179.95])
    tracks = Tracks.from_arrays([1, 1, 2, 2], [T0, T0 + 600, T0, T0 + 600],
                                [10.0, 10.0, 10.0, 10.0], [179.9, -179.9, 179.91, -179.91])
    ax = plot.plot_events_map(ev, tracks, pad_deg=0.1)
    x0, x1 = ax.get_xlim()
    assert x1 - x0 < 1.0  # the view is widened to fill the figure, not wrapped round the globe
    assert x0 <= 179.95 - 0.1 + 1e-9 and x1 >= 180.05 + 0.1 - 1e-9
    segs = _track_steps(ax)
    assert np.all(np.abs(np.diff(segs[:, :, 0], axis=1)) < 1.0)  # no line across the globe


def test_map_empty_and_single_point():
    from stsdetect.events import empty_events

    ax = plot.plot_events_map(empty_events(), Tracks.empty())
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    view = plot._DEFAULT_VIEW
    assert x0 <= view[0] and x1 >= view[1] and y0 <= view[2] and y1 >= view[3]
    one = make_events("dark_period", mmsi=[DPRK], start=[T0], end=[T0 + 3600 * 7],
                      lat=[30.0], lon=[122.0])
    ax = plot.plot_events_map(one, pad_deg=0)
    x0, x1 = ax.get_xlim()
    assert x0 < 122.0 < x1


def test_map_bad_arguments(scenario):
    tracks, events = scenario
    with pytest.raises(ValueError, match="pad_deg"):
        plot.plot_events_map(events, tracks, pad_deg=-1)
    with pytest.raises(ValueError, match="lacks columns"):
        plot.plot_events_map(events.drop(columns="lat"), tracks)
    with pytest.raises(TypeError, match="events"):
        plot.plot_events_map([1, 2, 3])
    with pytest.raises(ValueError, match="'time'"):
        plot.plot_events_map(events, pd.DataFrame({"mmsi": [1], "lat": [1.0], "lon": [1.0]}))


def test_map_regions_from_geodataframe(scenario):
    import geopandas as gpd
    import shapely

    tracks, events = scenario
    box = shapely.box(121.7, 30.4, 122.2, 30.8)
    regions = gpd.GeoDataFrame({"name": ["test_bay"]}, geometry=[box], crs="EPSG:4326")
    ax = plot.plot_events_map(events, tracks, regions=regions)
    line = _gid(ax, "regions")
    xy = np.column_stack(line.get_data())
    assert len(xy) == 5 and {121.7, 122.2} == set(np.round(xy[:, 0], 6))
    assert any(t.get_text() == "test_bay" for t in ax.texts)


def test_map_builtin_regions_by_name(scenario):
    import shapely

    from stsdetect.regions import load_regions

    tracks, events = scenario
    ax = plot.plot_events_map(events, tracks, regions=["hangzhou_bay"])
    xy = np.column_stack(_gid(ax, "regions").get_data())
    expected = shapely.get_coordinates(load_regions(["hangzhou_bay"]).geometry.boundary)
    np.testing.assert_allclose(xy[np.isfinite(xy[:, 0])], expected)
    assert "hangzhou_bay" in [t.get_text() for t in ax.texts]
    ax = plot.plot_events_map(events, tracks, regions=True, pad_deg=1.0)
    labels = {t.get_text() for t in ax.texts}
    assert {"hangzhou_bay", "yangtze_estuary"} <= labels
    assert "korea_bay" not in labels  # out of view: not labelled


def test_map_region_names_without_regions_module(scenario, monkeypatch):
    tracks, events = scenario
    monkeypatch.setitem(sys.modules, "stsdetect.regions", None)
    with pytest.warns(UserWarning, match="regions"):
        ax = plot.plot_events_map(events, tracks, regions=["hangzhou_bay"])
    assert _gid(ax, "regions") is None


def test_coastline_package_data_is_small_and_in_area():
    from importlib import resources

    import shapely

    path = resources.files("stsdetect").joinpath("data/coastline_china_east.geojson")
    assert len(path.read_bytes()) < 200_000
    lines = plot.load_coastline()
    assert len(lines) > 5
    xmin, ymin, xmax, ymax = shapely.total_bounds(lines)
    assert 118.5 <= xmin < xmax <= 125.0 and 27.0 <= ymin < ymax <= 33.5


def test_coastline_regenerates_byte_for_byte(shared_data, tmp_path):
    import importlib.util
    from importlib import resources
    from pathlib import Path

    source = shared_data / "naturalearth" / "ne_10m_coastline_china_east_clip.geojson"
    tool = Path(__file__).resolve().parents[1] / "tools" / "make_coastline.py"
    spec = importlib.util.spec_from_file_location("make_coastline", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "coast.geojson"
    assert module.main(["make_coastline.py", str(source), str(out)]) == 0
    shipped = resources.files("stsdetect").joinpath("data/coastline_china_east.geojson")
    assert out.read_bytes() == shipped.read_bytes()


# ------------------------------------------------------------------------- one map per event
def test_save_event_maps_one_valid_png_per_event(scenario, tmp_path):
    tracks, events = scenario
    paths = plot.save_event_maps(events, tracks, tmp_path / "maps")
    assert [p.name for p in paths] == [f"{e}.png" for e in events["event_id"]]
    for p in paths:
        _assert_png(p)


def test_save_event_maps_unique_safe_names(scenario, tmp_path):
    _, events = scenario
    twice = pd.concat([events.iloc[[0]], events.iloc[[0]]], ignore_index=True)
    twice.loc[:, "event_id"] = ["a/b c", "a/b c"]
    paths = plot.save_event_maps(twice, None, tmp_path)
    assert [p.name for p in paths] == ["a_b_c.png", "a_b_c-2.png"]
    assert all(p.parent == tmp_path for p in paths)


# -------------------------------------------------------------------------------- timeline
def test_timeline_separation_matches_independent_haversine(scenario):
    tracks, events = scenario
    rv = events[events["event_type"] == "rendezvous"].iloc[0]
    ax = plot.plot_pair_timeline(tracks, rv)
    line = _gid(ax, "separation")
    hours, dist = (np.asarray(v, dtype=float) for v in line.get_data())
    start_s = T0 + 11 * 3600
    assert hours[0] == pytest.approx(-2.0) and hours[-1] == pytest.approx(5.0 + 2.0)
    df = tracks.to_dataframe()
    df["t"] = (tracks.time_ns / 1e9)
    checked = 0
    for h in (-2.0, -1.5, -1.0, 0.0, 2.5, 6.0):  # report times of both vessels
        t = start_s + h * 3600
        a = df[(df.mmsi == DPRK) & np.isclose(df.t, t, rtol=0, atol=1e-3)].iloc[0]
        b = df[(df.mmsi == BARGE) & np.isclose(df.t, t, rtol=0, atol=1e-3)].iloc[0]
        expected = _haversine_oracle_m(a.lat, a.lon, b.lat, b.lon)
        got = dist[np.argmin(np.abs(hours - h))]
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)
        checked += 1
    assert checked == 6
    # Between reports (1 min after one, 1 min before the next) the pair moves linearly.
    h = -1.75 + 60 / 3600
    t = start_s + h * 3600
    lat_b = max(31.0 - (t - T0) / 3600 * 0.04, 30.602)
    lon_a = min(121.5 + (t - T0) / 3600 * 0.05, 122.0)
    expected = _haversine_oracle_m(30.6, lon_a, lat_b, 122.0)
    assert dist[np.argmin(np.abs(hours - h))] == pytest.approx(expected, rel=1e-6)


def test_timeline_no_separation_across_silence(scenario):
    tracks, _ = scenario
    event = {"event_id": "x", "mmsi": BARGE, "other_mmsi": DPRK,
             "start": pd.Timestamp(T0 + 3 * 3600, unit="s", tz="UTC"),
             "end": pd.Timestamp(T0 + 8 * 3600, unit="s", tz="UTC")}
    ax = plot.plot_pair_timeline(tracks, event)
    hours, dist = (np.asarray(v, dtype=float) for v in _gid(ax, "separation").get_data())
    silent = (hours > -1 + 1e-6) & (hours < 6 - 1e-6)  # DPRK silent 2 h .. 9 h after T0
    assert np.isnan(dist[silent]).all()
    assert np.isfinite(dist[hours < -1.05]).all()


def test_timeline_single_vessel_is_speed_only(scenario, tmp_path):
    tracks, events = scenario
    dk = events[events["event_type"] == "dark_period"]
    ax = plot.plot_pair_timeline(tracks, dk)
    assert _gid(ax, "separation") is None
    sog = _gid(ax, f"sog-{DPRK}")
    x, y = (np.asarray(v, dtype=float) for v in sog.get_data())
    in_window = ((tracks.mmsi == DPRK) & ((tracks.time_ns / 1e9) >= T0)
                 & ((tracks.time_ns / 1e9) <= T0 + 11 * 3600))
    assert len(x) == in_window.sum()
    np.testing.assert_allclose(y, tracks.sog_kn[in_window])
    ax.figure.savefig(tmp_path / "t.png")
    _assert_png(tmp_path / "t.png")


def test_timeline_symmetric_in_the_pair(scenario):
    tracks, events = scenario
    rv = events[events["event_type"] == "rendezvous"].iloc[0].copy()
    a = np.asarray(_gid(plot.plot_pair_timeline(tracks, rv), "separation").get_data()[1])
    rv["mmsi"], rv["other_mmsi"] = rv["other_mmsi"], rv["mmsi"]
    b = np.asarray(_gid(plot.plot_pair_timeline(tracks, rv), "separation").get_data()[1])
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_timeline_across_antimeridian():
    t = np.arange(0.0, 4 * 3600.0, 60.0)
    lon_a = 179.95 + t / 3600 * 0.02  # crosses 180 after 2.5 h
    tracks = Tracks.from_arrays(np.r_[np.full(t.size, 1), np.full(t.size, 2)],
                                np.r_[T0 + t, T0 + t + 30.0], np.full(2 * t.size, 10.0),
                                np.r_[lon_a, lon_a + 0.001])
    event = {"mmsi": 1, "other_mmsi": 2, "start": pd.Timestamp(T0 + 7200, unit="s", tz="UTC"),
             "end": pd.Timestamp(T0 + 9000, unit="s", tz="UTC")}
    dist = np.asarray(_gid(plot.plot_pair_timeline(tracks, event), "separation").get_data()[1])
    finite = dist[np.isfinite(dist)]
    assert finite.size > 100
    # 0.001 deg of longitude at 10 N, less what vessel 1 covers in 30 s, everywhere.
    expected = _haversine_oracle_m(10.0, 0.0, 10.0, 0.001 - 0.02 / 120)
    np.testing.assert_allclose(finite, expected, rtol=1e-6)


def test_timeline_without_reports_draws_nothing_but_does_not_fail(scenario):
    _, events = scenario
    ax = plot.plot_pair_timeline(Tracks.empty(), events.iloc[0])
    line = _gid(ax, "separation")
    assert line is None or np.isnan(np.asarray(line.get_data()[1], float)).all()


def test_timeline_bad_event(scenario):
    tracks, events = scenario
    with pytest.raises(ValueError, match="one event"):
        plot.plot_pair_timeline(tracks, events)
    with pytest.raises(ValueError, match="lacks"):
        plot.plot_pair_timeline(tracks, {"mmsi": 1})
    with pytest.raises(ValueError, match="needs tracks"):
        plot.plot_pair_timeline(None, events.iloc[0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-70, 70), st.floats(-180, 179.999)), min_size=1,
                max_size=6))
def test_map_view_covers_every_event_anywhere(points):
    lat = np.array([p[0] for p in points])
    lon = np.array([p[1] for p in points])
    ev = make_events("loitering", mmsi=np.arange(len(points)) + 1, start=np.full(len(points), T0),
                     end=np.full(len(points), T0 + 4 * 3600), lat=lat, lon=lon)
    ax = plot.plot_events_map(ev, pad_deg=0.1)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x1 - x0 <= 360 + 0.2 + 1e-6
    assert np.all((lat >= y0) & (lat <= y1))
    shift = np.round(((x0 + x1) / 2 - lon) / 360.0) * 360.0  # the event's drawn longitude
    assert np.all((lon + shift >= x0 - 1e-9) & (lon + shift <= x1 + 1e-9))
    drawn = _gid(ax, "events-loitering").get_offsets()
    assert np.all((drawn[:, 0] >= x0 - 1e-9) & (drawn[:, 0] <= x1 + 1e-9))


# ------------------------------------------------------------------ vectorized row selection
@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 2), st.integers(0, 50)),
                  min_size=0, max_size=40),
    intervals=st.lists(st.tuples(st.integers(0, 5), st.integers(-5, 55), st.integers(0, 20)),
                       min_size=0, max_size=6),
)
def test_window_rows_matches_brute_force(rows, intervals):
    mmsi = np.array([r[0] for r in rows], dtype=np.int64)
    seg = np.array([r[1] for r in rows], dtype=np.int64)
    t = np.array([T0 + 100.0 * r[2] for r in rows])
    tracks = Tracks.from_arrays(mmsi, t, np.zeros(len(rows)), np.zeros(len(rows)), segment=seg)
    im = np.array([i[0] for i in intervals], dtype=np.int64)
    t0 = np.array([T0 + 100.0 * i[1] for i in intervals])
    t1 = t0 + np.array([100.0 * i[2] for i in intervals])
    got = plot._window_rows(tracks, im, t0, t1)
    expected = np.array([
        any(tracks.mmsi[r] == m and a <= (tracks.time_ns / 1e9)[r] <= b
            for m, a, b in zip(im, t0, t1, strict=True))
        for r in range(len(tracks))
    ], dtype=bool)
    np.testing.assert_array_equal(got, expected)


def test_label_clusters_chain_close_points_only():
    x = np.array([0.0, 0.9, 1.8, 10.0, np.nan, 10.5])
    y = np.zeros(6)
    ok = np.isfinite(x)
    label = plot._clusters(x, y, ok, radius=1.0)
    assert label[0] == label[1] == label[2]  # chained within the radius
    assert len({label[0], label[3], label[4], label[5]}) == 3 and label[3] == label[5]
    assert label[4] < 0  # a point without position is alone


# --------------------------------------------------------------------------- missing extra
def test_clear_error_without_matplotlib(scenario, monkeypatch):
    tracks, events = scenario
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'stsdetect\[plot\]'"):
        plot.plot_events_map(events, tracks)
    with pytest.raises(ImportError, match=r"\[plot\] extra"):
        plot.plot_pair_timeline(tracks, events.iloc[0])


def test_no_pyplot_figures_left_open(scenario):
    tracks, events = scenario
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "More than 20 figures have been opened"
        for _ in range(3):
            plot.plot_events_map(events, tracks)
    assert "matplotlib.pyplot" not in sys.modules or not __import__(
        "matplotlib.pyplot").pyplot.get_fignums()


# ------------------------------------------------------------------ land, labels, scale, speed
def _load_tool(name):
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parents[1] / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_land_layers_regenerate_byte_for_byte_and_stay_small(shared_data, tmp_path):
    from importlib import resources

    make_land = _load_tool("make_land")
    make_land.main([str(shared_data / "naturalearth"), str(tmp_path)])
    for name in ("land_east_asia.geojson", "land_world.geojson"):
        shipped = resources.files("stsdetect").joinpath(f"data/{name}").read_bytes()
        assert (tmp_path / name).read_bytes() == shipped
        assert len(shipped) < 250_000


@pytest.mark.parametrize(("lat", "lon", "land"), [
    (39.03, 125.75, True),    # Pyongyang
    (38.75, 125.40, True),    # Nampo's shore, DPRK west coast
    (39.00, 124.00, False),   # Korea Bay
    (36.00, 123.00, False),   # Yellow Sea
    (35.68, 139.70, True),    # Tokyo: outside the fine box, from the world layer
    (55.68, 12.57, True),     # Copenhagen
    (30.00, -40.00, False),   # mid-Atlantic
    (-33.90, 18.50, True),    # Cape Town
    (20.00, 115.00, False),   # South China Sea
    (23.00, 113.00, True),    # Guangdong
])
def test_land_layers_cover_the_theatre_and_the_world(lat, lon, land):
    import shapely

    polygons, coast = plot.load_land()
    assert bool(shapely.contains_xy(polygons, lon, lat).any()) is land
    assert len(coast) > 0


def test_land_seam_is_not_drawn_as_coast():
    import shapely

    _, coast = plot.load_land()
    seam = shapely.box(*plot.EAST_ASIA_BOX).exterior
    # No coast line runs along the box edge where the fine and the coarse layers meet.
    along = shapely.length(shapely.intersection(coast, shapely.buffer(seam, 1e-3))).sum()
    assert along < 1.0  # degrees: crossings only, not the 120-degree perimeter


def _display_boxes(ax, gid):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(ax.figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    return [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == gid]


def _dense_events(n=534, seed=0):
    rng = np.random.default_rng(seed)
    return make_events("dark_period", mmsi=rng.integers(219_000_000, 220_000_000, n),
                       start=T0 + rng.random(n) * 3600, end=T0 + 9000 + rng.random(n) * 3600,
                       lat=54.5 + rng.random(n) * 3, lon=8 + rng.random(n) * 5)


def test_dense_map_numbers_do_not_collide_and_stay_inside():
    ax = plot.plot_events_map(_dense_events())
    boxes = _display_boxes(ax, "event-label")
    assert len(boxes) == plot.MAX_LABELS
    for i, a in enumerate(boxes):  # 30 boxes: brute force over pairs
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    axes_box = ax.get_window_extent()
    assert all(axes_box.x0 <= b.x0 and b.x1 <= axes_box.x1 and axes_box.y0 <= b.y0
               and b.y1 <= axes_box.y1 for b in boxes)
    fig_box = ax.figure.bbox
    key = _display_boxes(ax, "label-key")[0]
    assert fig_box.x0 <= key.x0 and key.x1 <= fig_box.x1 and key.y0 >= fig_box.y0
    text = next(t.get_text() for t in ax.texts if t.get_gid() == "label-key")
    assert text.count("\n") < 40 and "more places not numbered" in text


def test_long_track_is_framed_with_its_labels():
    tt = np.arange(0, 20 * 86400, 600.0)
    lon = 60 + 61 * tt / tt[-1]
    lat = 10 + 10 * np.sin(tt / tt[-1] * np.pi) + 10 * tt / tt[-1]
    tracks = Tracks.from_arrays(np.full(tt.size, 636012345), T0 + tt, lat, lon,
                                np.full(tt.size, 12.0))
    ev = make_events("loitering", mmsi=[636012345], start=[T0 + 1000],
                     end=[T0 + tt[-1] - 1000], lat=[lat[0]], lon=[lon[0]])
    ax = plot.plot_events_map(ev, tracks)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    drawn = np.asarray(_gid(ax, "track-points").get_offsets())
    assert drawn[:, 0].min() > x0 and drawn[:, 0].max() < x1
    assert drawn[:, 1].min() > y0 and drawn[:, 1].max() < y1
    axes_box = ax.get_window_extent()
    for b in _display_boxes(ax, "event-label"):
        assert axes_box.x0 <= b.x0 and b.x1 <= axes_box.x1
    land = _gid(ax, "land")
    assert land is not None and len(land.get_paths()) > 100  # India, Indochina... drawn


def test_every_region_in_view_is_labelled_inside_the_map():
    from stsdetect.regions import load_regions

    regions = load_regions()
    ev = make_events("rendezvous", mmsi=[1, 3], other_mmsi=pd.array([2, 4], dtype="Int64"),
                     start=[T0, T0], end=[T0 + 7200, T0 + 7200], lat=[30.5, 39.0],
                     lon=[122.0, 124.5])
    ax = plot.plot_events_map(ev, regions=True)
    labels = {t.get_text() for t in ax.texts if t.get_gid() == "region-label"}
    assert labels == set(regions["name"])
    # A region only partly in view is labelled within its visible part.
    one = make_events("rendezvous", mmsi=[1], other_mmsi=pd.array([2], dtype="Int64"),
                      start=[T0], end=[T0 + 7200], lat=[38.9], lon=[124.6])
    ax = plot.plot_events_map(one, regions=True)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    texts = [t for t in ax.texts if t.get_gid() == "region-label"]
    key = next(t.get_text() for t in ax.texts if t.get_gid() == "label-key")
    # The coast region shows as a sliver in a corner, too small for its name: a letter.
    assert {t.get_text() for t in texts} == {"korea_bay", "a"}
    assert key.endswith("regions:\na  dprk_west_coast")
    for t in texts:
        x, y = t.get_position()
        assert x0 < x < x1 and y0 < y < y1
    bar = next(a for a in ax.artists if a.get_gid() == "scale-bar")
    assert next(t for t in texts if t.get_text() == "a").get_zorder() > bar.get_zorder()


@pytest.mark.parametrize(("lat", "span"), [(0.0, 0.5), (38.9, 0.4), (56.0, 5.0), (20.0, 60.0)])
def test_scale_bar_length_matches_great_circle_distance(lat, span):
    ev = make_events("loitering", mmsi=[1, 2], start=[T0, T0], end=[T0 + 1, T0 + 1],
                     lat=[lat, lat + span / 4], lon=[100.0, 100.0 + span])
    ax = plot.plot_events_map(ev, pad_deg=0.0)
    bar = next(a for a in ax.artists if a.get_gid() == "scale-bar")
    width_deg = bar.size_bar.get_children()[0].get_width()
    label = bar.txt_label.get_text()
    km = float(label.split()[0])
    y0, y1 = ax.get_ylim()
    mid = 0.5 * (y0 + y1)
    oracle_km = _haversine_oracle_m(mid, 100.0, mid, 100.0 + width_deg) / 1000.0
    assert oracle_km == pytest.approx(km, rel=1e-3)
    x0, x1 = ax.get_xlim()
    assert 0.05 < width_deg / (x1 - x0) < 0.25  # a readable share of the map


def test_region_names_never_collide_and_every_region_is_named():
    """Zoomed out over East and South Asia the built-in regions are specks close together:
    each is named on the map or, where its name would overlap another or be cut at the
    edge, marked by a letter that the key beside the map spells out."""
    from stsdetect.regions import load_regions

    names = set(load_regions()["name"])
    ev = make_events("loitering", mmsi=[1, 2], start=[T0, T0], end=[T0 + 7200, T0 + 7200],
                     lat=[-9.1, 26.0], lon=[60.4, 121.0])
    ax = plot.plot_events_map(ev, regions=True)
    labels = [t for t in ax.texts if t.get_gid() == "region-label"]
    key = next(t.get_text() for t in ax.texts if t.get_gid() == "label-key")
    letters = dict(line.split("  ") for line in key.split("regions:\n")[1].splitlines())
    assert letters  # some names did not fit at this scale
    shown = {t.get_text() for t in labels}
    assert set(letters) <= shown and (shown - set(letters)) | set(letters.values()) == names
    boxes = [b for b, t in zip(_display_boxes(ax, "region-label"), labels, strict=True)
             if len(t.get_text()) > 1]
    axes_box = ax.get_window_extent()
    for i, a in enumerate(boxes):  # a handful of names
        assert axes_box.x0 <= a.x0 and a.x1 <= axes_box.x1
        assert all(not a.overlaps(b) for b in boxes[i + 1:])


def test_key_lines_fit_the_figure_and_coarse_coasts_are_said():
    """A long ship name is cut to fit beside the map; a narrow map outside the fine land
    layer's box says its coast is the coarse 1:110m one (events may seem to lie on land)."""
    ev = make_events("rendezvous", mmsi=[219000001] * 3,
                     other_mmsi=pd.array([219000002, 219000003, 219000004], dtype="Int64"),
                     start=[T0] * 3, end=[T0 + 7200] * 3, lat=[55.60, 55.6001, 55.6002],
                     lon=[12.60] * 3)
    ev["name"] = "A VERY LONG SHIP NAME THAT GOES ON AND ON"
    ax = plot.plot_events_map(ev)
    key = _display_boxes(ax, "label-key")[0]
    assert key.x1 <= ax.figure.bbox.x1
    assert "..." in next(t.get_text() for t in ax.texts if t.get_gid() == "label-key")
    assert [t for t in ax.texts if t.get_gid() == "coarse-land-note"]
    korea_bay = make_events("loitering", mmsi=[445000001], start=[T0], end=[T0 + 7200],
                            lat=[39.0], lon=[124.5])
    ax = plot.plot_events_map(korea_bay)
    assert not [t for t in ax.texts if t.get_gid() == "coarse-land-note"]


def test_reused_canvas_draws_each_map_as_if_alone(scenario):
    tracks, events = scenario
    canvas = plot._MapCanvas(plot._resolve_regions(True))
    first = canvas.png(events.iloc[[0]], tracks, title="a")
    n_artists = len(canvas.ax.get_children())
    canvas.png(_dense_events(50), None, title="b")
    canvas.png(events.iloc[[1]], tracks, title="c")
    assert canvas.png(events.iloc[[0]], tracks, title="a") == first
    assert len(canvas.ax.get_children()) == n_artists  # nothing left behind


def test_cached_land_and_coast_are_read_only():
    """#14 item 12: module-level caches hand out data no caller can change."""
    from stsdetect.plot import load_coastline, load_land

    polygons, coast = load_land()
    for arr in (polygons, coast, load_coastline()):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = None


def _text_figure(canvas_class, shift: float):
    """A figure with upright, rotated, non-Latin, bold, unantialiased and path-effect text
    at sub-pixel positions (moved by ``shift`` points), drawn by ``canvas_class``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2.5), dpi=90)
    canvas = canvas_class(fig)
    ax = fig.add_subplot()
    ax.set_title(f"rv-445123456 Åland Жёлтое море {shift}")
    ax.set_ylabel("separation (km)")
    ax.set_xlabel("hours from event start")
    for i in range(6):
        ax.text(0.1 + 0.137 * i + shift / 300, 0.3 + 0.071 * i, f"{i} CHON MA SAN {i * 1.7:.2f}",
                fontsize=6 + i, rotation=15 * i, fontweight="bold" if i % 2 else "normal",
                antialiased=i != 3, path_effects=plot._halo() if i == 4 else None)
    ax.text(0.02, 0.98, " 1 rendezvous\n   445123456 CHON MA SAN / 412000001\n 2 loitering",
            transform=ax.transAxes, va="top", fontsize=6.5, family="monospace")
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy(), canvas


def test_glyph_cache_canvas_draws_the_same_pixels_as_matplotlib():
    """The cached text drawing of the report's figures is a speed-up only: every pixel is
    what matplotlib's own Agg canvas draws, on the first draw and from the cache."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from stsdetect._agg import GlyphCacheCanvas, _GlyphCacheRenderer

    for shift in (0.0, 0.37, 1.0):
        cached, canvas = _text_figure(GlyphCacheCanvas, shift)
        stock, _ = _text_figure(FigureCanvasAgg, shift)
        np.testing.assert_array_equal(cached, stock)
        canvas.draw()  # again: every glyph now from the cache
        np.testing.assert_array_equal(np.asarray(canvas.buffer_rgba()), stock)
    assert _GlyphCacheRenderer.supported  # the cache really drew (no silent fallback)
    assert len(canvas.get_renderer()._glyphs) > 50


def test_report_figures_are_the_pixels_matplotlib_saves(scenario):
    """The reused canvases' PNGs (cached glyphs, RGB) hold exactly what savefig writes."""
    import io

    from PIL import Image

    tracks, events = scenario
    canvas = plot._MapCanvas(plot._resolve_regions(True))
    ours = canvas.png(events.iloc[[0]], tracks, title="a", dpi=90)
    ax = plot.plot_events_map(events.iloc[[0]], tracks, regions=True)
    timeline = plot._TimelineCanvas()
    for png, figure in ((ours, None), (timeline.png(tracks, events.iloc[0]), timeline.figure)):
        if figure is None:  # the same map drawn on the reused canvas, saved by matplotlib
            artists = plot._draw_map(canvas.ax, events.iloc[[0]], tracks, canvas.regions,
                                     0.2, 12, base_shifts=(0.0,))
            canvas.ax.set_title("a", fontsize=9, y=1.0)
            figure = canvas.ax.figure
        else:
            artists = plot._draw_timeline(timeline.ax, timeline.sog_ax, tracks,
                                          events.iloc[0], plot.TRACK_BREAK_S, 60.0)
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=90)
        for artist in artists:
            artist.remove()
        saved = np.asarray(Image.open(buf).convert("RGB"))
        image = Image.open(io.BytesIO(png))
        assert image.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(image), saved)
    assert ax is not None
