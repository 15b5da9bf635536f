"""Time of the HTML report with 50 event figures (a map and a timeline each), and of the
whole ``stsdetect report`` command.

Run ``python benchmarks/bench_report.py [--reports 1_000_000] [--vessels 500] [--figures 50]
[--repeat 3]`` (on a shared machine under ``flock /tmp/bench.lock``). The tracks are synthetic
(:func:`bench_dark.synthetic_tracks`) and the events rendezvous between random pairs
(:func:`bench_plot.synthetic_events`). Rows:

* ``write_html_report``, without figures and with ``--figures`` event sections, in this
  process (tracks already in memory);
* ``stsdetect report`` as a user runs it, in a fresh interpreter: imports, reading the events
  file and a positions table (Parquet, as ``stsdetect decode`` writes), cleaning the tracks,
  and the report with ``--max-figures``.

Each row prints the best wall and CPU time (user + system) of ``--repeat`` runs, every run
(wall/CPU: a run slowed by other work on a shared machine shows wall well above CPU), event
sections with figures per second of CPU, and the size written. Goal (issue 17): 50 event
figures in at most 10 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dark import synthetic_tracks
from bench_plot import synthetic_events

from stsdetect.events import write_events
from stsdetect.report import write_html_report


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _row(name: str, runs: list[float], cpu: list[float], figures: int, size: int) -> None:
    rate = f"{figures / min(cpu):5.1f} figures/s CPU" if figures else " " * 20
    print(f"{name:>34s}: best {min(runs):6.2f} s wall, {min(cpu):6.2f} s CPU, {rate};  runs "
          + " ".join(f"{r:.2f}/{c:.2f}" for r, c in zip(runs, cpu, strict=True))
          + f" (wall/CPU)   {size / 1e6:.1f} MB", flush=True)


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
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    out = work / "report.html"
    print(f"{len(tracks):,} reports, {len(events)} events, {args.figures} event sections "
          "with a map and a timeline each")
    for name, kwargs in (("write_html_report, no figures", {"max_figures": 0}),
                         (f"write_html_report, {args.figures} figures",
                          {"max_figures": args.figures})):
        runs, cpu = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            write_html_report(events, out, tracks=tracks, regions=True,
                              max_events=args.figures, **kwargs)
            runs.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        _row(name, runs, cpu, kwargs["max_figures"], out.stat().st_size)

    # The command as a user runs it, in a fresh interpreter.
    events_path = write_events(events, work / "events.csv")
    positions = work / "positions.parquet"
    tracks.to_dataframe().drop(columns="segment").to_parquet(positions)
    command = [sys.executable, "-m", "stsdetect", "report", str(events_path), "--tracks",
               str(positions), "-o", str(out), "--max-events", str(args.figures),
               "--max-figures", str(args.figures)]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    runs, cpu = [], []
    for _ in range(args.repeat):
        t, c = time.perf_counter(), _children_cpu_s()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t)
        cpu.append(_children_cpu_s() - c)
    _row(f"stsdetect report, {args.figures} figures", runs, cpu, args.figures,
         out.stat().st_size)
    print(f"goal: {args.figures} figures <= 10 s")


if __name__ == "__main__":
    main()
