"""Throughput and peak memory: in memory vs out-of-core windows vs Dask (1, 2 workers).

Usage::

    python benchmarks/bench_dask.py [--days 14] [--background 200] [--interval 60]
                                    [--anchor-pairs 20] [--files DIR | --keep DIR]
                                    [--cold-workers]

Simulates ``--days`` of traffic with :func:`stsdetect.simulate.simulate` (``--background``
transiting vessels plus the injected transfers, dark periods and decoys) and adds
``--anchor-pairs`` pairs of ships lying at anchor 300 m apart for the whole span (a
rendezvous each that crosses every window edge: the case that once made the windowed and
Dask runs re-read and re-run their data window after window), writes one Parquet positions
file per UTC day (as daily dumps would be), and runs detection four ways, each in a fresh
process so that peak memory (``ru_maxrss``) is its own:

* ``single``: everything in memory at once (:func:`stsdetect.detect` on all positions, with
  every stage the windowed drivers run, reception coverage included);
* ``windowed``: :func:`stsdetect.scale.detect_windowed`, one-day windows (its spill held in
  memory: it fits the default budget); ``windowed-disk`` (not run unless named in
  ``--modes``): the same with its spill written to files (``spill_memory_bytes=0``), as a
  run too large for the budget does;
* ``dask-N``: :func:`stsdetect.dask.detect` on :func:`stsdetect.dask.local_cluster` (what
  ``--workers N`` starts: N single-threaded worker processes; cluster start-up and what each
  worker pays once in its life -- importing stsdetect, numba's initialisation -- excluded,
  as on a long-lived cluster (``--cold-workers``: imports only); peak memory is the largest
  worker's).

Prints a table: rows, seconds, rows per second, peak RSS (MB), events, and whether the events
equal the single-process run; and, first, how much faster two processes run a fixed NumPy task
than one on this machine right now, so that a shared or throttled machine is recognised
before its two-worker figure is read as Dask's. Peak memory is each process's ``VmHWM`` (Linux).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import resource
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty as queue_empty

import numpy as np
import pandas as pd


def anchor_pairs(like: pd.DataFrame, pairs: int, seed: int) -> pd.DataFrame:
    """``pairs`` pairs of ships at anchor 300 m apart, reporting every 3 min throughout.

    Class A ships at anchor report every 3 minutes (ITU-R M.1371-5, Table 1). The pairs lie
    2 km from each other, off the Ningbo-Zhoushan anchorages (30.0 N, 122.3 E).
    """
    rng = np.random.default_rng(seed + 1)
    t0 = like["time"].min().floor("D").value // 10**9
    t1 = like["time"].max().value // 10**9
    parts = []
    for i in range(pairs):  # a few dozen pairs
        lat0 = 30.0 + 0.018 * (i % 10)
        lon0 = 122.3 + 0.021 * (i // 10)
        for j, north_m in enumerate((0.0, 300.0)):
            t = np.arange(t0 + rng.uniform(0, 180), t1, 180.0)
            n = t.size
            parts.append(pd.DataFrame({
                "mmsi": np.full(n, 413900000 + 2 * i + j, np.int64),
                "time": pd.to_datetime(np.round(t).astype("int64") * 10**9, utc=True),
                "lat": lat0 + north_m / 111_200.0 + rng.normal(0, 5e-5, n),
                "lon": lon0 + rng.normal(0, 5e-5, n),
                "sog_kn": np.abs(rng.normal(0.1, 0.05, n)).round(1),
                "cog_deg": np.full(n, np.nan), "heading_deg": np.full(n, np.nan),
                "nav_status": np.full(n, 1, np.int8), "msg_type": np.ones(n, np.int8)}))
    return pd.concat(parts, ignore_index=True)[list(like.columns)] if parts else like.iloc[:0]


def make_files(folder: Path, days: int, background: int, interval_s: float, seed: int,
               pairs: int = 20):
    from stsdetect.simulate import simulate

    sc = simulate(seed=seed, duration=f"{days}d", n_background=background,
                  min_interval_s=interval_s, n_transfers=min(16, 2 * days),
                  n_dark_rendezvous=min(8, days))
    pos = pd.concat([sc.positions, anchor_pairs(sc.positions, pairs, seed)], ignore_index=True)
    pos = pos.sort_values("time", kind="stable").reset_index(drop=True)
    day = pos["time"].dt.floor("D")
    files = []
    for i, d in enumerate(sorted(day.unique())):  # one file per UTC day
        path = folder / f"day{i:03d}.parquet"
        pos.loc[day == d].to_parquet(path)
        files.append(path)
    return files, len(pos)


def _single(files):
    import stsdetect

    pos = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    # The same stages in every mode: every detector, reception coverage, the context stage and
    # the flags (the windowed drivers compute coverage too since #18).
    return stsdetect.detect(pos).events


def _warm(compiled=True):
    """What a worker pays once in its life, like cluster start-up: import every stage and,
    with ``compiled``, numba's initialisation and the loading of a compiled function
    (:func:`stsdetect.scale.engine.warm_client`; ~0.3 CPU s per process, paid by the first
    window task of a fresh worker). A long-lived cluster pays both once, not per run."""
    import importlib

    for name in ("stsdetect.ais", "stsdetect.tracks", "stsdetect.detectors.rendezvous",
                 "stsdetect.detectors.dark", "stsdetect.detectors.loitering", "stsdetect.flags",
                 "stsdetect.identity", "stsdetect.regions", "stsdetect.scale.windows",
                 # what the window and finish tasks import (the modules only: nothing runs)
                 "stsdetect.scale.carry", "stsdetect.scale.status", "stsdetect.context",
                 "stsdetect.context.stops", "stsdetect.identity.activity",
                 "stsdetect.detectors.coverage", "stsdetect.detectors._grid",
                 "stsdetect.detectors.tows", "pyarrow.dataset", "pyarrow.parquet",
                 "pyarrow.feather", "scipy.spatial"):
        importlib.import_module(name)
    if compiled:
        from stsdetect.scale.engine import warm_client

        warm_client()
    return True


def _worker_peak_mb():
    """Peak resident memory of this process in MB (VmHWM: reset by exec, unlike ru_maxrss)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _phases(report) -> str:
    wall = "/".join(f"{report[k]:.1f}" for k in ("decode_s", "windows_s", "finish_s"))
    cpu = "/".join(f"{report[k]:.1f}" for k in ("decode_cpu_s", "windows_cpu_s",
                                                  "finish_cpu_s"))
    return f"{wall} ({cpu})"


def _run_mode(mode, files, cold_workers, queue):
    t0, c0 = time.perf_counter(), time.process_time()
    phases = "-"
    if mode == "single":
        events = _single(files)
        peak = _worker_peak_mb()
    elif mode in ("windowed", "windowed-disk"):
        from stsdetect.scale import detect_windowed

        res = detect_windowed(files, spill_memory_bytes=0 if mode == "windowed-disk" else None)
        events, phases = res.events, _phases(res.report)
        peak = _worker_peak_mb()
    else:
        from distributed import Client

        import stsdetect.dask as sd

        n = int(mode.split("-")[1])
        # the cluster ``stsdetect detect --workers N`` starts
        with sd.local_cluster(n) as cluster, Client(cluster) as client:
            client.wait_for_workers(n)
            client.run(_warm, compiled=not cold_workers)
            w0 = sum(client.run(time.process_time).values())
            t0, c0 = time.perf_counter(), time.process_time()
            res = sd.detect(files, client=client)
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - c0 + sum(client.run(time.process_time).values()) - w0
            peak = max(client.run(_worker_peak_mb).values())
            queue.put((elapsed, cpu, peak, res.events, _phases(res.report)))
            return
    queue.put((time.perf_counter() - t0, time.process_time() - c0, peak, events, phases))


def _make_files(queue, *args):
    queue.put(make_files(*args))


def _in_child(target, *args):
    """Run ``target(queue, *args)`` in a fresh process, so its memory is its own."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue) if target is _run_mode
                       else (queue, *args))
    proc.start()
    # A child that dies (an import error, a crash) never puts a result: wait for either,
    # so a failed mode is an error here, not a benchmark that holds its lock forever.
    while True:
        try:
            out = queue.get(timeout=1.0)
            break
        except queue_empty:
            if not proc.is_alive():
                raise RuntimeError(f"{target.__name__}{args[:1]}: the child process exited "
                                   f"with code {proc.exitcode} and no result (see its "
                                   "traceback above)") from None
    proc.join()
    return out


def _spin(_):
    """A fixed CPU-bound NumPy task; returns its wall time."""
    t0 = time.perf_counter()
    x = np.random.default_rng(0).random(1_000_000)
    for _ in range(30):  # fixed work
        x = np.sort(x)
    return time.perf_counter() - t0


def parallel_headroom() -> float:
    """Speed-up two processes get over one on a fixed task here (2.0 on two idle cores)."""
    with mp.get_context("spawn").Pool(2) as pool:
        pool.map(_spin, [0, 0])  # warm up
        t0 = time.perf_counter()
        pool.map(_spin, [0], chunksize=1)
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool.map(_spin, [0, 0], chunksize=1)
        two = time.perf_counter() - t0
    return 2.0 * one / two


def run_mode(mode, files, cold_workers=False):
    return _in_child(_run_mode, mode, files, cold_workers)


def same(a, b) -> bool:
    a = a.sort_values("event_id").reset_index(drop=True)
    b = b.sort_values("event_id").reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    except AssertionError:
        return False
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--anchor-pairs", type=int, default=20,
                    help="pairs at anchor together for the whole span (default 20)")
    ap.add_argument("--background", type=int, default=200)
    ap.add_argument("--interval", type=float, default=60.0,
                    help="floor on the report interval, seconds (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--modes", default="single,windowed,dask-1,dask-2")
    ap.add_argument("--files", default=None,
                    help="folder of daily Parquet files this script made before (kept with "
                         "--keep DIR): skips the simulation")
    ap.add_argument("--keep", default=None,
                    help="write the daily files into this folder (for later --files runs)")
    ap.add_argument("--cold-workers", action="store_true",
                    help="warm the Dask workers by imports only: numba's initialisation "
                         "(~0.3 s per worker) then falls in each worker's first task")
    args = ap.parse_args(argv)
    # a typo must stop here: a mode the child cannot run would leave this process waiting
    unknown = [m for m in args.modes.split(",")
               if m not in ("single", "windowed", "windowed-disk")
               and not re.fullmatch(r"dask-[1-9]\d*", m)]
    if unknown:
        ap.error(f"unknown mode(s) {', '.join(unknown)}: choose from single, windowed, "
                 "windowed-disk, dask-N")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        if args.files:
            import pyarrow.parquet as pq

            files = sorted(Path(args.files).glob("*.parquet"))
            rows = sum(pq.read_metadata(f).num_rows for f in files)
        else:
            folder = Path(args.keep) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            # generated in a child process: this one stays small, so it does not lend its
            # memory high-water mark to the children forked from it
            files, rows = _in_child(_make_files, folder, args.days, args.background,
                                    args.interval, args.seed, args.anchor_pairs)
        print(f"{rows:,} position reports in {len(files)} daily files; "
              f"{mp.cpu_count()} cores; two processes here run {parallel_headroom():.2f}x as "
              "fast as one (2.00 on two idle cores)")
        print("Same stages in every mode: rendezvous, dark periods with reception coverage, "
              "dark rendezvous, loitering, the context "
              "stage, tows and the flags. cpu s: the client's plus the workers'. phases: wall "
              "s of decode+spill / windows / finish (the client's CPU s in each). Dask: cluster "
              "start-up and each worker's one-time imports"
              + ("" if args.cold_workers else " and numba initialisation") + " not timed.")
        print(f"{'mode':<10} {'seconds':>8} {'cpu s':>7} {'rows/s':>10} {'peak MB':>8} "
              f"{'events':>7} {'= single':>8} {'phases':>14}")
        ref = base = one = None
        for mode in args.modes.split(","):  # loop over the few modes
            seconds, cpu, peak, events, phases = run_mode(mode, files, args.cold_workers)
            ref = events if ref is None else ref
            base = seconds if base is None else base
            one = seconds if mode == "dask-1" else one
            ratio = f"{seconds / base:5.2f}x time of {args.modes.split(',')[0]}"
            if mode == "dask-2" and one:
                ratio += f", {one / seconds:4.2f}x as fast as dask-1"
            print(f"{mode:<10} {seconds:8.2f} {cpu:7.1f} {rows / seconds:10,.0f} {peak:8.0f} "
                  f"{len(events):7d} {same(events, ref)!s:>8} {phases:>14}  {ratio}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
