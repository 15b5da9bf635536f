"""Imagery detections: reading both layouts, matching to AIS, dark vessels, unseen partners."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stsdetect import pipeline
from stsdetect.detectors.dark_vessels import (
    _greedy_one_to_one,
    find_dark_vessels,
    find_unseen_partners,
    mark_unseen_partners,
    match_detections,
    positions_at,
)
from stsdetect.geo import haversine_m
from stsdetect.imagery import DETECTION_COLUMNS, read_detections
from stsdetect.simulate import imagery_detections, simulate
from stsdetect.tracks import Tracks


@pytest.fixture(scope="module")
def imaged():
    """A simulated scenario with images during both transfers, and what detect() makes of it."""
    sc = imagery_detections(simulate(seed=1), seed=1)
    return sc, pipeline.detect(sc.positions, detections=sc.detections)


# ------------------------------------------------------------------------------ reading


def test_simple_layout(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("time,lat,lon,length_m,scene_id\n"
                    "2024-03-02T06:00:00Z,30.5,121.9,85,S1A_X\n"
                    "2024-03-02T06:00:00,30.6,122.0,,S1A_X\n"
                    "not a time,30.6,122.0,,S1A_X\n"
                    "2024-03-02T06:00:00Z,95,122.0,,S1A_X\n")
    d = read_detections(path)
    assert list(d.columns) == DETECTION_COLUMNS
    assert len(d) == 2 and d.attrs["skipped"] == {"bad_time": 1, "bad_position": 1}
    assert d.attrs["layout"] == "simple"
    assert (d["time"] == pd.Timestamp("2024-03-02T06:00:00Z")).all()
    assert d["length_m"].iloc[0] == 85 and np.isnan(d["length_m"].iloc[1])
    assert d["detection_id"].tolist() == ["S1A_X;121.900000;30.500000",
                                          "S1A_X;122.000000;30.600000"]


def test_gfw_layouts(tmp_path):
    # Paolo et al. 2024's published table ...
    published = pd.DataFrame({
        "detect_id": ["S1B_1;121.90000;30.50000", "S1B_1;122.00000;30.60000"],
        "scene_id": ["S1B_1", "S1B_1"], "timestamp": ["2021-05-01 10:00:00 UTC"] * 2,
        "lat": [30.5, 30.6], "lon": [121.9, 122.0], "mmsi": [412000001, None],
        "length_m": [120.0, 35.0], "matched_category": ["matched_nonfishing", "unmatched"],
        "fishing_score": [0.1, 0.7], "overpasses_2017_2021": [200, 200]})
    published.to_csv(tmp_path / "p.csv", index=False)
    d = read_detections(tmp_path / "p.csv")
    assert d.attrs["layout"] == "gfw"
    assert d["detection_id"].tolist() == published["detect_id"].tolist()
    assert d["gfw_mmsi"].tolist()[0] == 412000001 and pd.isna(d["gfw_mmsi"].iloc[1])
    assert {"matched_category", "fishing_score", "overpasses_2017_2021"} <= set(d.columns)
    # ... and the BigQuery table's spelling
    bq = published.rename(columns={"timestamp": "detect_timestamp", "lat": "detect_lat",
                                   "lon": "detect_lon", "length_m": "inferred_length_m",
                                   "mmsi": "ssvid"})
    bq.to_parquet(tmp_path / "b.parquet")
    d2 = read_detections(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(d[DETECTION_COLUMNS], d2[DETECTION_COLUMNS])


def test_bad_detection_files(tmp_path):
    with pytest.raises(ValueError, match="scene_id"):
        read_detections(pd.DataFrame({"time": ["2024-01-01"], "lat": [1.0], "lon": [1.0]}))
    with pytest.raises(ValueError, match="share a detection id"):
        read_detections(pd.DataFrame({"time": ["2024-01-01"] * 2, "lat": [1.0, 2.0],
                                      "lon": [1.0, 2.0], "scene_id": ["a", "a"],
                                      "detection_id": ["x", "x"]}))
    with pytest.raises(FileNotFoundError):
        read_detections(tmp_path / "none.csv")
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(ValueError, match=r"csv or \.parquet"):
        read_detections(tmp_path / "d.json")
    with pytest.raises(ValueError, match="layout"):
        read_detections(pd.DataFrame(), layout="sentinel")


# ------------------------------------------------------------------------------ matching


def _brute_greedy(a, b, dist):
    order = np.lexsort((b, a, dist))
    used_a, used_b, keep = set(), set(), np.zeros(a.size, bool)
    for k in order:
        if a[k] not in used_a and b[k] not in used_b:
            keep[k] = True
            used_a.add(a[k])
            used_b.add(b[k])
    return keep


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 60))
def test_greedy_rounds_equal_greedy_by_distance(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 12, n)
    b = rng.integers(0, 12, n)
    dist = rng.choice([1.0, 2.0, 3.0, rng.uniform()], n)  # ties too
    np.testing.assert_array_equal(_greedy_one_to_one(a, b, dist), _brute_greedy(a, b, dist))


def test_positions_at_interpolates_and_dead_reckons():
    t0 = 1_700_000_000.0
    tracks = Tracks.from_arrays([1, 1, 1], [t0, t0 + 600, t0 + 3 * 3600 + 600],
                                [30.0, 30.1, 30.2], [122.0, 122.0, 122.0],
                                sog_kn=[10.0, 10.0, 10.0], cog_deg=[0.0, 0.0, 0.0])
    lat, lon = positions_at(tracks, [0, 0, 0, 0], [t0 + 300, t0 + 900, t0 + 7200, t0 - 300])
    assert lat[0] == pytest.approx(30.05) and lon[0] == pytest.approx(122.0)
    # 5 min after the report at 30.1, north at 10 kn: 1543 m further
    assert haversine_m(30.1, 122.0, lat[1], lon[1]) == pytest.approx(10 * 0.514444 * 300, 1e-3)
    assert np.isnan(lat[2])  # inside a 3 h gap: unknown
    assert lat[3] < 30.0  # dead-reckoned back before the first report


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matching_precision_and_recall_on_simulated_images(seed):
    sc = imagery_detections(simulate(seed=seed), seed=seed, n_scenes=6)
    tracks = pipeline.detect(sc.positions, only="dark_period").tracks
    m = match_detections(sc.detections, tracks)
    assert len(m) == len(sc.detections)
    assert (m["detection_id"] == sc.detections["detection_id"]).all()
    correct = (m["mmsi"] == m["truth_mmsi"]).fillna(False).to_numpy(bool)
    ais = (m["truth_kind"] == "ais").to_numpy()
    precision = correct.sum() / m["matched"].sum()
    recall = (correct & ais).sum() / ais.sum()
    assert precision >= 0.97 and recall >= 0.95, (precision, recall)
    # one to one within an image time; every match within the distance
    matched = m[m["matched"]]
    assert not matched.duplicated(["time", "mmsi"]).any()
    assert (matched["match_distance_m"] <= 1500).all()
    # hulls without AIS stay unmatched, but for the odd one placed by chance within 1.5 km
    # of a vessel whose own detection was missed
    no_ais = m["truth_kind"].isin(["dark", "unseen_partner"])
    assert m.loc[no_ais, "matched"].sum() <= 1


def test_matching_does_not_depend_on_row_order(imaged):
    sc, res = imaged
    d = sc.detections
    a = match_detections(d, res.tracks)
    b = match_detections(d.sample(frac=1.0, random_state=3), res.tracks)
    b = b.set_index("detection_id").loc[a["detection_id"]].reset_index()
    pd.testing.assert_frame_equal(a[["detection_id", "mmsi", "match_distance_m"]],
                                  b[["detection_id", "mmsi", "match_distance_m"]])


def test_matching_checks_its_inputs(imaged):
    sc, res = imaged
    with pytest.raises(ValueError, match="lack columns"):
        match_detections(sc.detections.drop(columns="lat"), res.tracks)
    with pytest.raises(ValueError, match="max_distance_m"):
        match_detections(sc.detections, res.tracks, max_distance_m=0)
    with pytest.raises(TypeError):
        match_detections([1], res.tracks)
    empty = match_detections(sc.detections.iloc[:0], res.tracks)
    assert len(empty) == 0 and "matched" in empty


# ------------------------------------------------------------------------------ events


def test_dark_vessels_and_unseen_partners_end_to_end(imaged):
    sc, res = imaged
    ev = res.events
    d = res.detections
    dark = ev[ev["event_type"] == "dark_vessel"]
    # every unmatched detection is a dark vessel event, with its scene and id
    assert sorted(dark["detection_id"]) == sorted(d.loc[~d["matched"], "detection_id"])
    assert (dark["mmsi"] == 0).all() and dark["scene_id"].str.startswith("S1SIM_").all()
    assert (dark["start"] == dark["end"]).all()
    assert not dark["flags"].map(lambda f: "dprk" in f or "barge" in f).any()
    # the transfers' rendezvous carry unseen_partner with the right detections as evidence
    truth_partner = set(d.loc[d["truth_kind"] == "unseen_partner", "detection_id"])
    rv = ev[ev["event_type"] == "rendezvous"]
    marked = rv[rv["flags"].map(lambda f: "unseen_partner" in f)]
    transfers = sc.truth[sc.truth["kind"] == "transfer"]
    assert set(zip(marked["mmsi"], marked["other_mmsi"], strict=True)) == set(
        zip(transfers["mmsi"], transfers["other_mmsi"], strict=True))
    for text in ev.loc[ev["flags"].map(lambda f: "unseen_partner" in f), "evidence"]:
        dets = json.loads(text)["unseen_partner"]["detections"]
        assert dets and all(x["detection_id"] in truth_partner for x in dets)
        assert all(x["distance_m"] <= 500 and x["scene_id"].startswith("S1SIM_") for x in dets)
    # no other event has it
    others = ev[~ev["event_type"].isin(["rendezvous", "loitering"])]
    assert not others["flags"].map(lambda f: "unseen_partner" in f).any()
    # it raises the score
    assert ev.loc[marked.index, "score"].min() > rv.loc[~rv.index.isin(marked.index),
                                                        "score"].max()


def test_no_hull_alongside_no_unseen_partner():
    sc = imagery_detections(simulate(seed=1), seed=1, unseen_partners=False, n_dark=0)
    res = pipeline.detect(sc.positions, detections=sc.detections)
    assert not res.events["flags"].map(lambda f: "unseen_partner" in f).any()


def test_dark_vessels_get_region_flags():
    t = pd.Timestamp("2024-03-02T06:00:00Z")
    det = read_detections(pd.DataFrame({"time": [t, t], "lat": [30.55, 20.0],
                                        "lon": [121.0, 150.0], "scene_id": ["S", "S"]}))
    sc = simulate(seed=1)
    res = pipeline.detect(sc.positions, detections=det, only="loitering")
    dark = res.events[res.events["event_type"] == "dark_vessel"].set_index("lat")
    assert "hangzhou_bay" in dark.loc[30.55, "flags"]
    assert dark.loc[20.0, "flags"] == []


def test_unseen_partner_helpers_with_nothing_to_do(imaged):
    sc, res = imaged
    none = find_unseen_partners(res.events.iloc[:0], res.detections, res.tracks)
    assert len(none) == 0 and list(none.columns)[:2] == ["event_id", "detection_id"]
    same = mark_unseen_partners(res.events, none)
    assert (same["flags"].map(len) == res.events["flags"].map(len)).all()
    with pytest.raises(ValueError, match="match_detections"):
        find_dark_vessels(sc.detections)


def test_cli_detections(tmp_path):
    from stsdetect.cli import EXIT_BAD_INPUT, EXIT_OK, main
    from stsdetect.events import read_events

    sc = imagery_detections(simulate(seed=1), seed=1)
    paths = sc.write(tmp_path)
    sc.detections[["time", "lat", "lon", "length_m", "scene_id", "detection_id"]].to_csv(
        tmp_path / "det.csv", index=False)
    out = tmp_path / "e.csv"
    assert main(["detect", str(paths["nmea"]), "--detections", str(tmp_path / "det.csv"),
                 "-o", str(out), "-q"]) == EXIT_OK
    ev = read_events(out)
    dark = ev[ev["event_type"] == "dark_vessel"]
    assert len(dark) and dark["scene_id"].str.startswith("S1SIM_").all()
    assert ev["flags"].map(lambda f: "unseen_partner" in f).any()
    # the detections with their matches, beside the events
    m = pd.read_csv(tmp_path / "e.detections.csv")
    assert len(m) == len(sc.detections) and (~m["matched"]).sum() == len(dark)
    assert set(m.loc[~m["matched"], "detection_id"]) == set(dark["detection_id"])
    assert (m.loc[m["matched"], "match_distance_m"] <= 1500).all()
    assert m.loc[m["matched"], "mmsi"].notna().all() and m.loc[~m["matched"], "mmsi"].isna().all()
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    assert main(["detect", str(paths["nmea"]), "--detections", str(tmp_path / "bad.csv"),
                 "-o", str(out), "-q"]) == EXIT_BAD_INPUT
    assert main(["detect", str(paths["nmea"]), "--detections", str(tmp_path / "no.csv"),
                 "-o", str(out), "-q"]) == EXIT_BAD_INPUT


def test_report_shows_scene_and_unseen_partner(imaged, tmp_path):
    from stsdetect.report import write_html_report

    _, res = imaged
    path = write_html_report(res.events, tmp_path / "r.html", tracks=res.tracks, max_events=3)
    text = path.read_text()
    assert "S1SIM_" in text and "unseen_partner" in text and "dark_vessel" in text
    # an unseen partner's image, time and distance are in the event's headline
    ev = res.events
    marked = ev[ev["flags"].map(lambda f: "unseen_partner" in f)]
    det = json.loads(marked["evidence"].iloc[0])["unseen_partner"]["detections"][0]
    path = write_html_report(marked.head(1), tmp_path / "u.html", tracks=res.tracks)
    text = path.read_text()
    assert f"unseen partner: scene {det['scene_id']} at {det['time'][:10]} {det['time'][11:16]}" \
        in text


def test_maps_draw_unseen_partners_at_their_detections(imaged):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from stsdetect.detectors.dark_vessels import unseen_partner_points
    from stsdetect.events import read_events, write_events
    from stsdetect.plot import plot_events_map

    _, res = imaged
    ev = res.events
    marked = ev[ev["flags"].map(lambda f: "unseen_partner" in f)].head(1)
    pts = unseen_partner_points(marked)
    assert len(pts) >= 1 and pts[["lat", "lon"]].notna().all().all()
    # the points are the unmatched detections themselves
    d = res.detections.set_index("detection_id")
    np.testing.assert_allclose(pts["lat"], d.loc[pts["detection_id"], "lat"], atol=1e-6)
    ax = plot_events_map(marked, tracks=res.tracks)
    drawn = [c for c in ax.collections if c.get_gid() == "unseen-partners"]
    assert len(drawn) == 1
    np.testing.assert_allclose(drawn[0].get_offsets()[:, 1], pts["lat"].to_numpy(), atol=1e-9)
    labels = [t.get_text() for t in ax.texts if t.get_gid() == "unseen-partner-label"]
    assert labels and labels[0].startswith(str(pts["scene_id"].iloc[0])[:24])
    keys = [t.get_text() for t in ax.texts if t.get_gid() == "key-row"]
    assert any(k.startswith("unseen partner (imagery)") for k in keys)
    plt.close(ax.figure)
    # and read back from a file (the report and `stsdetect plot` read events files)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        back = read_events(write_events(marked, Path(tmp) / "e.geojson"))
        assert unseen_partner_points(back)["detection_id"].tolist() == \
            pts["detection_id"].tolist()


def test_matching_distances_are_parameters(imaged):
    sc, res = imaged
    n_matched = int(res.detections["matched"].sum())
    assert n_matched > 10
    # 1 m: hardly any detection lies that close to a track's interpolated position
    tight = pipeline.detect(sc.positions, detections=sc.detections, match_distance_m=1.0,
                            only="rendezvous")
    assert tight.detections["matched"].sum() < n_matched / 5
    assert (tight.detections["match_distance_m"].dropna() <= 1.0).all()
    n_dark = (tight.events["event_type"] == "dark_vessel").sum()
    assert n_dark == (~tight.detections["matched"]).sum()
    # an unseen partner must lie within unseen_partner_distance_m of the event's vessel
    near = pipeline.detect(sc.positions, detections=sc.detections, only="rendezvous",
                           unseen_partner_distance_m=1.0)
    assert not near.events["flags"].map(lambda f: "unseen_partner" in f).any()
    wide = pipeline.detect(sc.positions, detections=sc.detections, only="rendezvous",
                           unseen_partner_distance_m=500.0, match_max_gap="1s",
                           match_max_extrapolate="1s")
    # positions known only within a second of a report: hardly any track is placed
    assert wide.detections["matched"].sum() < n_matched / 2
    with pytest.raises(ValueError, match="need detections"):
        pipeline.detect(sc.positions, match_distance_m=800.0)


def test_cli_matching_options(tmp_path):
    from stsdetect.cli import EXIT_BAD_INPUT, EXIT_OK, main
    from stsdetect.events import read_events

    sc = imagery_detections(simulate(seed=1), seed=1)
    paths = sc.write(tmp_path)
    det = tmp_path / "det.csv"
    sc.detections[["time", "lat", "lon", "scene_id", "detection_id"]].to_csv(det, index=False)
    counts = {}
    for metres in ("1500", "1"):
        out = tmp_path / f"e{metres}.csv"
        assert main(["detect", str(paths["nmea"]), "--detections", str(det), "--only",
                     "rendezvous", "--match-distance", metres, "-o", str(out), "-q"]) == EXIT_OK
        counts[metres] = (read_events(out)["event_type"] == "dark_vessel").sum()
    assert counts["1"] > 3 * counts["1500"] > 0
    out = tmp_path / "e.csv"
    assert main(["detect", str(paths["nmea"]), "--detections", str(det),
                 "--unseen-partner-distance", "1", "-o", str(out), "-q"]) == EXIT_OK
    assert not read_events(out)["flags"].map(lambda f: "unseen_partner" in f).any()
    assert main(["detect", str(paths["nmea"]), "--match-distance", "800", "-o", str(out),
                 "-q"]) == EXIT_BAD_INPUT
    assert main(["detect", str(paths["nmea"]), "--detections", str(det), "--match-distance",
                 "-3", "-o", str(out), "-q"]) == EXIT_BAD_INPUT
