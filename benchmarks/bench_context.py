"""Benchmark: what the context stage adds to ``detect`` on 10k vessels x 24 h.

Run ``python benchmarks/bench_context.py`` (``--vessels 2000`` for a quick run, ``--rounds 5``
for more rounds, ``--scenario crowded`` or ``quiet`` for one of the two). For each scenario it
times, interleaved round by round on the same positions table,
``stsdetect.detect(positions, regions=[], context=False)`` and ``stsdetect.detect(positions,
regions=[])`` (the same other stages, plus the context stage: stops, anchorages, context
columns and tokens), and the context stage's own calls alone. It prints, per variant, the best
CPU time (user + system of this process, ``time.process_time``) and the best wall time of the
rounds, and the share the context stage adds to ``detect`` (goal: at most 30 %), best against
best, in CPU and in wall time.

Synthetic traffic, 10k vessels over 24 h, one report every 4-6 minutes (2.9M reports):

* ``crowded``: 60 % under way at 5-15 kn on wandering headings over a 20 x 20 degree box;
  30 % at anchor in 20 anchorages of 150 ships each within 1.5 km (status 1, swinging 25 m);
  10 % moored in 20 berth rows of 50 ships 150 m apart (status 5). The crowds give tens of
  thousands of anchorage and berth pairs, the case the context stage exists for.
* ``quiet``: 95 % under way, 4 % at anchor in 20 anchorages of 20 ships, 1 % moored in 20
  rows of 5: open sea with a few small anchorages.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from stsdetect.geo import EARTH_RADIUS_M, KNOT_M_S

T0_S = 1_709_251_200.0  # 2024-03-01T00:00Z


SCENARIOS = {"crowded": (0.3, 0.1), "quiet": (0.04, 0.01)}  # shares at anchor, moored


def crowded_positions(n_vessels: int = 10_000, hours: float = 24.0, seed: int = 0,
                      anchored: float = 0.3, moored: float = 0.1):
    """A positions table of a coast with ``anchored``/``moored`` shares (module notes)."""
    rng = np.random.default_rng(seed)
    n_rep = int(hours * 3600 / 300)
    n_anch = int(anchored * n_vessels)
    n_berth = int(moored * n_vessels)
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


def _timed(func):
    """(result, wall s, CPU s) of one call."""
    w, c = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - w, time.process_time() - c


def run_scenario(name: str, n_vessels: int, rounds: int) -> dict:
    """Time detect with and without the context stage, and the stage alone; print the rows."""
    from stsdetect.context import add_context, find_anchorages, find_stops
    from stsdetect.events import EVENT_COLUMNS
    from stsdetect.flags import Evidence
    from stsdetect.pipeline import detect

    anchored, moored = SCENARIOS[name]
    positions = crowded_positions(n_vessels, anchored=anchored, moored=moored)
    detect(positions.iloc[:5000], regions=[])  # compile and import everything once
    times = {"detect, context off": [], "detect, context on": [], "context stage alone": []}
    result = None
    for _ in range(rounds):  # interleaved: both variants see the same machine load
        _, w, c = _timed(lambda: detect(positions, regions=[], context=False))
        times["detect, context off"].append((c, w))
        result, w, c = _timed(lambda: detect(positions, regions=[]))
        times["detect, context on"].append((c, w))
        events = result.events[list(EVENT_COLUMNS)]

        def stage(events=events, tracks=result.tracks):  # what detect() runs for context
            stops = find_stops(tracks)
            areas = find_anchorages(tracks, positions=positions, stops=stops)
            add_context(events, tracks=tracks, anchorages=areas, positions=positions,
                        stops=stops, evidence=Evidence(events))

        _, w, c = _timed(stage)
        times["context stage alone"].append((c, w))
    ev = result.events
    n_ord = int(ev["flags"].map(lambda f: "anchorage" in f or "port" in f).sum())  # per event
    print(f"\n[{name}] {len(positions):,} reports of {n_vessels:,} vessels over 24 h: "
          f"{len(ev):,} events, {n_ord:,} flagged anchorage/port, "
          f"{len(result.anchorages)} areas learned; best of {rounds} rounds")
    best = {}
    for k, v in times.items():
        best[k] = (min(c for c, _ in v), min(w for _, w in v))
        print(f"  {k:22s} CPU {best[k][0]:6.2f} s  wall {best[k][1]:6.2f} s   all CPU/wall: "
              + ", ".join(f"{c:.2f}/{w:.2f}" for c, w in v))
    off, on = best["detect, context off"], best["detect, context on"]
    added = [100 * (on[i] / off[i] - 1) for i in (0, 1)]
    alone = [100 * best["context stage alone"][i] / off[i] for i in (0, 1)]
    print(f"  [{name}] context adds {added[0]:.0f} % CPU, {added[1]:.0f} % wall to detect "
          f"(goal <= 30 %); the stage alone is {alone[0]:.0f} % CPU, {alone[1]:.0f} % wall")
    return {"added_cpu_pct": added[0], "added_wall_pct": added[1]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vessels", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenario", choices=[*SCENARIOS, "both"], default="both")
    args = ap.parse_args(argv)
    names = list(SCENARIOS) if args.scenario == "both" else [args.scenario]
    for name in names:
        run_scenario(name, args.vessels, args.rounds)


if __name__ == "__main__":
    main()
