"""Speed and memory of the maps, timelines and HTML report on synthetic AIS.

Run ``python benchmarks/bench_plot.py [--reports 10_000_000] [--vessels 2000] [--events 200]``.
Prints a table: wall time (best of ``--repeat``), peak memory traced by :mod:`tracemalloc` and
the size of what was written. The figures are rendered to PNG (Agg), as the CLI and the report
do, so the times include matplotlib's rendering, which dominates once the tracks are selected.

The events are ``--events`` rendezvous between random pairs at random times within the data,
so each map has two participants' tracks to find among all reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dark import measure, synthetic_tracks

from stsdetect import plot
from stsdetect.events import make_events
from stsdetect.report import write_html_report


def synthetic_events(tracks, n_events: int, seed: int = 1) -> pd.DataFrame:
    """Rendezvous events of random vessel pairs, 3 h long, where the first vessel was."""
    rng = np.random.default_rng(seed)
    seg = rng.integers(0, tracks.n_segments - 1, n_events)
    row = tracks.offsets[seg] + (rng.random(n_events) * (tracks.offsets[seg + 1]
                                                          - tracks.offsets[seg])).astype(int)
    start = (tracks.time_ns / 1e9)[row]
    return make_events(
        "rendezvous", mmsi=tracks.segment_mmsi[seg],
        other_mmsi=pd.array(tracks.segment_mmsi[seg + 1], dtype="Int64"),
        start=start, end=start + 3 * 3600.0, lat=tracks.lat_deg[row], lon=tracks.lon_deg[row],
        score=rng.random(n_events))


def _png(ax, path: Path) -> Path:
    ax.figure.savefig(path, dpi=110)
    return path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000_000)
    parser.add_argument("--vessels", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    t = time.perf_counter()
    tracks = synthetic_tracks(args.reports, args.vessels)
    events = synthetic_events(tracks, args.events)
    many = synthetic_events(tracks, 10_000, seed=2)
    print(f"{len(tracks):,} reports, {tracks.n_vessels:,} vessels, {len(events)} events "
          f"(generated in {time.perf_counter() - t:.1f} s)")
    p_mmsi, p_t0, p_t1 = plot._participants(events)
    out = Path(tempfile.mkdtemp(prefix="bench_plot_"))
    cases = [
        ("select tracks +-12 h of all events",
         lambda: plot._window_rows(tracks, p_mmsi, p_t0 - 43200, p_t1 + 43200)),
        ("plot_events_map, all events -> PNG",
         lambda: _png(plot.plot_events_map(events, tracks), out / "map.png")),
        ("plot_pair_timeline -> PNG",
         lambda: _png(plot.plot_pair_timeline(tracks, events.iloc[0]), out / "tl.png")),
        ("save_event_maps, 20 events",
         lambda: plot.save_event_maps(events.iloc[:20], tracks, out / "maps")),
        ("write_html_report, 10 sections",
         lambda: write_html_report(events, out / "report.html", tracks=tracks, max_events=10)),
        ("write_html_report, 10k events table",
         lambda: write_html_report(many, out / "table.html", max_events=0)),
    ]
    print(f"{'call':38s} {'best s':>8s} {'peak MB':>8s} {'written':>12s}")
    for name, fn in cases:
        best, peak, result = measure(fn, args.repeat)
        if isinstance(result, Path):
            written = f"{result.stat().st_size / 1e6:.2f} MB"
        elif isinstance(result, list):
            written = f"{len(result)} files"
        else:
            written = f"{int(np.sum(result)):,} rows"
        print(f"{name:38s} {best:8.2f} {peak / 1e6:8.0f} {written:>12s}")
    print(f"peak MB: memory allocated during the call (tracemalloc). Output in {out}.")


if __name__ == "__main__":
    main()
