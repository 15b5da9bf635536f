"""Warm in-memory against warm windowed runs, alternated in one process: where the windowed
run's extra time goes, without the one-time imports and numba cache loads of a fresh process.

Usage::

    python benchmarks/bench_windowed_warm.py --files DIR [--rounds 3] [--profile OUT]

``DIR`` holds daily Parquet positions files (``bench_dask.py --keep DIR`` writes them). The
modes (``--modes``, default all three: ``single`` in memory, ``windowed`` with its spill held
in memory, ``windowed-disk`` with its spill in files) run once to warm up, then ``--rounds``
times each, alternated. Each run prints its wall
time, user and system CPU and minor page faults; a windowed run also its phases (decode and
spill / windows / finish, wall s) and, apart, the seconds taken to delete its spill folder.
``--profile OUT`` writes cProfile statistics of one more warm run of each mode to
``OUT.<mode>.prof`` and prints the stages side by side.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

#: The stages compared by ``--profile``: (label, profile key ``file:function``).
STAGES = (
    ("Parquet read", "core.py:read_table"),
    ("spill written", "dataset.py:write_dataset"),
    ("partitions read back", "windows.py:load_positions"),
    ("  held in memory", "windows.py:_held_rows"),
    ("build_tracks", "tracks.py:build_tracks"),
    ("  scatter_rows", "_order.py:scatter_rows"),
    ("  vessel_codes", "_order.py:vessel_codes"),
    ("vessel_activity", "activity.py:vessel_activity"),
    ("spill folder deleted", "shutil.py:rmtree"),
)


def _usage():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def single(files):
    import stsdetect

    pos = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return stsdetect.detect(pos).events


def windowed(files):
    """The windowed run (its spill held in memory, the default when it fits), its report,
    and 0.0 (no spill folder to delete)."""
    from stsdetect.scale import detect_windowed

    res = detect_windowed(files)
    return res.events, res.report, 0.0


def windowed_disk(files):
    """The windowed run with its spill written to files, its report, and the seconds its
    spill folder took to delete."""
    from stsdetect.scale import detect_windowed

    work = tempfile.mkdtemp(prefix="stsdetect-warm-")
    res = detect_windowed(files, workdir=work)
    t0 = time.perf_counter()
    shutil.rmtree(work)
    return res.events, res.report, time.perf_counter() - t0


RUNS = {"single": single, "windowed": windowed, "windowed-disk": windowed_disk}


def _cumulative(path) -> dict:
    out: dict = {}
    for (file, _, name), (_, _, _, cum, _) in pstats.Stats(str(path)).stats.items():
        key = f"{Path(file).name}:{name}"
        out[key] = max(out.get(key, 0.0), cum)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", required=True, type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--modes", default="single,windowed,windowed-disk",
                    help="comma-separated: single, windowed (spill in memory), windowed-disk")
    args = ap.parse_args(argv)
    modes = args.modes.split(",")
    unknown = sorted(set(modes) - set(RUNS))
    if unknown:
        ap.error(f"unknown mode(s) {', '.join(unknown)}: choose from {', '.join(RUNS)}")
    files = sorted(args.files.glob("*.parquet"))
    counts = {m: len(RUNS[m](files)[0] if m != "single" else RUNS[m](files)) for m in modes}
    print(f"{len(files)} files; events: " + ", ".join(f"{m} {n}" for m, n in counts.items()))
    for _ in range(args.rounds):
        for mode in modes:
            u0, s0, f0 = _usage()
            t0 = time.perf_counter()
            out = RUNS[mode](files)
            wall = time.perf_counter() - t0
            u1, s1, f1 = _usage()
            extra = ""
            if mode != "single":
                r, rm = out[1], out[2]
                extra = (f"  phases {r['decode_s']:.2f}/{r['windows_s']:.2f}/"
                         f"{r['finish_s']:.2f}  spill {r['spill']}"
                         + (f", deleted in {rm:.2f}" if r["spill"] == "disk" else ""))
            print(f"{mode:13s} wall {wall:5.2f}  user {u1 - u0:5.2f}  sys {s1 - s0:5.2f}  "
                  f"faults {f1 - f0:>9,}{extra}", flush=True)
    if args.profile:
        paths = {}
        for mode in modes:
            prof = cProfile.Profile()
            prof.runcall(RUNS[mode], files)
            paths[mode] = Path(f"{args.profile}.{mode}.prof")
            prof.dump_stats(paths[mode])
        cum = {m: _cumulative(p) for m, p in paths.items()}
        print(f"{'stage (cumulative s, cProfile)':32s} " + " ".join(f"{m:>13s}" for m in modes))
        for label, key in STAGES:
            print(f"{label:32s} " + " ".join(f"{cum[m].get(key, 0.0):13.2f}" for m in modes))


if __name__ == "__main__":
    main()
