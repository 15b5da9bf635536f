"""The context stage on crowded simulated waters: transfers rank above ordinary port life."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect.context import (
    ANCHORAGE_COLUMNS,
    CONTEXT_COLUMNS,
    add_context,
    auto_thresholds,
    find_anchorages,
    find_stops,
    load_ports,
    read_anchorages,
    write_anchorages,
)
from stsdetect.events import EVENT_COLUMNS, make_events, rank_events
from stsdetect.pipeline import detect
from stsdetect.simulate import simulate
from stsdetect.tracks import Tracks

ORDINARY_ROLES = ("anchorage", "berth")
SEEDS = (1, 2, 3)


def _crowded(seed: int):
    return simulate(seed=seed, duration="2d", n_crowded_anchorages=3, anchorage_size=40,
                    n_berth=12, draught_changes=True, min_interval_s=180, n_background=8)


@pytest.fixture(scope="module", params=SEEDS)
def crowded(request):
    sc = _crowded(request.param)
    result = detect(sc.lines())
    role = sc.vessels.set_index("mmsi")["role"]
    ev = result.events.copy()
    ev["role_a"] = ev["mmsi"].map(role)
    ev["role_b"] = ev["other_mmsi"].astype("float").map(role)
    return sc, result, ev


def _transfers(sc, ev):
    truth = sc.truth[sc.truth["kind"] == "transfer"]
    rv = ev[ev["event_type"] == "rendezvous"]
    rows = []
    for t in truth.itertuples():  # a handful of injected transfers
        hit = rv[(rv["mmsi"] == t.mmsi) & (rv["other_mmsi"] == t.other_mmsi)
                 & (rv["start"] < t.end) & (rv["end"] > t.start)]
        assert len(hit) == 1, f"transfer {t.mmsi}-{t.other_mmsi} not found once"
        rows.append(hit.index[0])
    return ev.loc[rows]


def _ordinary(ev):
    rv = ev[ev["event_type"] == "rendezvous"]
    return rv[rv["role_a"].isin(ORDINARY_ROLES) & rv["role_b"].isin(ORDINARY_ROLES)]


def test_context_columns_follow_the_core_columns(crowded):
    _, result, _ = crowded
    cols = list(result.events.columns)
    assert cols[:len(EVENT_COLUMNS)] == list(EVENT_COLUMNS)
    assert set(CONTEXT_COLUMNS) <= set(cols) and "evidence" in cols
    for text in result.events["evidence"]:  # every evidence is a JSON object
        assert isinstance(json.loads(text), dict)


def test_every_transfer_ranks_above_every_ordinary_pair(crowded):
    sc, _, ev = crowded
    transfers = _transfers(sc, ev)
    ordinary = _ordinary(ev)
    assert len(ordinary) > 100  # the scenario is crowded: hundreds of ordinary pairs
    assert transfers["score"].min() > ordinary["score"].max()
    ranked = rank_events(ev)
    pos = ranked.reset_index().set_index("event_id").loc[transfers["event_id"], "index"]
    ord_pos = ranked.reset_index().set_index("event_id").loc[ordinary["event_id"], "index"]
    assert pos.max() < ord_pos.min()


def test_ordinary_pairs_carry_anchorage_or_port(crowded):
    _, _, ev = crowded
    ordinary = _ordinary(ev)
    marked = ordinary["flags"].map(lambda f: "anchorage" in f or "port" in f)  # per event
    assert marked.mean() >= 0.9, marked.mean()
    berth = ordinary[(ordinary["role_a"] == "berth") & (ordinary["role_b"] == "berth")]
    assert len(berth) > 10
    assert berth["flags"].map(lambda f: "port" in f).all()
    assert (berth["nav_status"] == 5).all() and (berth["other_nav_status"] == 5).all()


def test_transfer_near_an_anchorage_is_found_and_ranked_first(crowded):
    sc, result, ev = crowded
    transfers = _transfers(sc, ev)
    # each transfer lies about 5 km from the anchorage placed north of it, not in it
    assert transfers["anchorage_distance_m"].between(3000, 6500).all()
    assert not transfers["flags"].map(lambda f: "anchorage" in f or "port" in f).any()
    assert transfers["flags"].map(lambda f: {"visit", "draught_change"} <= set(f)).all()
    assert (transfers["crowd_n"] < 5).all()
    # nothing outranks a transfer except other events of the transfers' own DPRK vessels
    ranked = rank_events(ev)
    last = ranked.index[ranked["event_id"].isin(transfers["event_id"])].max()
    dprk = set(transfers["other_mmsi"].astype(int)) | set(transfers["mmsi"].astype(int))
    above = ranked.iloc[:last + 1]
    assert above["mmsi"].isin(dprk).all() or above["other_mmsi"].isin(dprk).all() or \
        (above["mmsi"].isin(dprk) | above["other_mmsi"].isin(dprk)).all()
    # the learned areas: three anchorages of the crowd and one berth
    kinds = result.anchorages["kind"].value_counts().to_dict()
    assert kinds == {"anchorage": 3, "berth": 1}


def test_draught_change_is_set_exactly_where_draught_changed(crowded):
    sc, _, ev = crowded
    v = sc.vessels.set_index("mmsi")
    change_s = v["draught_change_s"].dropna()
    t0 = sc.start.value / 1e9
    change_t = change_s + t0
    s = ev["start"].astype("int64").to_numpy() / 1e9
    e = ev["end"].astype("int64").to_numpy() / 1e9
    expected = np.zeros(len(ev), bool)
    unclear = np.zeros(len(ev), bool)
    margin = 900.0  # statics every 6 min: a change this close to an edge may fall either side
    for mmsi, t in change_t.items():  # a handful of vessels whose draught changes
        part = (ev["mmsi"] == mmsi).to_numpy() | (ev["other_mmsi"] == mmsi).fillna(False) \
            .to_numpy()
        expected |= part & (s < t) & (t < e)
        unclear |= part & ((np.abs(s - t) < margin) | (np.abs(e - t) < margin))
    got = ev["flags"].map(lambda f: "draught_change" in f).to_numpy()
    assert expected.sum() >= 2
    assert (got[~unclear] == expected[~unclear]).all()
    # the reason names each vessel whose draught changed, with both draughts, and no other
    for i in np.flatnonzero(got & ~unclear):
        reason = json.loads(ev["evidence"].iloc[i])["draught_change"]
        reasons = reason if isinstance(reason, list) else [reason]
        row = ev.iloc[i]
        changed = {m for m in (row["mmsi"], row["other_mmsi"]) if m in change_t.index
                   and s[i] < change_t[m] < e[i]}
        assert {r["vessel"] for r in reasons} == changed
        for r in reasons:
            assert abs(r["after_m"] - r["before_m"]) >= 0.5


# --- the anchorage finder ------------------------------------------------------------------

def _crowd_tracks(n_ships=30, hours=30.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, hours * 3600, 600.0)
    lat0 = 30.0 + rng.uniform(-0.01, 0.01, n_ships)
    lon0 = 122.0 + rng.uniform(-0.01, 0.01, n_ships)
    mmsi = np.repeat(412_000_000 + np.arange(n_ships), t.size)
    lat = np.repeat(lat0, t.size) + rng.normal(0, 1e-4, mmsi.size)
    lon = np.repeat(lon0, t.size) + rng.normal(0, 1e-4, mmsi.size)
    time = np.tile(t, n_ships) + 1.7e9
    return Tracks.from_arrays(mmsi, time, lat, lon, sog_kn=np.full(mmsi.size, 0.1))


def test_find_anchorages_finds_a_crowd():
    tracks = _crowd_tracks()
    areas = find_anchorages(tracks)
    assert list(areas.columns) == ANCHORAGE_COLUMNS
    assert len(areas) == 1
    row = areas.iloc[0]
    assert row["kind"] == "anchorage" and row["n_vessels"] == 30
    assert abs(row["lat"] - 30.0) < 0.01 and abs(row["lon"] - 122.0) < 0.01
    assert areas.geometry.iloc[0].contains(
        __import__("shapely").Point(row["lon"], row["lat"]))
    # too few vessels for the threshold: nothing
    assert len(find_anchorages(tracks, min_vessels=31)) == 0


def test_auto_thresholds_scale_with_the_dump():
    assert auto_thresholds(30 * 86400) == (12 * 3600.0, 20)
    assert auto_thresholds(3 * 86400) == (12 * 3600.0, 5)
    assert auto_thresholds(86400) == (4 * 3600.0, 5)
    assert auto_thresholds(3600) == (2 * 3600.0, 5)
    assert auto_thresholds(400 * 86400)[1] == 20


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_find_anchorages_ignores_row_order(seed):
    tracks = _crowd_tracks(n_ships=12, hours=10.0, seed=seed % 7)
    order = np.random.default_rng(seed).permutation(len(tracks))
    shuffled = Tracks.from_arrays(tracks.mmsi[order], tracks.time_ns[order],
                                  tracks.lat_deg[order], tracks.lon_deg[order],
                                  sog_kn=tracks.sog_kn[order])
    a = find_anchorages(tracks, min_vessels=5)
    b = find_anchorages(shuffled, min_vessels=5)
    assert len(a) == 1
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                  pd.DataFrame(b.drop(columns="geometry")))
    assert a.geometry.iloc[0].equals(b.geometry.iloc[0])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(0, 40), lat=st.floats(-60, 60), lon=st.floats(-180, 179.9))
def test_find_anchorages_empty_and_single_vessel(n, lat, lon):
    t = 1.7e9 + np.arange(n) * 900.0
    tracks = Tracks.from_arrays(np.full(n, 412_000_001), t, np.full(n, lat), np.full(n, lon),
                                sog_kn=np.zeros(n))
    areas = find_anchorages(tracks)
    assert len(areas) == 0 and list(areas.columns) == ANCHORAGE_COLUMNS
    # one vessel can never make a crowd, whatever the threshold beyond one
    assert len(find_anchorages(tracks, min_vessels=2)) == 0
    stops = find_stops(tracks)
    assert len(stops) == (1 if n and (n - 1) * 900.0 >= 3600 else 0)


def test_stops_survive_a_speed_blip_and_split_on_a_move():
    t = 1.7e9 + np.arange(0, 10 * 3600, 300.0)
    lat = np.full(t.size, 30.0)
    lon = np.full(t.size, 122.0)
    sog = np.full(t.size, 0.2)
    sog[40] = 1.8  # the tide swings her round: still at anchor
    lat[80:] += 0.05  # then she moves 5.5 km and anchors again
    sog[79] = 8.0
    tracks = Tracks.from_arrays(np.full(t.size, 1), t, lat, lon, sog_kn=sog)
    stops = find_stops(tracks)
    assert len(stops) == 2
    assert not stops["arrived"].iloc[0] and stops["arrived"].iloc[1]
    assert stops["departed"].iloc[0] and not stops["departed"].iloc[1]


# --- supplied ports, saving, reuse -----------------------------------------------------------

def _port_frame():
    import geopandas as gpd
    import shapely

    return gpd.GeoDataFrame({"name": ["quay"], "kind": ["port"]},
                            geometry=[shapely.box(121.99, 29.99, 122.01, 30.01)],
                            crs="EPSG:4326")


def test_supplied_ports_in_every_form(tmp_path):
    frame = _port_frame()
    frame.to_file(tmp_path / "p.geojson", driver="GeoJSON")
    frame.to_file(tmp_path / "p.shp")
    for source in (frame, tmp_path / "p.geojson", tmp_path / "p.shp"):
        ports = load_ports(source)
        assert list(ports.columns) == ANCHORAGE_COLUMNS
        assert ports["name"].tolist() == ["quay"] and ports["kind"].tolist() == ["port"]
        assert ports["source"].tolist() == ["supplied"]
    ev = make_events("rendezvous", mmsi=[1, 3], other_mmsi=pd.array([2, 4], dtype="Int64"),
                     start=[1.7e9, 1.7e9], end=[1.7e9 + 7200, 1.7e9 + 7200],
                     lat=[30.0, 30.2], lon=[122.0, 122.0])
    out = add_context(ev, anchorages=load_ports(frame))
    flags = dict(zip(out["mmsi"], out["flags"], strict=True))
    assert "port" in flags[1] and "port" not in flags[3]
    dist = dict(zip(out["mmsi"], out["anchorage_distance_m"], strict=True))
    assert dist[1] == 0.0 and 20_000 < dist[3] < 22_000
    reason = json.loads(out.loc[out["mmsi"] == 1, "evidence"].iloc[0])["port"]
    assert reason["anchorage_id"] == "quay" and reason["source"] == "supplied"


def test_bad_port_files_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_ports(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("not json")
    with pytest.raises(ValueError, match="cannot read"):
        load_ports(bad)
    frame = _port_frame().assign(kind="harbour")
    with pytest.raises(ValueError, match="unknown kind"):
        load_ports(frame)


def test_anchorages_save_and_reuse(tmp_path):
    areas = find_anchorages(_crowd_tracks())
    for name in ("a.geojson", "a.parquet"):
        back = read_anchorages(write_anchorages(areas, tmp_path / name))
        assert back["anchorage_id"].tolist() == areas["anchorage_id"].tolist()
        assert back["source"].tolist() == ["learned"]
        assert back["n_vessels"].tolist() == areas["n_vessels"].tolist()
        assert back.geometry.iloc[0].equals_exact(areas.geometry.iloc[0], 1e-9)
    empty = find_anchorages(_crowd_tracks(n_ships=2))
    assert len(read_anchorages(write_anchorages(empty, tmp_path / "e.geojson"))) == 0


def test_reused_anchorages_give_the_same_flags(tmp_path):
    sc = _crowded(4)
    first = detect(sc.lines())
    path = write_anchorages(first.anchorages, tmp_path / "anc.geojson")
    again = detect(sc.lines(), anchorages=path)
    a = first.events.set_index("event_id")["flags"]
    b = again.events.set_index("event_id")["flags"]
    assert (a.map(tuple) == b.loc[a.index].map(tuple)).all()


def test_cli_ports_drop_and_saved_anchorages(tmp_path, capsys):
    from stsdetect.cli import main

    sc = _crowded(5)
    paths = sc.write(tmp_path)
    ports = tmp_path / "ports.geojson"
    _port_frame().to_file(ports, driver="GeoJSON")
    out = tmp_path / "ev.csv"
    anc = tmp_path / "anc.geojson"
    assert main(["detect", str(paths["nmea"]), "-o", str(out), "--ports", str(ports),
                 "--save-anchorages", str(anc), "-q"]) == 0
    saved = read_anchorages(anc)
    assert "supplied" in set(saved["source"]) and "learned" in set(saved["source"])
    out2 = tmp_path / "ev2.csv"
    assert main(["detect", str(paths["nmea"]), "-o", str(out2), "--anchorages", str(anc),
                 "--drop", "anchorage,port", "-q"]) == 0
    full, kept = pd.read_csv(out), pd.read_csv(out2)
    assert 0 < len(kept) < len(full)
    assert not kept["flags"].fillna("").str.contains("anchorage|port").any()
    assert main(["detect", str(paths["nmea"]), "-o", str(out2), "--ports",
                 str(tmp_path / "none.geojson")]) == 2


# --- stops window by window equal stops in one go ---------------------------------------------

@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 100_000), n_cuts=st.integers(1, 6))
def test_stops_from_window_pieces_equal_one_run(seed, n_cuts):
    from stsdetect.context.stops import join_stop_pieces, stop_pieces

    rng = np.random.default_rng(seed)
    n_v, n = 6, 400
    mmsi = rng.integers(0, n_v, n) + 412_000_000
    t = 1.7e9 + np.sort(rng.uniform(0, 3 * 86400, n))
    # each vessel moves between a few anchoring spots, now fast, now still
    spot = rng.integers(0, 3, n)
    lat = 30.0 + 0.02 * spot + rng.normal(0, 4e-4, n) + 0.001 * (mmsi % 7)
    lon = 122.0 + 0.02 * spot + rng.normal(0, 4e-4, n)
    sog = np.where(rng.random(n) < 0.7, rng.uniform(0, 0.8, n), rng.uniform(3, 12, n))
    sog[rng.random(n) < 0.1] = np.nan
    tracks = Tracks.from_arrays(mmsi, t, lat, lon, sog_kn=sog)
    whole = find_stops(tracks)
    cuts = np.sort(rng.integers(tracks.time_ns.min(), tracks.time_ns.max(), n_cuts))
    edges = [None, *cuts.tolist(), None]  # int64 ns; None: unbounded
    margin = 3 * 3600 * 10**9  # max_gap: what a window must load beyond its core
    pieces, ends = [], []
    for a, b in itertools.pairwise(edges):  # a few windows
        sel = np.ones(len(tracks), dtype=bool)
        if a is not None:
            sel &= tracks.time_ns >= a - margin
        if b is not None:
            sel &= tracks.time_ns < b + margin
        sub = Tracks.from_arrays(tracks.mmsi[sel], tracks.time_ns[sel], tracks.lat_deg[sel],
                                 tracks.lon_deg[sel], sog_kn=tracks.sog_kn[sel])
        p, e = stop_pieces(sub, a, b)
        pieces.append(p)
        ends.append(e)
    joined = join_stop_pieces(pieces, ends)
    assert len(whole) == len(joined)
    pd.testing.assert_frame_equal(joined, whole, check_exact=False, rtol=1e-12, atol=1e-9)


def test_context_window_by_window_equals_one_run():
    """The context stage's windowed form (stop pieces per day, joined at the end) gives the
    same context columns, tokens and evidence as the one-window run (what a windowed driver
    must reproduce; the driver itself guarantees the tracks' core rows)."""
    from stsdetect.ais import read_ais
    from stsdetect.context.stops import join_stop_pieces, stop_pieces

    sc = simulate(seed=7, duration="3d", n_crowded_anchorages=2, anchorage_size=30,
                  n_berth=8, draught_changes=True, min_interval_s=240, n_background=6)
    data = read_ais(sc.lines())
    one = detect(data)
    tracks = one.tracks
    t = tracks.time_ns
    day = 86400 * 10**9
    margin = 3 * 3600 * 10**9  # max_gap of the stops
    pieces, ends = [], []
    for k in range(int(t.min() // day), int(t.max() // day) + 1):  # the days of the dump
        a, b = k * day, (k + 1) * day
        sel = (t >= a - margin) & (t < b + margin)
        sub = Tracks.from_arrays(tracks.mmsi[sel], t[sel], tracks.lat_deg[sel],
                                 tracks.lon_deg[sel], sog_kn=tracks.sog_kn[sel])
        p, e = stop_pieces(sub, a, b)
        pieces.append(p)
        ends.append(e)
    stops = join_stop_pieces(pieces, ends)
    areas = find_anchorages(None, stops=stops, positions=data.positions,
                            span_s=(int(t.max()) - int(t.min())) / 1e9)
    core = one.events[list(EVENT_COLUMNS)].assign(flags=[[] for _ in range(len(one.events))])
    windowed = add_context(core, anchorages=areas, positions=data.positions,
                           statics=data.statics, stops=stops)
    single = add_context(core, tracks=tracks, anchorages=one.anchorages,
                         positions=data.positions, statics=data.statics)
    assert len(areas) == len(one.anchorages) >= 3
    pd.testing.assert_frame_equal(windowed, single, check_exact=False, rtol=1e-9)
    assert windowed["flags"].map(len).sum() > 100


# --- the windowed and Dask drivers give the context of the in-memory run ---------------------

@pytest.fixture(scope="module")
def crowded_days(tmp_path_factory):
    """A crowded three-day dump (tag-block NMEA) cut into one file per UTC day, and what
    ``detect`` finds in it in memory."""
    import re

    sc = simulate(seed=8, duration="3d", n_crowded_anchorages=2, anchorage_size=30, n_berth=8,
                  draught_changes=True, min_interval_s=240, n_background=6)
    folder = tmp_path_factory.mktemp("crowded_days")
    lines = np.array(sc.nmea.decode().splitlines(), dtype=object)
    stamp = pd.Series(lines).str.extract(r"c:(\d+)", flags=re.ASCII)[0]
    day = pd.to_numeric(stamp).ffill().bfill().to_numpy() // 86400
    files = []
    for i, d in enumerate(np.unique(day)):  # one file per day
        path = folder / f"day{i}.nmea"
        path.write_text("\n".join(lines[day == d]) + "\n")
        files.append(path)
    want = detect([str(f) for f in files]).events  # reception coverage too, in every mode
    flags = want["flags"].map(set)
    # the context stage had work to do: ordinary pairs, crowds, cargo evidence
    assert flags.map(lambda f: bool(f & {"anchorage", "port"})).sum() > 50
    assert flags.map(lambda f: "crowded" in f).sum() > 50
    assert flags.map(lambda f: "draught_change" in f).sum() >= 2
    assert want["nav_status"].isin([1, 5]).sum() > 50
    return files, want


def _same_events(got, want):
    got = got.sort_values("event_id").reset_index(drop=True)
    want = want.sort_values("event_id").reset_index(drop=True)
    assert list(got["event_id"]) == list(want["event_id"])
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-9)


def test_windowed_driver_gives_the_context_of_one_run(crowded_days, tmp_path):
    from stsdetect.scale import detect_windowed

    files, want = crowded_days
    got = detect_windowed(files, window="1d", workdir=tmp_path / "w").events
    _same_events(got, want)


# the end of this run sends ~10 MB of tables in its task, on purpose (dask.GRAPH_WARNING_BYTES):
# no warning telling the user to scatter them
@pytest.mark.filterwarnings("error:Sending large graph:UserWarning")
def test_dask_driver_gives_the_context_of_one_run(crowded_days, tmp_path):
    from distributed import Client, LocalCluster

    import stsdetect.dask as sd

    files, want = crowded_days
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        got = sd.detect(files, client=client, workdir=tmp_path / "d").events
    _same_events(got, want)


# --- the crowd kernel against brute force; draught and destination on crafted statics ------

@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 100_000), lon0=st.sampled_from([122.0, 179.99, -179.99, 0.0]),
       lat0=st.sampled_from([30.0, 89.99, -60.0]))
def test_crowd_counts_equal_brute_force(seed, lon0, lat0):
    from hypothesis import assume

    from stsdetect.context._kernels import crowd_counts
    from stsdetect.geo import EARTH_RADIUS_M, arc_to_chord_m, haversine_m, unit_xyz

    rng = np.random.default_rng(seed)
    m, n, n_v, radius = 60, 15, 12, 2000.0
    s_lat = np.clip(lat0 + rng.normal(0, 0.02, m), -90, 90)
    s_lon = (lon0 + rng.normal(0, 0.03, m) + 180) % 360 - 180
    s_code = rng.integers(0, n_v, m)
    s_t0 = rng.uniform(0, 40, m)
    s_t1 = s_t0 + rng.uniform(0, 20, m)
    e_lat = np.clip(lat0 + rng.normal(0, 0.02, n), -90, 90)
    e_lon = (lon0 + rng.normal(0, 0.03, n) + 180) % 360 - 180
    e_lat[0] = np.nan  # no position: counted 0
    e_t0 = rng.uniform(0, 40, n)
    e_t1 = e_t0 + rng.uniform(0, 10, n)
    ea = rng.integers(-1, n_v, n)
    eb = rng.integers(-1, n_v, n)
    d = haversine_m(e_lat[:, None], e_lon[:, None], s_lat[None, :], s_lon[None, :])
    assume(not (np.abs(d[1:] - radius) < 0.01).any())  # no stop on the boundary itself
    want = np.zeros(n, np.int64)
    for i in range(1, n):  # the oracle: every event against every stop
        near = (d[i] <= radius) & (s_t0 < e_t1[i]) & (s_t1 > e_t0[i]) \
            & (s_code != ea[i]) & (s_code != eb[i])
        want[i] = np.unique(s_code[near]).size
    got = crowd_counts(unit_xyz(s_lat, s_lon), s_t0, s_t1, s_code, n_v, unit_xyz(e_lat, e_lon),
                       e_t0, e_t1, ea, eb, arc_to_chord_m(radius) / EARTH_RADIUS_M)
    np.testing.assert_array_equal(got, want)


def test_draught_and_destination_before_and_after_from_the_statics_history():
    t0 = pd.Timestamp("2024-03-01T00:00Z")
    ev = make_events("rendezvous", mmsi=[445000001, 445000001],
                     other_mmsi=pd.array([412000002, 412000003], dtype="Int64"),
                     start=[t0 + pd.Timedelta("10h"), t0 + pd.Timedelta("30h")],
                     end=[t0 + pd.Timedelta("14h"), t0 + pd.Timedelta("34h")],
                     lat=[30.0, 30.0], lon=[122.0, 122.0])
    h = pd.Timedelta("1h")
    statics = pd.DataFrame({
        "time": [t0 + 9 * h, t0 + 12 * h, t0 + 15 * h, t0 + 40 * h,
                 t0 + 5 * h, t0 + 20 * h, t0 + 29 * h, t0 + 35 * h, pd.NaT],
        "mmsi": [445000001] * 4 + [412000002, 412000002, 412000003, 412000003, 412000003],
        "draught_m": [9.8, 9.8, 6.1, 6.1, 3.0, 3.3, 4.0, 4.2, 12.0],
        "destination": ["NAMPO", "NAMPO", "NAMPO", "NINGBO", "ZHOUSHAN", "ZHOUSHAN",
                        "SHANGHAI", "shanghai ", None]})
    out = add_context(ev, statics=statics)
    # event 1: 445000001 loaded off 3.7 m (9.8 -> 6.1); its partner 0.3 m (typo range)
    assert out["draught_before_m"].tolist() == [9.8, 6.1]
    assert out["draught_after_m"].tolist() == [6.1, 6.1]
    assert out["other_draught_before_m"].tolist() == [3.0, 4.0]
    assert out["other_draught_after_m"].tolist() == [3.3, 4.2]
    assert ["draught_change" in f for f in out["flags"]] == [True, False]
    reason = json.loads(out["evidence"].iloc[0])["draught_change"]
    assert reason == {"vessel": 445000001, "before_m": 9.8, "after_m": 6.1}
    # destinations compare trimmed and upper-cased; event 2 sees NAMPO -> NINGBO
    assert out["destination_before"].tolist() == ["NAMPO", "NAMPO"]
    assert out["destination_after"].tolist() == ["NAMPO", "NINGBO"]
    assert out["other_destination_after"].tolist() == ["ZHOUSHAN", "SHANGHAI"]
    assert ["destination_change" in f for f in out["flags"]] == [False, True]
    reason = json.loads(out["evidence"].iloc[1])["destination_change"]
    assert reason == {"vessel": 445000001, "before": "NAMPO", "after": "NINGBO"}
    # through one Evidence, as detect() runs it: no flags written until it is finished
    from stsdetect.flags import Evidence

    evidence = Evidence(ev)
    cols = add_context(ev, statics=statics, evidence=evidence)
    assert cols["flags"].map(len).sum() == 0
    pd.testing.assert_frame_equal(evidence.finish(cols), out)


def test_ordinary_events_are_listed_after_all_others_whatever_their_score():
    t = [1.7e9 + 3600 * k for k in range(5)]
    ev = make_events("rendezvous", mmsi=[1, 2, 3, 4, 5],
                     other_mmsi=pd.array([11, 12, 13, 14, 15], dtype="Int64"),
                     start=t, end=[x + 7200 for x in t], lat=[30.0] * 5, lon=[122.0] * 5)
    ev["flags"] = [["anchorage"], [], ["port", "dprk"], ["dprk"], ["crowded"]]
    ev["score"] = [10.0, 1.0, 8.0, 3.0, 2.0]
    ranked = rank_events(ev)
    assert ranked["mmsi"].tolist() == [4, 5, 2, 1, 3]
    assert rank_events(ev, drop=("anchorage", "port"))["mmsi"].tolist() == [4, 5, 2]


def test_simulator_crowds_berths_draught_and_transfers_near_an_anchorage():
    from stsdetect.ais import read_ais
    from stsdetect.geo import haversine_m

    sc = _crowded(1)
    role = sc.vessels.set_index("mmsi")["role"]
    pos = sc.positions.assign(role=sc.positions["mmsi"].map(role))
    # crowded anchorages: dozens of ships at anchor (status 1) within 3 km of each other
    still = pos[(pos["role"] == "anchorage") & (pos["sog_kn"] < 1)]
    assert (still["nav_status"] == 1).all()
    centre = still.groupby("mmsi")[["lat", "lon"]].median()
    from scipy.cluster.hierarchy import fcluster, linkage

    xy = np.column_stack((centre["lon"] * np.cos(np.radians(30.5)), centre["lat"])) * 111_195
    groups = pd.Series(fcluster(linkage(xy, "single"), 5000, "distance"), index=centre.index)
    assert groups.nunique() == 3 and groups.value_counts().min() >= 30
    for _, c in centre.groupby(groups):  # three anchorages
        d = haversine_m(c["lat"].to_numpy()[:, None], c["lon"].to_numpy()[:, None],
                        c["lat"].to_numpy()[None, :], c["lon"].to_numpy()[None, :])
        assert d.max() < 3000
    # a berth row: moored ships (status 5)
    berth = pos[pos["role"] == "berth"]
    assert berth["mmsi"].nunique() == 12 and (berth["nav_status"] == 5).all()
    # the ships of the transfers report their draught changing, in the decoded statics
    statics = read_ais(sc.lines()).statics
    changed = sc.vessels.dropna(subset=["draught_change_s"])
    assert len(changed) >= 2
    for v in changed.itertuples():  # a handful of vessels
        d = statics.loc[statics["mmsi"] == v.mmsi, "draught_m"].dropna()
        assert {round(v.draught_m, 1), round(v.draught_after_m, 1)} <= set(d.round(1))
    # transfers held 3-6.5 km from the nearest anchored ship, not among them
    for t in sc.truth[sc.truth["kind"] == "transfer"].itertuples():
        d = haversine_m(t.lat, t.lon, centre["lat"].to_numpy(), centre["lon"].to_numpy())
        assert 3000 < d.min() < 6500


def test_components_match_scipy():
    """Anchorage areas' connected components: the same labels as scipy's csgraph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from stsdetect.context.anchorages import _components

    rng = np.random.default_rng(7)
    for trial in range(60):  # random graphs, and long chains in a shuffled order
        n = int(rng.integers(1, 200))
        src, dst = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
        if trial % 3 == 0:
            perm = rng.permutation(n)
            src, dst = perm[:-1], perm[1:]
        graph = coo_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
        assert (_components(n, src, dst) == connected_components(graph, directed=False)[1]).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-5, 40) | st.sampled_from([2**62, -(2**62), 412000001])),
       st.lists(st.integers(-5, 40) | st.sampled_from([2**62, 412000001]), max_size=300))
def test_member_rows_equals_isin(keys, values):
    """The compiled membership pass the status index selects its vessels' reports with."""
    from stsdetect._order import member_rows

    k, v = np.array(keys, np.int64), np.array(values, np.int64)
    assert np.array_equal(member_rows(v, k), np.flatnonzero(np.isin(v, k)))


def _stop_rows_oracle(tracks, a_ns, b_ns, max_speed_kn=1.0, radius_m=500.0, gap_ns=3 * 3600e9):
    """The slow rows, their pieces' starts and links, and each vessel's first/last row of a
    range, by whole-array NumPy steps (how stop_pieces found them before its compiled passes;
    rows already in (mmsi, time) order)."""
    from stsdetect.geo import KNOT_M_S, haversine_m

    mmsi, t = tracks.mmsi, tracks.time_ns
    lat, lon, sog = tracks.lat_deg, tracks.lon_deg, tracks.sog_kn
    n = len(tracks)
    same = np.r_[False, mmsi[1:] == mmsi[:-1]]
    dt = np.r_[0, t[1:] - t[:-1]]
    implied = np.full(n, np.nan)
    nxt = np.flatnonzero(~np.isfinite(sog[:-1]) & same[1:] & (dt[1:] <= gap_ns))
    with np.errstate(divide="ignore", invalid="ignore"):
        implied[nxt] = haversine_m(lat[nxt], lon[nxt], lat[nxt + 1], lon[nxt + 1]) / \
            np.maximum(dt[nxt + 1] * 1e-9, 1.0) / KNOT_M_S
    speed = np.where(np.isfinite(sog), sog, implied)
    slow = (np.isfinite(speed) & (speed <= max_speed_kn)) | ~np.isfinite(speed)
    ci = np.flatnonzero(same & slow & np.roll(slow, 1) & (dt <= gap_ns))
    linked = np.zeros(n, dtype=bool)
    linked[ci] = haversine_m(lat[ci - 1], lon[ci - 1], lat[ci], lon[ci]) <= radius_m
    inside = (t >= (a_ns if a_ns is not None else t.min())) & (
        t < (b_ns if b_ns is not None else t.max() + 1))
    heads = np.flatnonzero(inside & ~(same & np.roll(inside, 1)))
    tails = np.flatnonzero(inside & ~(np.append(same[1:], False) & np.roll(inside, -1)))
    rows = np.flatnonzero(slow & inside)
    starts = ~linked[rows]
    starts[1:] |= rows[1:] != rows[:-1] + 1
    if rows.size:
        starts[0] = True
    return rows, np.flatnonzero(starts), heads, tails, linked[rows[np.flatnonzero(starts)]]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_stop_passes_equal_the_numpy_oracle(seed, lower, upper):
    """The compiled stop passes (implied speeds of reports without one, slow steps that may
    link, the slow rows of a range and their pieces) equal whole-array NumPy steps: speeds
    NaN or infinite, gaps around max_gap, jumps around the radius, ranges cutting vessels."""
    from stsdetect.context._kernels import speedless_steps, stop_rows, stop_steps
    from stsdetect.geo import KNOT_M_S, haversine_m
    from stsdetect.tracks import Tracks

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 80))
    tracks = Tracks.from_arrays(
        rng.choice([412000001, 412000002, 412000003], n),
        1.7e9 + np.sort(rng.choice(np.arange(0, 60000, 900.0), n)),
        30 + rng.choice([0, 0.001, 0.004, 0.5], n), 122 + rng.choice([0, 0.001, 0.02], n),
        rng.choice([0.2, 1.0, 3.0, np.nan, np.inf], n))
    a = int(1.7e9 + 15000) * 10**9 if lower else None
    b = int(1.7e9 + 40000) * 10**9 if upper else None
    m, t, lat, lon, sog = (tracks.mmsi, tracks.time_ns, tracks.lat_deg, tracks.lon_deg,
                           tracks.sog_kn)
    gap = np.int64(3 * 3600 * 10**9)
    in_order, nxt = speedless_steps(m, t, sog, gap)
    assert in_order
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = haversine_m(lat[nxt], lon[nxt], lat[nxt + 1], lon[nxt + 1]) / np.maximum(
            (t[nxt + 1] - t[nxt]) * 1e-9, 1.0) / KNOT_M_S
    slow, ci = stop_steps(m, t, sog, nxt, implied, 1.0, gap)
    linked = haversine_m(lat[ci - 1], lon[ci - 1], lat[ci], lon[ci]) <= 500.0
    rows, first, heads, tails = stop_rows(m, t, slow, ci, linked, a is not None,
                                          np.int64(a or 0), b is not None, np.int64(b or 0))
    want = _stop_rows_oracle(tracks, a, b)
    for got, w in zip((rows, first, heads, tails), want[:4], strict=True):
        assert np.array_equal(got, w)
    from stsdetect.context.stops import _linked_at

    assert np.array_equal(_linked_at(rows[first], ci, linked), want[4])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.sampled_from([None, np.nan, np.inf, 1e308]))
def test_sorted_stop_columns_skip_the_kernel_only_when_it_would_find_nothing(seed, split, odd):
    """_sorted_columns without the kernel (one segment per MMSI, every speed finite) gives
    what the kernel route gives (split MMSIs, missing, infinite and huge speeds)."""
    from stsdetect.context._kernels import speedless_steps
    from stsdetect.context.stops import _sorted_columns
    from stsdetect.tracks import Tracks

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    sog = rng.choice([0.2, 1.0, 3.0], n)
    if odd is not None:
        sog[rng.integers(0, n)] = odd
    tracks = Tracks.from_arrays(
        rng.choice([412000001, 412000002, 412000003], n),
        1.7e9 + rng.choice(np.arange(0, 60000, 900.0), n), 30 + rng.random(n),
        122 + rng.random(n), sog, segment=rng.integers(0, 2, n) if split else None)
    gap = 3 * 3600 * 10**9
    got = _sorted_columns(tracks, gap)
    m, t = tracks.mmsi, tracks.time_ns
    cols = [m, t, tracks.lat_deg, tracks.lon_deg, tracks.sog_kn]
    in_order, nxt = speedless_steps(m, t, tracks.sog_kn, np.int64(gap))  # the kernel route
    if not in_order:
        order = np.lexsort((t, m))
        cols = [c[order] for c in cols]
        _, nxt = speedless_steps(cols[0], cols[1], cols[4], np.int64(gap))
    for g, w in zip(got, [*cols, nxt], strict=True):
        np.testing.assert_array_equal(g, w)


# --- the in-memory pipeline's plain anchorages table (no geopandas on the command line) -------

def test_plain_area_table_is_find_anchorages_and_gives_the_same_context():
    """_learn_areas' plain table: find_anchorages' rows, columns and polygons; add_context
    reads it as it reads the GeoDataFrame; combined with supplied ports (a GeoDataFrame) it is
    combine_areas' table."""
    import geopandas as gpd

    from stsdetect.context.anchorages import _combine, _learn_areas

    tracks = _crowd_tracks()
    plain, geo = _learn_areas(tracks), find_anchorages(tracks)
    assert type(plain) is pd.DataFrame and isinstance(geo, gpd.GeoDataFrame)
    assert geo.crs.to_epsg() == 4326 and list(plain.columns) == ANCHORAGE_COLUMNS
    pd.testing.assert_frame_equal(plain.drop(columns="geometry"),
                                  pd.DataFrame(geo.drop(columns="geometry")))
    assert all(a.equals_exact(b, 0.0) for a, b in zip(plain["geometry"], geo.geometry,
                                                        strict=True))
    ev = make_events("rendezvous", mmsi=[1, 3], other_mmsi=pd.array([2, 4], dtype="Int64"),
                     start=[1.7e9, 1.7e9], end=[1.7e9 + 7200, 1.7e9 + 7200],
                     lat=[30.0, 30.2], lon=[122.0, 122.0])
    pd.testing.assert_frame_equal(add_context(ev, anchorages=plain),
                                  add_context(ev, anchorages=geo))
    ports = load_ports(_port_frame())
    mixed, oracle = _combine([plain, ports]), pd.concat([geo, ports], ignore_index=True)
    assert isinstance(mixed, gpd.GeoDataFrame) and mixed.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(pd.DataFrame(mixed.drop(columns="geometry")),
                                  pd.DataFrame(oracle.drop(columns="geometry")))
    assert type(_combine([plain, _learn_areas(_crowd_tracks(n_ships=2))])) is pd.DataFrame
    assert len(_combine([])) == 0 and list(_combine([]).columns) == ANCHORAGE_COLUMNS


def test_detect_result_anchorages_is_a_geodataframe():
    """detect() keeps the learned areas as a plain table; DetectResult.anchorages gives them
    as a GeoDataFrame (EPSG:4326) equal to find_anchorages', the same object on every read."""
    import geopandas as gpd

    sc = _crowded(4)
    result = detect(sc.lines(), regions=[])
    areas = result.anchorages
    assert isinstance(areas, gpd.GeoDataFrame) and areas.crs.to_epsg() == 4326
    assert result.anchorages is areas
    oracle = find_anchorages(result.tracks, positions=result.positions)
    pd.testing.assert_frame_equal(pd.DataFrame(areas.drop(columns="geometry")),
                                  pd.DataFrame(oracle.drop(columns="geometry")))
    assert detect(sc.lines(), regions=[], context=False).anchorages is None


def test_command_line_detect_does_not_import_geopandas(tmp_path):
    """``stsdetect detect`` with the built-in regions and learned anchorages imports neither
    geopandas nor pyproj (about 0.05 CPU s of its start-up); ``--save-anchorages`` does."""
    import subprocess
    import sys

    from stsdetect.simulate import demo_path

    code = ("import sys, json; from stsdetect.cli import main; "
            "code = main(json.loads(sys.argv[1])); "
            "print(code, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'geopandas', 'pyproj'}))")
    base = ["detect", str(demo_path()), "-o", str(tmp_path / "ev.csv"), "-q"]
    for extra, expect in (([], "0 []"),
                          (["--save-anchorages", str(tmp_path / "a.geojson")],
                           "0 ['geopandas', 'pyproj']")):
        out = subprocess.run([sys.executable, "-c", code, json.dumps(base + extra)],
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip().splitlines()[-1] == expect, out.stderr
    assert (tmp_path / "a.geojson").stat().st_size > 0


@pytest.mark.parametrize("n_events", [0, 2])
def test_context_columns_equal_the_column_by_column_route(n_events):
    """add_context appends its columns in one concatenation: the same frame (dtypes as
    inferred from the same values, column order, replaced columns) as setting them one by one
    on a copy of the events and moving them to the end, the route it replaced; also when the
    events already carry them."""
    t0 = pd.Timestamp("2024-03-01T00:00Z")
    ev = make_events("rendezvous", mmsi=[445000001, 445000001][:n_events],
                     other_mmsi=pd.array([412000002, None][:n_events], dtype="Int64"),
                     start=[t0 + pd.Timedelta("10h"), t0 + pd.Timedelta("30h")][:n_events],
                     end=[t0 + pd.Timedelta("14h"), t0 + pd.Timedelta("34h")][:n_events],
                     lat=[30.0, 30.0][:n_events], lon=[122.0, 122.0][:n_events])
    statics = pd.DataFrame({"time": [t0, t0 + pd.Timedelta("20h")],
                            "mmsi": [445000001, 445000001], "draught_m": [9.8, 6.1],
                            "destination": ["NAMPO", None]})
    tokens = ["flags", "evidence"]
    once = add_context(ev, statics=statics)
    for events in (ev, once.drop(columns=tokens).assign(**{c: ev[c] for c in tokens
                                                           if c in ev.columns})):
        got = add_context(events, statics=statics)
        want = events.copy().reset_index(drop=True)
        for col in CONTEXT_COLUMNS:  # the old route: one column at a time, then reordered
            values = got[col].array  # texts as object arrays, as add_context makes them
            want[col] = values if got[col].dtype.kind in "fiu" or col == "crowd_n" \
                or col.endswith("nav_status") else values.to_numpy(dtype=object)
        want = want[[c for c in want.columns if c not in CONTEXT_COLUMNS] + CONTEXT_COLUMNS]
        pd.testing.assert_frame_equal(got.drop(columns=tokens, errors="ignore"),
                                      want.drop(columns=tokens, errors="ignore"))
