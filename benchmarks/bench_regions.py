"""Speed and memory of region membership, identity rules and event flagging.

Run ``python benchmarks/bench_regions.py [--points 3_000_000] [--events 100_000]
[--vessels 100_000] [--repeat 3]``. Prints a table: wall time (best of ``--repeat``), rate, and
peak memory traced by :mod:`tracemalloc` (NumPy and pandas buffers; GEOS's own allocations are
not traced, so the process peak RSS is printed too).

Points are uniform over 27-41N, 118-127E (the area the built-in regions cover), so every
region's bounding box holds a fair share of them: a realistic worst case for the per-region
``shapely.intersects_xy`` calls.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dark import measure

from stsdetect.detectors.tows import find_tows
from stsdetect.events import make_events
from stsdetect.flags import flag_events
from stsdetect.identity import classify_barges, identity_anomalies, mmsi_kind
from stsdetect.regions import load_regions, region_mask

T0 = 1_700_000_000.0


def random_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform over 27-41N, 118-127E."""
    rng = np.random.default_rng(seed)
    return rng.uniform(27.0, 41.0, n), rng.uniform(118.0, 127.0, n)


def synthetic_vessels(n: int, seed: int = 0) -> pd.DataFrame:
    """A vessels table: Chinese, DPRK and other MIDs, mixed types, a tenth Class B."""
    rng = np.random.default_rng(seed)
    mids = rng.choice([412, 413, 414, 445, 440, 351, 636, 235], n)
    mmsi = np.unique(mids * 1_000_000 + rng.integers(0, 1_000_000, n))
    n = mmsi.size
    return pd.DataFrame({
        "mmsi": mmsi,
        "imo": pd.array(rng.integers(1_000_000, 9_999_999, n), dtype="Int64"),
        "name": np.char.add("VESSEL ", np.arange(n).astype(str)).astype(object),
        "ship_type": pd.array(rng.choice([0, 30, 52, 70, 80, 99], n), dtype="Int64"),
        "length_m": rng.uniform(10, 300, n),
        "beam_m": rng.uniform(3, 45, n),
        "ais_class": np.where(rng.random(n) < 0.1, "B", "A").astype(object),
        "n_name_changes": rng.poisson(0.05, n),
        "n_type_changes": rng.poisson(0.02, n),
    })


def synthetic_events(n: int, vessels: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Half rendezvous, half dark periods between random vessels of the table."""
    rng = np.random.default_rng(seed)
    ids = vessels["mmsi"].to_numpy()
    lat, lon = random_points(n, seed)
    start = T0 + rng.uniform(0, 30 * 86400, n)
    dur = rng.uniform(3600, 12 * 3600, n)
    half = n // 2
    a, b = rng.choice(ids, half), rng.choice(ids, half)
    rv = make_events("rendezvous", mmsi=np.minimum(a, b),
                     other_mmsi=pd.array(np.maximum(a, b), dtype="Int64"),
                     start=start[:half], end=start[:half] + dur[:half],
                     lat=lat[:half], lon=lon[:half])
    m = n - half
    dk = make_events("dark_period", mmsi=rng.choice(ids, m), start=start[half:],
                     end=start[half:] + dur[half:], lat=lat[half:], lon=lon[half:],
                     end_lat=lat[half:] + 0.01, end_lon=lon[half:] + 0.01)
    return pd.concat([rv, dk], ignore_index=True)


def main(argv=None) -> None:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3_000_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--vessels", type=int, default=100_000)
    parser.add_argument("--reports", type=int, default=1_000_000,
                        help="track reports for the tow check")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    regions = load_regions()
    lat, lon = random_points(args.points)
    vessels = synthetic_vessels(args.vessels)
    events = synthetic_events(args.events, vessels)
    from bench_dark import synthetic_tracks  # sibling benchmark script

    tracks = synthetic_tracks(args.reports, max(args.reports // 5000, 2))
    tugs = np.unique(tracks.mmsi)[::20]  # one vessel in twenty is a tug
    cases = [
        (f"region_mask, 6 built-ins, {args.points:,} points", args.points,
         lambda: region_mask(lat, lon, regions)),
        (f"region_mask, 1 region (china_territorial_sea), {args.points:,} points", args.points,
         lambda: region_mask(lat, lon, load_regions("china_territorial_sea"))),
        (f"mmsi_kind, {args.points:,} MMSIs", args.points,
         lambda: mmsi_kind(np.resize(vessels["mmsi"].to_numpy(), args.points))),
        (f"classify_barges, {len(vessels):,} vessels", len(vessels),
         lambda: classify_barges(vessels)),
        (f"identity_anomalies, {len(vessels):,} vessels", len(vessels),
         lambda: identity_anomalies(vessels)),
        (f"find_tows, {args.reports:,} reports, {tugs.size} tugs", args.reports,
         lambda: find_tows(tracks, tugs)),
        (f"flag_events, {len(events):,} events, {len(vessels):,} vessels", len(events),
         lambda: flag_events(events, vessels=vessels)),
    ]
    print(f"{'case':<62} {'best s':>8} {'items/s':>12} {'peak MiB':>9}")
    for label, n, fn in cases:
        best, peak, _ = measure(fn, args.repeat)
        print(f"{label:<62} {best:8.3f} {n / best:12,.0f} {peak / 2**20:9.1f}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
