"""Time of the HTML report with 50 event figures (map + timeline each), and of its parts.

Run ``python benchmarks/bench_report.py [--reports 1_000_000] [--vessels 500] [--figures 50]
[--repeat 3]``. The tracks are synthetic (:func:`bench_dark.synthetic_tracks`) and the events
rendezvous between random pairs (:func:`bench_plot.synthetic_events`). Prints the wall time of
each run and its CPU time, so a run slowed by other work on a shared machine shows as such
(wall well above CPU); the figure to quote is the best. Goal (issue 17): 50 event figures
in at most 10 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dark import synthetic_tracks
from bench_plot import synthetic_events

from stsdetect.report import write_html_report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--vessels", type=int, default=500)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--figures", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    tracks = synthetic_tracks(args.reports, args.vessels)
    events = synthetic_events(tracks, args.events)
    out = Path(tempfile.mkdtemp(prefix="bench_report_")) / "report.html"
    print(f"{len(tracks):,} reports, {len(events)} events, {args.figures} event sections "
          "with a map and a timeline each")
    for name, kwargs in (("no figures", {"max_figures": 0}),
                         (f"{args.figures} figures", {"max_figures": args.figures})):
        runs, cpu = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            write_html_report(events, out, tracks=tracks, regions=True,
                              max_events=args.figures, **kwargs)
            runs.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(f"{name:>12s}: best {min(runs):6.2f} s wall, {min(cpu):6.2f} s CPU;  runs "
              + " ".join(f"{r:.2f}/{c:.2f}" for r, c in zip(runs, cpu, strict=True))
              + f" (wall/CPU)   {out.stat().st_size / 1e6:.1f} MB")
    print(f"goal: {args.figures} figures <= 10 s")


if __name__ == "__main__":
    main()
