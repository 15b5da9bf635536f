"""Cost of the reception coverage (issue 18) in memory and in the windowed (out-of-core) driver.

Run ``python benchmarks/bench_coverage.py [--vessels 5000] [--days 3] [--window 1d]
[--repeat 3]``.

A synthetic satellite-like dump: ``--vessels`` vessels sailing straight lines at 0-15 kn in a
10-degree box, reporting every 3 min, heard only during satellite passes (12 min, every 1-12 h)
and then each report with probability 0.5. Dark periods are everywhere (the revisit gaps), so
the coverage model has all of its work to do. Prints, for one in-memory run
(:func:`stsdetect.detect`, dark periods only) and for the windowed driver
(:func:`stsdetect.scale.detect_windowed`), the wall and CPU time with the coverage on and off
(best of ``--repeat``, interleaved), and checks that both modes give the same events.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time

import numpy as np
import pandas as pd

T0 = 1_709_251_200  # 2024-03-01 00:00 UTC


def satellite_dump(n_vessels: int, days: float, seed: int = 0) -> pd.DataFrame:
    """Positions heard by a satellite: passes of 12 min every 1-12 h, half the reports."""
    rng = np.random.default_rng(seed)
    span = int(days * 86400)
    step = 180
    k = np.arange(0, span, step)
    passes = np.cumsum(rng.uniform(3600, 12 * 3600, int(span / 3600) + 2))
    passes = passes[passes < span]
    in_pass = np.zeros(k.size, bool)
    for p in passes:  # a few dozen passes
        in_pass |= (k >= p) & (k < p + 720)
    k = k[in_pass]
    lat0 = rng.uniform(25, 35, n_vessels)
    lon0 = rng.uniform(120, 130, n_vessels)
    sog = rng.uniform(0, 15, n_vessels)
    cog = rng.uniform(0, 2 * np.pi, n_vessels)
    phase = rng.integers(0, step, n_vessels)
    t = phase[:, None] + k[None, :]
    d = sog[:, None] * 0.514444 * t
    lat = lat0[:, None] + np.degrees(d * np.cos(cog)[:, None] / 6_371_008.8)
    lon = lon0[:, None] + np.degrees(d * np.sin(cog)[:, None]
                                     / (6_371_008.8 * np.cos(np.radians(lat0))[:, None]))
    keep = rng.random(t.shape) < 0.5
    mmsi = np.repeat(412_000_000 + np.arange(n_vessels), k.size).reshape(t.shape)
    frame = pd.DataFrame({
        "mmsi": mmsi[keep].astype(np.int64),
        "time": pd.to_datetime((T0 + t[keep]).astype(np.int64) * 10**9, utc=True),
        "lat": lat[keep], "lon": lon[keep],
        "sog_kn": np.repeat(sog[:, None], k.size, axis=1)[keep]})
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def _timed(func):
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    out = func()
    return out, time.perf_counter() - t, time.process_time() - c


def main() -> None:
    from stsdetect import pipeline
    from stsdetect.scale import detect_windowed

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vessels", type=int, default=5000)
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--window", default="1d")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    positions = satellite_dump(args.vessels, args.days)
    print(f"{len(positions):,} reports of {args.vessels:,} vessels over {args.days:g} days "
          "(satellite passes only)")
    best: dict = {}
    events: dict = {}
    for _ in range(args.repeat):  # interleaved, best of N: the machine is shared
        for coverage in (True, False):
            ev, w, c = _timed(lambda cov=coverage: pipeline.detect(
                positions, only="dark", coverage=cov).events)
            events[("memory", coverage)] = ev
            best[("memory", coverage)] = min(best.get(("memory", coverage), (np.inf,)), (w, c))
            with tempfile.TemporaryDirectory() as tmp:
                ev, w, c = _timed(lambda cov=coverage, tmp=tmp: detect_windowed(
                    [positions], window=args.window, workdir=f"{tmp}/w", only=["dark_period"],
                    coverage=cov).events)
            events[("windowed", coverage)] = ev
            best[("windowed", coverage)] = min(best.get(("windowed", coverage), (np.inf,)),
                                               (w, c))
    for (mode, coverage), (w, c) in best.items():
        ev = events[(mode, coverage)]
        dark = ev[ev["event_type"] == "dark_period"]
        print(f"{mode:8s} coverage {'on ' if coverage else 'off'}: {w:6.2f} s wall "
              f"{c:6.2f} s CPU (best of {args.repeat}); {len(dark):,} dark periods, "
              f"{int(dark['likely_intentional'].fillna(False).sum()):,} likely intentional")
    a = events[("memory", True)].sort_values("event_id").reset_index(drop=True)
    b = events[("windowed", True)].sort_values("event_id").reset_index(drop=True)
    cols = ["event_id", "coverage", "likely_intentional"]
    same = a[cols].equals(b[cols]) or (
        list(a["event_id"]) == list(b["event_id"])
        and np.allclose(a["coverage"], b["coverage"], equal_nan=True)
        and (a["likely_intentional"] == b["likely_intentional"]).all())
    print(f"windowed dark periods equal the in-memory ones (coverage, likely_intentional): "
          f"{same}")


if __name__ == "__main__":
    main()
