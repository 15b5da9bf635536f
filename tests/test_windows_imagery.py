"""Imagery detections (--detections) in the windowed and Dask drivers equal one in-memory run.

Each window matches the detections whose image time lies in its core (the loaded margin holds
the reports around them); dark vessels and unseen partners are then added to the merged events.
The oracle is :func:`stsdetect.detect` over all the data with the same detections. Detections
are added at window edges (exactly on them and a minute either side), beside AIS vessels and
with no AIS near.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_windows import assert_same_events, split_files

from stsdetect import pipeline
from stsdetect.detectors.dark_vessels import positions_at
from stsdetect.imagery import read_detections
from stsdetect.scale import detect_windowed
from stsdetect.simulate import imagery_detections, simulate
from stsdetect.tracks import build_tracks

_MATCH = ["detection_id", "scene_id", "time", "mmsi", "match_distance_m", "n_candidates",
          "matched"]


def _edge_detections(positions, hours=(6, 24, 27), seed=0):
    """At each edge hour (and a minute either side): every AIS vessel that can be placed,
    40 m off its track, and two hulls with no AIS beside the first two of them."""
    rng = np.random.default_rng(seed)
    tracks = build_tracks(positions)
    day0 = positions["time"].min().floor("D")
    rows = []
    for h in hours:  # a handful of edges
        for dm in (-1, 0, 1):
            t = day0 + pd.Timedelta(hours=h, minutes=dm)
            seg = np.arange(tracks.n_segments)
            lat, lon = positions_at(tracks, seg, np.full(seg.size, t.value / 1e9))
            ok = np.flatnonzero(np.isfinite(lat))
            scene = f"EDGE_{h:02d}_{dm + 1}"
            for i, j in enumerate(ok.tolist()):  # per placed vessel (tens)
                d = rng.normal(0, 40 / 111_000, 2)
                rows.append((t, lat[j] + d[0], lon[j] + d[1], scene))
                if i < 2:
                    rows.append((t, lat[j] + 0.003, lon[j], scene))  # ~330 m away, no AIS
    return pd.DataFrame(rows, columns=["time", "lat", "lon", "scene_id"])


@pytest.fixture(scope="module")
def imaged():
    sc = imagery_detections(simulate(seed=1), seed=1)
    extra = _edge_detections(sc.positions)
    dets = read_detections(pd.concat([sc.detections[["time", "lat", "lon", "scene_id",
                                                     "detection_id", "length_m"]], extra],
                                     ignore_index=True))
    want = pipeline.detect(sc.positions, detections=dets)
    return sc, dets, want


def test_the_scenario_exercises_edges(imaged):
    _, _, want = imaged
    m = want.detections
    edge = m["scene_id"].str.startswith("EDGE_")
    assert m.loc[edge, "matched"].sum() >= 20 and (~m.loc[edge, "matched"]).sum() >= 6
    ev = want.events
    marked = ev[ev["flags"].map(lambda f: "unseen_partner" in f)]
    assert len(marked) >= 2 and (ev["event_type"] == "dark_vessel").sum() >= 6
    # marked events crossing the edges of 3 h windows
    k0 = marked["start"].astype("int64") // (3 * 3600 * 10**9)
    k1 = marked["end"].astype("int64") // (3 * 3600 * 10**9)
    assert (k0 != k1).any()


@pytest.mark.parametrize("window,cuts,held", [("1d", [24], False), ("3h", [7, 30], False),
                                              ("3h", [7, 30], True), ("6h", [], True)])
def test_windowed_detections_equal_single_run(imaged, window, cuts, held, tmp_path):
    """The detections and side tables in files (a workdir given) or held in memory."""
    sc, dets, want = imaged
    got = detect_windowed(split_files(sc.positions, cuts), window=window,
                          workdir=None if held else tmp_path / "w", detections=dets)
    assert got.report["spill"] == ("memory" if held else "disk")
    assert_same_events(got.events, want.events)
    pd.testing.assert_frame_equal(got.detections[_MATCH], want.detections[_MATCH],
                                  check_exact=False, rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("held", [False, True])
def test_windowed_detections_with_parameters_and_far_away(imaged, held, tmp_path):
    sc, dets, _ = imaged
    far = read_detections(pd.DataFrame({  # an image a week later, nowhere near any AIS
        "time": [sc.positions["time"].max() + pd.Timedelta("7D")] * 2, "lat": [10.0, 10.1],
        "lon": [150.0, 150.0], "scene_id": ["LATE", "LATE"]}))
    both = pd.concat([dets, far], ignore_index=True)
    kw = {"match_distance_m": 300.0, "unseen_partner_distance_m": 800.0,
          "match_max_gap": "30min"}
    want = pipeline.detect(sc.positions, detections=both, **kw)
    got = detect_windowed([sc.positions], window="4h", detections=both,
                          workdir=None if held else tmp_path / "w", **kw)
    assert_same_events(got.events, want.events)
    late = got.detections[got.detections["scene_id"] == "LATE"]
    assert len(late) == 2 and not late["matched"].any()
    with pytest.raises(ValueError, match="need detections"):
        detect_windowed([sc.positions], workdir=tmp_path / "x", match_distance_m=300.0)


def test_dask_detections_equal_single_run(imaged, tmp_path):
    distributed = pytest.importorskip("distributed")
    import stsdetect.dask as sd

    sc, dets, want = imaged
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        got = sd.detect(split_files(sc.positions, [24]), client=client, window="3h",
                        workdir=tmp_path / "d", detections=dets)
    assert_same_events(got.events, want.events)
    assert got.detections["matched"].tolist() == want.detections["matched"].tolist()


def test_cli_workers_with_detections(tmp_path):
    pytest.importorskip("distributed")
    from stsdetect.cli import EXIT_OK, main
    from stsdetect.events import read_events

    sc = imagery_detections(simulate(seed=1), seed=1)
    paths = sc.write(tmp_path)
    det = tmp_path / "det.csv"
    sc.detections[["time", "lat", "lon", "scene_id", "detection_id"]].to_csv(det, index=False)
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    assert main(["detect", str(paths["nmea"]), "--detections", str(det), "-o", str(one),
                 "-q"]) == EXIT_OK
    assert main(["detect", str(paths["nmea"]), "--detections", str(det), "--workers", "1",
                 "--window", "6h", "-o", str(many), "-q"]) == EXIT_OK
    a, b = read_events(one), read_events(many)
    ma = pd.read_csv(tmp_path / "one.detections.csv")
    mb = pd.read_csv(tmp_path / "many.detections.csv")
    pd.testing.assert_frame_equal(ma, mb)
    assert (b["event_type"] == "dark_vessel").sum() == (a["event_type"] == "dark_vessel").sum() > 0
    assert sorted(b.loc[b["flags"].map(lambda f: "unseen_partner" in f), "event_id"]) == \
        sorted(a.loc[a["flags"].map(lambda f: "unseen_partner" in f), "event_id"])
