"""Benchmark: what the context stage adds to ``detect`` on 10k vessels x 24 h with crowds.

Run ``python benchmarks/bench_context.py`` (``--vessels 2000`` for a quick run, ``--rounds 3``
for more rounds). It times, interleaved round by round on the same positions table,
``stsdetect.detect(positions, context=False)`` and ``stsdetect.detect(positions)`` (the context
stage: stops, anchorages, context columns and tokens), and the context stage's three calls
alone, and prints the best of the rounds and the added share (goal: at most 30 %).

Synthetic traffic (a crowded coast): 10k vessels over 24 h, one report every 4-6 minutes
(2.9M reports); 60 % under way at 5-15 kn on wandering headings over a 20 x 20 degree box;
30 % at anchor in 20 anchorages of 150 ships each within 1.5 km (status 1, swinging 25 m);
10 % moored in 20 berth rows of 50 ships 150 m apart (status 5). The crowds give tens of
thousands of anchorage and berth pairs, the case the context stage exists for.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from stsdetect.geo import EARTH_RADIUS_M, KNOT_M_S

T0_S = 1_709_251_200.0  # 2024-03-01T00:00Z


def crowded_positions(n_vessels: int = 10_000, hours: float = 24.0, seed: int = 0):
    """A positions table of a crowded coast (see the module notes)."""
    rng = np.random.default_rng(seed)
    n_rep = int(hours * 3600 / 300)
    n_anch = int(0.3 * n_vessels)
    n_berth = int(0.1 * n_vessels)
    n_move = n_vessels - n_anch - n_berth
    side = 20.0
    # under way
    lat0 = rng.uniform(20, 20 + side, n_move)
    lon0 = rng.uniform(115, 115 + side, n_move)
    speed = rng.uniform(5, 15, n_move)
    dt = rng.uniform(240, 360, (n_vessels, n_rep))
    t = T0_S + np.cumsum(dt, axis=1) - dt[:, :1]
    heading = np.radians(rng.uniform(0, 360, n_move))[:, None] + np.cumsum(
        rng.normal(0, 0.05, (n_move, n_rep)), axis=1)
    step = speed[:, None] * KNOT_M_S * dt[:n_move]
    north = np.cumsum(step * np.cos(heading), axis=1)
    east = np.cumsum(step * np.sin(heading), axis=1)
    lat_m = lat0[:, None] + np.degrees(north / EARTH_RADIUS_M)
    lon_m = lon0[:, None] + np.degrees(east / EARTH_RADIUS_M / np.cos(np.radians(lat0))[:, None])
    sog_m = np.broadcast_to(speed[:, None], (n_move, n_rep)) + rng.normal(0, 0.2, (n_move, n_rep))
    # at anchor: 20 anchorages
    k = rng.integers(0, 20, n_anch)
    c_lat = rng.uniform(22, 38, 20)
    c_lon = rng.uniform(117, 133, 20)
    r = 1500.0 * np.sqrt(rng.uniform(0, 1, n_anch))
    a = rng.uniform(0, 2 * np.pi, n_anch)
    alat = c_lat[k] + np.degrees(r * np.cos(a) / EARTH_RADIUS_M)
    alon = c_lon[k] + np.degrees(r * np.sin(a) / EARTH_RADIUS_M / np.cos(np.radians(c_lat[k])))
    swing = np.linspace(0, 4 * np.pi, n_rep)[None, :] + rng.uniform(0, 6.3, n_anch)[:, None]
    lat_a = alat[:, None] + np.degrees(25 * np.cos(swing) / EARTH_RADIUS_M)
    lon_a = alon[:, None] + np.degrees(25 * np.sin(swing) / EARTH_RADIUS_M / 0.85)
    # moored: 20 berth rows
    j = np.arange(n_berth)
    row = j % 20
    b_lat = rng.uniform(22, 38, 20)[row]
    b_lon = rng.uniform(117, 133, 20)[row] + np.degrees(150.0 * (j // 20) / EARTH_RADIUS_M / 0.85)
    lat_b = np.broadcast_to(b_lat[:, None], (n_berth, n_rep))
    lon_b = np.broadcast_to(b_lon[:, None], (n_berth, n_rep))
    lat = np.vstack((lat_m, lat_a, lat_b))
    lon = np.vstack((lon_m, lon_a, lon_b))
    sog = np.vstack((np.maximum(sog_m, 0), np.abs(rng.normal(0, 0.15, (n_anch, n_rep))),
                     np.zeros((n_berth, n_rep))))
    status = np.repeat(np.concatenate((np.zeros(n_move), np.ones(n_anch), np.full(n_berth, 5))),
                       n_rep)
    mmsi = np.repeat(412_000_000 + np.arange(n_vessels), n_rep)
    times = t.ravel()
    order = np.argsort(times, kind="stable")  # as a receiver logs them
    return pd.DataFrame({
        "mmsi": mmsi[order], "time": pd.to_datetime((times[order] * 1e9).astype(np.int64),
                                                    utc=True),
        "lat": lat.ravel()[order], "lon": lon.ravel()[order], "sog_kn": sog.ravel()[order],
        "cog_deg": np.full(mmsi.size, np.nan), "heading_deg": np.full(mmsi.size, np.nan),
        "nav_status": status[order], "msg_type": np.ones(mmsi.size, np.int8)})


def main(argv=None) -> None:
    from stsdetect.context import add_context, find_anchorages, find_stops
    from stsdetect.pipeline import detect

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vessels", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    positions = crowded_positions(args.vessels)
    print(f"{len(positions):,} reports of {args.vessels:,} vessels over 24 h")
    times = {"detect, context off": [], "detect, context on": [], "context stage alone": []}
    result = None
    for _ in range(args.rounds):  # interleaved: both variants see the same machine load
        t = time.perf_counter()
        detect(positions, regions=[], context=False)
        times["detect, context off"].append(time.perf_counter() - t)
        t = time.perf_counter()
        result = detect(positions, regions=[])
        times["detect, context on"].append(time.perf_counter() - t)
        from stsdetect.events import EVENT_COLUMNS

        events = result.events[list(EVENT_COLUMNS)]
        t = time.perf_counter()
        stops = find_stops(result.tracks)
        areas = find_anchorages(result.tracks, positions=positions, stops=stops)
        add_context(events, tracks=result.tracks, anchorages=areas, positions=positions,
                    stops=stops)
        times["context stage alone"].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    for k, v in times.items():
        print(f"{k:22s} best {min(v):6.2f} s   all: " + ", ".join(f"{x:.2f}" for x in v))
    ev = result.events
    n_ord = ev["flags"].map(lambda f: "anchorage" in f or "port" in f).sum()  # per event
    print(f"{len(ev):,} events, {n_ord:,} flagged anchorage/port; "
          f"{len(result.anchorages)} areas learned")
    added = best["detect, context on"] / best["detect, context off"] - 1
    alone = best["context stage alone"] / best["detect, context off"]
    print(f"context adds {100 * added:.0f} % to detect (best against best; goal <= 30 %); "
          f"the stage alone is {100 * alone:.0f} % of detect without it")


if __name__ == "__main__":
    main()
