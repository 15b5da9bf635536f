"""Benchmark: build_tracks + find_rendezvous on synthetic traffic, 1k / 10k / 100k vessels x 24 h.

Run ``python benchmarks/bench_rendezvous.py`` (add ``--sizes 1000 10000`` to skip the largest, or
``--no-brute`` to skip the brute-force comparison). Prints, per size: rows, wall time of
``build_tracks`` and of ``find_rendezvous`` (best of two runs below 100k vessels), peak traced
memory of each (tracemalloc, NumPy arrays included, measured in a separate run), events found,
and the growth factor of the total time from the previous size (10x the vessels: ~10 is
linear, ~100 quadratic). Then the brute-force O(N^2) pair search at 10k vessels on a sample of
grid times, extrapolated to the whole day, against the k-d tree search on the same grid.

Synthetic traffic: vessels spread at constant density (the area grows with the number of
vessels) in a box that straddles the antimeridian, each reporting every 4-6 minutes for 24 h;
70 % underway at 5-15 kn on a wandering heading, 30 % nearly still; 1 % of vessels are planted
in pairs side by side 100-300 m apart at 0.5 kn for the whole day (true rendezvous; the table
counts how many are found -- other events are chance meetings of two still vessels). Rows come
in time order, as a receiver logs them, so build_tracks has the real sorting work to do.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from stsdetect.detectors._grid import close_pairs, resample_tracks
from stsdetect.detectors.rendezvous import find_rendezvous
from stsdetect.geo import EARTH_RADIUS_M, KNOT_M_S, haversine_m
from stsdetect.tracks import build_tracks

T0_S = 1_709_251_200.0  # 2024-03-01T00:00Z


def synthetic_positions(n_vessels: int, hours: float = 24.0, seed: int = 0) -> pd.DataFrame:
    """A positions table of ``n_vessels`` random vessels over ``hours`` (see module doc)."""
    rng = np.random.default_rng(seed)
    n_rep = int(hours * 3600 / 300)  # one report every ~5 minutes on average
    side_deg = 20.0 * np.sqrt(n_vessels / 10_000)
    lat0 = rng.uniform(-side_deg / 2, side_deg / 2, n_vessels).clip(-70, 70)
    lon0 = 180.0 + rng.uniform(-side_deg / 2, side_deg / 2, n_vessels)
    still = rng.random(n_vessels) < 0.3
    speed = np.where(still, rng.uniform(0.0, 0.5, n_vessels), rng.uniform(5, 15, n_vessels))
    # Planted pairs: vessel 2i+1 follows vessel 2i at 100-300 m, both at 0.5 kn.
    n_pairs = n_vessels // 200
    leaders = np.arange(n_pairs) * 2
    speed[leaders] = speed[leaders + 1] = 0.5
    dt = rng.uniform(240, 360, (n_vessels, n_rep))
    t = T0_S + np.cumsum(dt, axis=1) - dt[:, :1]
    heading = np.radians(rng.uniform(0, 360, n_vessels))[:, None] + np.cumsum(
        rng.normal(0, 0.05, (n_vessels, n_rep)), axis=1)
    heading[leaders + 1] = heading[leaders]
    step_m = speed[:, None] * KNOT_M_S * dt
    north = np.cumsum(step_m * np.cos(heading), axis=1)
    east = np.cumsum(step_m * np.sin(heading), axis=1)
    lat = lat0[:, None] + np.degrees(north / EARTH_RADIUS_M)
    lon = lon0[:, None] + np.degrees(east / EARTH_RADIUS_M / np.cos(np.radians(lat0))[:, None])
    # Followers: same times and track as their leader, offset north by 100-300 m.
    offset = rng.uniform(100, 300, n_pairs)
    t[leaders + 1] = t[leaders]
    lat[leaders + 1] = lat[leaders] + np.degrees(offset / EARTH_RADIUS_M)[:, None]
    lon[leaders + 1] = lon[leaders]
    mmsi = 412_000_000 + np.arange(n_vessels)
    mmsi[leaders] = 445_000_000 + np.arange(n_pairs)
    sog = np.repeat(speed, n_rep) + rng.normal(0, 0.1, n_vessels * n_rep)
    by_time = np.argsort(t.ravel(), kind="stable")  # rows in time order, as a receiver logs
    frame = pd.DataFrame({
        "mmsi": np.repeat(mmsi, n_rep).astype(np.int64),
        "time": pd.to_datetime(np.round(t.ravel() * 1e9).astype("int64"), utc=True),
        "lat": lat.ravel(),
        "lon": (lon.ravel() + 180.0) % 360.0 - 180.0,
        "sog_kn": np.abs(sog),
        "cog_deg": np.degrees(heading.ravel()) % 360.0,
    })
    return frame.take(by_time).reset_index(drop=True)


def planted_pairs(n_vessels: int) -> set:
    """The (mmsi, other_mmsi) of the rendezvous planted by :func:`synthetic_positions`."""
    return {(412_000_000 + 2 * i + 1, 445_000_000 + i) for i in range(n_vessels // 200)}


def brute_force_pairs_per_bin(lat, lon, mmsi, max_distance_m):
    """All pairs within the distance at one grid time, O(N^2) in blocks of rows."""
    n = lat.size
    count = 0
    block = 1024
    for lo in range(0, n, block):
        d = haversine_m(lat[lo:lo + block, None], lon[lo:lo + block, None], lat[None, :],
                        lon[None, :])
        rows = np.arange(lo, min(lo + block, n))[:, None]
        close = (d <= max_distance_m) & (np.arange(n)[None, :] > rows)
        close &= mmsi[lo:lo + block, None] != mmsi[None, :]
        count += int(close.sum())
    return count


def measure(n_vessels: int):
    """Wall time per stage (best of ``repeat`` untraced runs), then peak traced memory."""
    pos = synthetic_positions(n_vessels)
    times_bt, times_fr = [], []
    for _ in range(2 if n_vessels <= 10_000 else 1):
        t_a = time.perf_counter()
        tracks = build_tracks(pos)
        t_b = time.perf_counter()
        events = find_rendezvous(tracks)
        t_c = time.perf_counter()
        times_bt.append(t_b - t_a)
        times_fr.append(t_c - t_b)
    # Peak memory in a separate run: tracemalloc (NumPy arrays included) slows what it traces.
    tracemalloc.start()
    build_tracks(pos)
    peak_bt = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    find_rendezvous(tracks)
    peak_fr = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "vessels": n_vessels,
        "rows": len(pos),
        "build_tracks_s": min(times_bt),
        "find_rendezvous_s": min(times_fr),
        "total_s": min(times_bt) + min(times_fr),
        "peak_MB_tracks": peak_bt / 1e6,
        "peak_MB_rendezvous": peak_fr / 1e6,
        "input_MB": pos.memory_usage(deep=True).sum() / 1e6,
        "events": len(events),
        "planted_pairs": n_vessels // 200,
        "planted_found": len(planted_pairs(n_vessels)
                             & set(zip(events["mmsi"], events["other_mmsi"], strict=True))),
    }, tracks


def brute_force_comparison(tracks, n_sample_bins: int = 6):
    step_s = 600.0
    res = resample_tracks(tracks, step_s, 3600.0)
    t0 = time.perf_counter()
    a, _, _ = close_pairs(res, tracks.segment_mmsi, 500.0)
    t_tree = time.perf_counter() - t0
    bins, counts = np.unique(res.grid, return_counts=True)
    sample = bins[np.linspace(0, bins.size - 1, n_sample_bins).astype(int)]
    seg_mmsi = tracks.segment_mmsi[res.segment]
    t0 = time.perf_counter()
    n_pairs_brute = 0
    for k in sample:
        sel = res.grid == k
        n_pairs_brute += brute_force_pairs_per_bin(res.lat_deg[sel], res.lon_deg[sel],
                                                   seg_mmsi[sel], 500.0)
    t_sample = time.perf_counter() - t0
    # Extrapolate by the sum of squared bin sizes (the brute force is quadratic per bin).
    sample_work = float((counts[np.isin(bins, sample)].astype(float) ** 2).sum())
    total_work = float((counts.astype(float) ** 2).sum())
    t_brute = t_sample * total_work / sample_work
    n_pairs_tree_sample = int(np.isin(res.grid[a], sample).sum())
    return {
        "grid_points": res.grid.size,
        "grid_times": bins.size,
        "tree_pair_search_s": t_tree,
        "brute_sample_bins": n_sample_bins,
        "brute_sample_s": t_sample,
        "brute_extrapolated_s": t_brute,
        "speedup": t_brute / t_tree,
        "pairs_agree_on_sample": n_pairs_brute == n_pairs_tree_sample,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--no-brute", action="store_true")
    args = parser.parse_args(argv)
    rows, tracks_10k, prev = [], None, None
    for n in args.sizes:
        row, tracks = measure(n)
        row["growth"] = row["total_s"] / prev if prev else float("nan")
        prev = row["total_s"]
        rows.append(row)
        if n == 10_000:
            tracks_10k = tracks
        print(pd.DataFrame([row]).to_string(index=False, float_format="%.2f"), flush=True)
    print("\nScaling (24 h of traffic; growth = time / time at the previous size):")
    print(pd.DataFrame(rows).to_string(index=False, float_format="%.2f"))
    if not args.no_brute and tracks_10k is not None:
        print("\nPair search at 10k vessels: k-d tree vs brute force O(N^2) per grid time:")
        cmp = brute_force_comparison(tracks_10k)
        print(pd.DataFrame([cmp]).to_string(index=False, float_format="%.2f"))


if __name__ == "__main__":
    main()
