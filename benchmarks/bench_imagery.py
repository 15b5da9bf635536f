"""Speed of matching imagery detections to AIS tracks (issue 18: 100k detections, 100k vessels).

Run ``python benchmarks/bench_imagery.py [--vessels 100000] [--detections 100000]
[--scenes 400] [--interval 30min] [--repeat 3]``.

A synthetic day: ``--vessels`` vessels sailing straight lines at 0-15 kn from ``--scenes``
2.5-degree boxes between 55 S and 55 N (ships crowd where images are taken: about 390
Sentinel-1 images a day in Paolo et al. 2024), each reporting every ``--interval`` (one report
per 30 min: 4.9M reports for 100k vessels; ``build_tracks`` output layout). One image per box
at a random time sees its vessels at their true positions (plus 50 m noise); 10 % of the
``--detections`` are hulls without AIS. Prints the wall and CPU time
of :func:`stsdetect.detectors.dark_vessels.match_detections` (best of ``--repeat``, interleaved with
the coverage estimate of :mod:`stsdetect.detectors.coverage` on the same tracks) and the
matching precision and recall against the truth.

``--unseen-events N`` times instead the marking of ``N`` events with ``unseen_partner``
(:func:`~stsdetect.detectors.dark_vessels.mark_unseen_partners`: one to three detections
each, half the events with evidence of other flags already) and reading the detections back
(:func:`~stsdetect.detectors.dark_vessels.unseen_partner_points`).
"""

from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np
import pandas as pd

from stsdetect.detectors.coverage import estimate_coverage
from stsdetect.detectors.dark_vessels import (
    mark_unseen_partners,
    match_detections,
    unseen_partner_points,
)
from stsdetect.geo import KNOT_M_S, duration_s
from stsdetect.tracks import Tracks

T0 = 1_700_006_400.0  # an hour boundary
DAY = 86_400.0


def synthetic_day(n_vessels: int, interval_s: float, n_det: int, n_scenes: int, seed: int = 0):
    """Tracks of a day and detections in images of it, with the truth."""
    rng = np.random.default_rng(seed)
    per = int(DAY // interval_s) + 1
    # vessels crowd where the images are: each starts in one of n_scenes 2.5-degree boxes
    box = np.arange(n_vessels) % n_scenes
    box_lat = rng.uniform(-55, 55, n_scenes)
    box_lon = rng.uniform(-178, 178, n_scenes)
    lat0 = box_lat[box] + rng.uniform(-1.25, 1.25, n_vessels)
    lon0 = box_lon[box] + rng.uniform(-1.25, 1.25, n_vessels)
    sog = rng.uniform(0, 15, n_vessels)
    cog = rng.uniform(0, 2 * np.pi, n_vessels)
    phase = rng.uniform(0, interval_s, n_vessels)
    k = np.arange(per)
    t = T0 + phase[:, None] + k[None, :] * interval_s  # (v, per)
    dist = sog[:, None] * KNOT_M_S * (t - T0)
    dlat = np.degrees(dist * np.cos(cog)[:, None] / 6_371_008.8)
    dlon = np.degrees(dist * np.sin(cog)[:, None] / (6_371_008.8
                                                       * np.cos(np.radians(lat0))[:, None]))
    lat = lat0[:, None] + dlat
    lon = (lon0[:, None] + dlon + 180.0) % 360.0 - 180.0
    mmsi = np.repeat(200_000_000 + np.arange(n_vessels, dtype=np.int64), per)
    n = mmsi.size
    offsets = np.arange(0, n + 1, per, dtype=np.int64)
    tracks = Tracks(mmsi=mmsi, segment=np.repeat(np.arange(n_vessels, dtype=np.int64), per),
                    time_ns=np.round(t.ravel() * 1e9).astype(np.int64),
                    lat_deg=lat.ravel(), lon_deg=lon.ravel(),
                    sog_kn=np.repeat(sog, per), cog_deg=np.repeat(np.degrees(cog), per),
                    offsets=offsets, segment_mmsi=mmsi[offsets[:-1]])
    # images: one per box, at a random time; each sees vessels of its box (one detection per
    # vessel, at its true position + 50 m), and 10 % are hulls without AIS in the box
    scene_t = T0 + rng.uniform(interval_s, DAY - interval_s, n_scenes).round()
    v = rng.permutation(n_vessels)[:min(n_det, n_vessels)]
    n_det = v.size
    scene = box[v]
    dark = rng.random(n_det) < 0.10
    ts = scene_t[scene]
    d = sog[v] * KNOT_M_S * (ts - T0)
    det_lat = lat0[v] + np.degrees(d * np.cos(cog[v]) / 6_371_008.8)
    det_lon = lon0[v] + np.degrees(d * np.sin(cog[v]) / (6_371_008.8
                                                          * np.cos(np.radians(lat0[v]))))
    det_lat = np.where(dark, box_lat[scene] + rng.uniform(-1.25, 1.25, n_det), det_lat)
    det_lon = np.where(dark, box_lon[scene] + rng.uniform(-1.25, 1.25, n_det), det_lon)
    det_lat += np.degrees(rng.normal(0, 50, n_det) / 6_371_008.8)
    det_lon = (det_lon + 180.0) % 360.0 - 180.0
    dets = pd.DataFrame({
        "detection_id": np.char.add("d", np.arange(n_det).astype(str)),
        "scene_id": np.char.add("s", scene.astype(str)),
        "time": pd.to_datetime(np.round(ts * 1e9).astype(np.int64), utc=True),
        "lat": det_lat, "lon": det_lon,
        "truth_mmsi": np.where(dark, -1, 200_000_000 + v),
    })
    return tracks, dets


def unseen_partner_inputs(n_events: int, seed: int = 0):
    """Events (half with evidence of other flags) and one to three detections beside each."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("rv-", np.arange(n_events).astype(str)).astype(object)
    mmsi = 412_000_000 + rng.integers(0, 10**6, n_events)
    prior = np.char.add(np.char.add('{"dprk": {"vessel": ', mmsi.astype(str)),
                        ', "flag": "DPRK"}, "rendezvous_long": {"hours": 12.5}}').astype(object)
    has = rng.random(n_events) < 0.5
    events = pd.DataFrame({
        "event_id": ids, "mmsi": mmsi,
        "flags": pd.Series(np.where(has, "dprk;rendezvous_long", ""), dtype=object).str.findall(
            "[^;]+"),
        "evidence": np.where(has, prior, "").astype(object)})
    per = rng.integers(1, 4, n_events)
    owner = np.repeat(np.arange(n_events), per)
    m = owner.size
    partners = pd.DataFrame({
        "event_id": ids[owner],
        "detection_id": np.char.add("S1A_X;", np.arange(m).astype(str)).astype(object),
        "scene_id": np.full(m, "S1A_IW_GRDH_1SDV_20240302T060000", dtype=object),
        "time": pd.to_datetime(np.round((T0 + rng.uniform(0, DAY, m)) * 1e9).astype(np.int64),
                               utc=True),
        "distance_m": rng.uniform(0, 500, m), "mmsi": mmsi[owner],
        "lat": rng.uniform(29, 31, m), "lon": rng.uniform(121, 123, m)})
    return events, partners


def bench_unseen(n_events: int, repeat: int) -> None:
    events, partners = unseen_partner_inputs(n_events)
    best_m = best_r = np.inf
    for _ in range(repeat):  # interleaved, best of N: the machine is shared
        gc.collect()
        t = time.perf_counter()
        marked = mark_unseen_partners(events, partners)
        best_m = min(best_m, time.perf_counter() - t)
        gc.collect()
        t = time.perf_counter()
        points = unseen_partner_points(marked)
        best_r = min(best_r, time.perf_counter() - t)
    print(f"{n_events:,} events, {len(partners):,} detections: mark_unseen_partners "
          f"{best_m * 1e3:.1f} ms, unseen_partner_points {best_r * 1e3:.1f} ms "
          f"({len(points):,} points; best of {repeat})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vessels", type=int, default=100_000)
    ap.add_argument("--detections", type=int, default=100_000)
    ap.add_argument("--scenes", type=int, default=400)
    ap.add_argument("--interval", default="30min")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--unseen-events", type=int, default=0,
                    help="time marking and reading back unseen partners of this many events")
    args = ap.parse_args()
    if args.unseen_events:
        bench_unseen(args.unseen_events, args.repeat)
        return
    t = time.perf_counter()
    tracks, dets = synthetic_day(args.vessels, duration_s(args.interval), args.detections,
                                 args.scenes)
    print(f"built {len(tracks):,} reports of {args.vessels:,} vessels and {len(dets):,} "
          f"detections in {args.scenes} scenes in {time.perf_counter() - t:.1f} s")
    best_m = best_c = (np.inf, np.inf)
    for _ in range(args.repeat):  # interleaved, best of N: the machine is shared
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        m = match_detections(dets, tracks)
        best_m = min(best_m, (time.perf_counter() - t, time.process_time() - c))
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        estimate_coverage(tracks)
        best_c = min(best_c, (time.perf_counter() - t, time.process_time() - c))
    truth = m["truth_mmsi"].to_numpy()
    got = m["mmsi"].fillna(-1).to_numpy(np.int64)
    correct = (got == truth) & (truth > 0)
    print(f"match_detections: {best_m[0]:.2f} s wall, {best_m[1]:.2f} s CPU (best of "
          f"{args.repeat}); "
          f"precision {correct.sum() / max(m['matched'].sum(), 1):.4f}, "
          f"recall {correct.sum() / max((truth > 0).sum(), 1):.4f}, "
          f"unmatched {int((~m['matched']).sum()):,} (of which without AIS "
          f"{int(((~m['matched']) & (truth < 0)).sum()):,})")
    print(f"estimate_coverage on the same tracks: {best_c[0]:.2f} s wall, {best_c[1]:.2f} s CPU "
          f"(best of {args.repeat})")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
