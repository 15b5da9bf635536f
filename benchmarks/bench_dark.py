"""Speed and memory of the dark-period and loitering detectors on synthetic AIS.

Run ``python benchmarks/bench_dark.py [--reports 10_000_000] [--vessels 2000]``. Prints a table:
wall time (best of ``--repeat``) and peak memory traced by :mod:`tracemalloc` (NumPy buffers;
the k-d trees' own C++ nodes are not traced, so the process peak RSS is printed too).

Reference point: Global Fishing Watch describe their gap detector processing 10 million
messages in about 3.6 s on a laptop CPU. The gap search alone is ``find_dark_periods`` with the
vessels-heard count switched off (``radius_m=None`` row below); the full call also counts other
vessels heard near every gap, which GFW's gap step does not do.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc

import numpy as np

from stsdetect.detectors.dark import find_dark_periods, find_dark_rendezvous
from stsdetect.detectors.loitering import find_loitering
from stsdetect.tracks import Tracks

T0 = 1_700_000_000.0


def synthetic_tracks(n_reports: int, n_vessels: int, seed: int = 0) -> Tracks:
    """Vessels random-walking in a 6 x 6 degree box off the Yangtze estuary.

    Reports every 10 s to 3 min; about one step in 2000 is a silence of 2 to 30 h; about a
    third of the time a vessel is slow (< 2 kn). Rows are built already sorted by
    (mmsi, time), as :func:`stsdetect.build_tracks` delivers them.
    """
    rng = np.random.default_rng(seed)
    per = np.full(n_vessels, n_reports // n_vessels)
    per[: n_reports - per.sum()] += 1
    mmsi = np.repeat(412_000_000 + np.arange(n_vessels, dtype=np.int64), per)
    step = rng.uniform(10, 180, n_reports)
    silent = rng.random(n_reports) < 1 / 2000
    step[silent] = rng.uniform(2 * 3600, 30 * 3600, int(silent.sum()))
    starts = np.r_[0, np.cumsum(per)[:-1]]
    step[starts] = 0.0
    t = np.cumsum(step)
    t -= np.repeat(t[starts], per)  # each vessel's clock starts at T0 + offset
    t += T0 + np.repeat(rng.uniform(0, 3600, n_vessels), per)
    slow = np.repeat(rng.random(n_reports // 500 + 1) < 0.33, 500)[:n_reports]
    sog = np.where(slow, rng.uniform(0, 1.9, n_reports), rng.uniform(5, 14, n_reports))
    sog[rng.random(n_reports) < 0.05] = np.nan
    drift_deg = np.where(slow, 1e-5, 3e-4)

    def walk(origin):
        w = np.cumsum(rng.normal(0, 1, n_reports) * drift_deg)
        return origin + np.repeat(rng.uniform(0, 6, n_vessels), per) + w - np.repeat(w[starts],
                                                                                      per)

    lat, lon = walk(28.0), walk(120.0)
    offsets = np.r_[starts, n_reports].astype(np.int64)
    segment = np.repeat(np.arange(n_vessels, dtype=np.int64), per)
    return Tracks(mmsi=mmsi, segment=segment, time_ns=np.round(t * 1e9).astype(np.int64),
                  lat_deg=np.clip(lat, -89, 89),
                  lon_deg=(lon + 180) % 360 - 180, sog_kn=sog, cog_deg=np.full(n_reports, np.nan),
                  offsets=offsets, segment_mmsi=mmsi[starts])


def measure(fn, repeat: int):
    """Best wall time of ``repeat`` calls, then peak traced memory of one more call.

    Returns ``(best_s, peak_bytes, result)``.
    """
    best = np.inf
    result = None
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak, result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000_000)
    parser.add_argument("--vessels", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    t = time.perf_counter()
    tracks = synthetic_tracks(args.reports, args.vessels)
    print(f"{len(tracks):,} reports, {tracks.n_vessels:,} vessels, "
          f"{((tracks.time_ns / 1e9).max() - (tracks.time_ns / 1e9).min()) / 86400:.1f} days "
          f"(generated in {time.perf_counter() - t:.1f} s)")
    dark = find_dark_periods(tracks)
    cases = [
        ("find_dark_periods radius_m=None", lambda: find_dark_periods(tracks, radius_m=None)),
        ("find_dark_periods", lambda: find_dark_periods(tracks)),
        ("find_dark_rendezvous", lambda: find_dark_rendezvous(dark)),
        ("find_loitering", lambda: find_loitering(tracks)),
    ]
    print(f"{'call':32s} {'best s':>8s} {'M rep/s':>8s} {'peak MB':>8s} {'events':>8s}")
    for name, fn in cases:
        best, peak, result = measure(fn, args.repeat)
        print(f"{name:32s} {best:8.2f} {len(tracks) / best / 1e6:8.1f} {peak / 1e6:8.0f} "
              f"{len(result):8d}")
    input_mb = sum(getattr(tracks, f).nbytes for f in ("mmsi", "segment", "time_ns", "lat_deg",
                                                        "lon_deg", "sog_kn", "cog_deg")) / 1e6
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak MB: NumPy memory allocated during the call (tracemalloc; k-d tree nodes are "
          f"not traced). Input tracks: {input_mb:.0f} MB; process peak RSS: {rss_mb:.0f} MB.")


if __name__ == "__main__":
    main()
