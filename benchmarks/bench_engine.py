"""End to end and per stage: ``stsdetect detect`` on a simulated tag-block dump.

Usage::

    python benchmarks/bench_engine.py e2e [--lines 1250000] [--repeat 3]
    python benchmarks/bench_engine.py stages [--lines 1250000] [--repeat 3]
    python benchmarks/bench_engine.py month [--days 30] [--vessels 1500] [--interval 15]
                                            [--files DIR] [--no-context]

``e2e`` makes (once, cached in ``--cache``) a three-day dump with ``stsdetect simulate``
(NMEA 4.10 tag blocks, about 260 vessels, the report-interval floor chosen for about
``--lines`` lines), then runs ``stsdetect detect DUMP -o events.csv -q`` in a fresh process
``--repeat`` times: wall time and CPU time (user + system) each, imports included, and
reports per second by both; then the decoder alone (``read_ais`` with its imports) as many
times, the floor that decoding sets for the whole command. On a shared machine wall time is
inflated by other processes; CPU time is what the run itself costs.

``stages`` runs the same command in ``--repeat`` fresh processes, each timing every stage
the command runs (CPU and wall): first the imports the command needs (found by a run before),
then ``cli.main`` with the stages wrapped: regions, ``read_ais``, ``build_tracks``, each
registry stage (detectors, anchorages, tows), the context columns, the flags' parts (activity,
barges, identity anomalies and links, regions, evidence, identity columns, score),
``write_events`` and the rest of the command. Rows are exclusive and best of N; each gives its
rate per core (lines per CPU second). These are the figures of ``docs/scaling.md``. Its
``imports`` row leaves out numpy and pandas (this script has loaded them before it starts the
clock) and its ``read_ais`` row holds numba's one-time initialisation; for the whole start-up,
group by group, and the arithmetic of the one-core goal, see ``bench_startup.py``.

Both run stsdetect byte-compiled, as installed (see ``_env``).

``month`` simulates ``--days`` of ``--vessels`` vessels reporting every ``--interval``
seconds (positions written straight to daily Parquet files, no NMEA), and runs
:func:`stsdetect.scale.detect_windowed` on them in a fresh process: wall, CPU and peak
memory (``VmHWM``). With ``--days 1`` it is also the largest simulated day this machine holds
in memory, run through :func:`stsdetect.detect` for comparison (``--in-memory``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import itertools
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _env():
    """The children's environment: this checkout's stsdetect, byte-compiled as an installed
    package is (pip compiles modules at install; ``PYTHONDONTWRITEBYTECODE``, set in some
    development shells, would make every run recompile stsdetect's sources, ~0.15 s)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def make_dump(cache: Path, lines: int) -> Path:
    """A three-day tag-block dump of about ``lines`` lines, made with ``stsdetect simulate``."""
    # 245 transiting vessels (+ the injected and anchored ones: about 265); at the AIS
    # rates (10 s under way) floored at ``floor`` seconds. 12 s gives 1.22M lines, 11 s 1.3M.
    floor = 12 if lines <= 1_230_000 else 11
    folder = cache / f"dump-{lines}"
    dump = folder / "scenario.nmea"
    if not dump.exists():
        subprocess.run([sys.executable, "-m", "stsdetect", "simulate", "-o", str(folder),
                        "--duration", "3d", "--background", "245", "--min-interval",
                        f"{floor}s", "--no-gzip", "-q"], check=True, env=_env())
    return dump


def e2e(args) -> None:
    dump = make_dump(Path(args.cache), args.lines)
    with open(dump, "rb") as fh:
        n_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    vessels = len(pd.read_csv(dump.parent / "scenario_vessels.csv"))
    print(f"{dump}: {n_lines:,} lines, {vessels} vessels, 3 days; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("run: `stsdetect detect DUMP -o events.csv -q`; dec: the decoder alone in a fresh "
          "process (`from stsdetect.ais import read_ais; read_ais(DUMP)`: its imports, numba "
          "start-up and decoding), the floor of any run")
    print(f"{'run':>4} {'wall s':>7} {'cpu s':>6} {'lines/s wall':>13} {'lines/s cpu':>12} "
          f"{'peak MB':>8}")
    out = Path(args.cache) / "events.csv"
    detect = [sys.executable, "-m", "stsdetect", "detect", str(dump), "-o", str(out), "-q"]
    decode = [sys.executable, "-c", "import sys; from stsdetect.ais import read_ais; "
              "read_ais(sys.argv[1])", str(dump)]
    for label, command in (("run", detect), ("dec", decode)):
        for i in range(args.repeat):  # a few runs
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(command, check=True, env=_env(), stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            print(f"{label}{i:1d} {wall:7.2f} {cpu:6.2f} {n_lines / wall:13,.0f} "
                  f"{n_lines / cpu:12,.0f} {after.ru_maxrss / 1024:8.0f}")
            sys.stdout.flush()
    print(f"(peak MB: the largest child so far; load average now {os.getloadavg()[0]:.2f})")


def _cpu():
    return time.process_time()


def _minflt() -> int:
    """Minor page faults of this process so far: pages of fresh memory it touched (on a
    virtual machine each costs system time, 4-20 us here, and moves most between runs)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


#: Functions timed by ``stages`` while the real CLI command runs: (module, attribute, row).
#: Each row's time is exclusive (a timed function called inside another is counted in its own
#: row only); "cli, rest" is everything else the command does after its imports.
TIMED = (
    ("stsdetect.regions", "_region_table", "load_regions"),
    ("stsdetect.ais", "read_ais", "read_ais"),
    ("stsdetect.tracks", "build_tracks", "build_tracks"),
    ("stsdetect.context", "add_context", "context columns"),
    ("stsdetect.flags", "flag_events", "flags (rest)"),
    ("stsdetect.identity.activity", "vessel_activity", "flags: activity"),
    ("stsdetect.identity.barges", "classify_barges", "flags: barges"),
    ("stsdetect.identity.links", "identity_anomalies", "flags: anomalies"),
    ("stsdetect.identity.links", "identity_links", "flags: links"),
    ("stsdetect.regions", "region_mask", "flags: regions"),
    ("stsdetect.flags", "Evidence.finish", "flags: evidence"),
    ("stsdetect.identity.columns", "add_identity_columns", "flags: identity cols"),
    ("stsdetect.flags", "score_events", "flags: score"),
    ("stsdetect.events", "write_events", "write_events"),
)


def run_timed_command(command) -> tuple[dict, int]:
    """Run the CLI ``command`` in this process with :data:`TIMED` functions and every
    registry stage timed: ``({row: [cpu s, wall s, minor faults]}, exit code)``, rows
    exclusive (a timed call inside another counts in its own row only), ``"cli, rest"`` what
    none covered."""
    import importlib

    from stsdetect.scale import registry

    rows: dict = {}
    stack = [[0.0, 0.0, 0]]  # per active timed call: CPU, wall, faults of the timed calls inside

    def timed(func, label):
        def run(*a, **k):
            stack.append([0.0, 0.0, 0])
            c, w, f = _cpu(), time.perf_counter(), _minflt()
            try:
                return func(*a, **k)
            finally:
                d = (_cpu() - c, time.perf_counter() - w, _minflt() - f)
                inner = stack.pop()
                row = rows.setdefault(label, [0.0, 0.0, 0])
                for i in range(3):
                    row[i] += d[i] - inner[i]
                    stack[-1][i] += d[i]
        return run

    for mod, attr, label in TIMED:
        owner = importlib.import_module(mod)
        *path, name = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, timed(getattr(owner, name), label))
    for name, stage in list(registry.STAGES.items()):
        registry.STAGES[name] = dataclasses.replace(stage, run=timed(stage.run, f"stage {name}"))
    from stsdetect.cli import main

    c1, w1, f1 = _cpu(), time.perf_counter(), _minflt()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(command)
    total = (_cpu() - c1, time.perf_counter() - w1, _minflt() - f1)
    rows["cli, rest"] = [total[i] - stack[0][i] for i in range(3)]
    return rows, code


def _stages_child(argv) -> None:
    """``stages`` in a fresh process: the imports the command needs, then the command."""
    import importlib
    import json

    sys.path.insert(0, SRC)
    modules, command = json.loads(argv[0]), argv[1:]
    c0, w0, f0 = _cpu(), time.perf_counter(), _minflt()
    for name in modules:  # everything the command imports, in the order it imported them
        try:
            importlib.import_module(name)
        except Exception:  # a module importable only as a side effect of another
            pass
    imports = (_cpu() - c0, time.perf_counter() - w0, _minflt() - f0)
    rows, code = run_timed_command(command)
    print(json.dumps({"imports": imports, "rows": rows, "code": code,
                      "load": os.getloadavg()}))


def _imported_modules(command) -> list:
    """The modules (stsdetect's and third-party) a fresh ``stsdetect`` command imports."""
    code = ("import sys, json; from stsdetect.cli import main; "
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(json.loads(sys.argv[1]))\n"
            "print(json.dumps(list(sys.modules)))")
    before = subprocess.run([sys.executable, "-c", "import sys, json; "
                             "print(json.dumps(list(sys.modules)))"], check=True,
                            capture_output=True, text=True, env=_env()).stdout
    import json

    out = subprocess.run([sys.executable, "-c", code, json.dumps(command)], check=True,
                         capture_output=True, text=True, env=_env()).stdout
    base = set(json.loads(before))
    return [m for m in json.loads(out.strip().splitlines()[-1]) if m not in base]


def stages(args) -> None:
    import json

    dump = make_dump(Path(args.cache), args.lines)
    out = Path(args.cache) / "events-stages.csv"
    command = ["detect", str(dump), "-o", str(out), "-q"]
    modules = _imported_modules(command)
    with open(dump, "rb") as fh:
        n_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    best: dict = {}
    loads = []
    for _ in range(args.repeat):  # best of N fresh processes, per row
        res = subprocess.run([sys.executable, __file__, "_stages_child", json.dumps(modules),
                              *command], check=True, capture_output=True, text=True,
                             env=_env())
        got = json.loads(res.stdout.strip().splitlines()[-1])
        loads.append(got["load"][0])
        got["rows"]["imports"] = got["imports"]
        for name, row in got["rows"].items():
            old = best.get(name)
            best[name] = (tuple(min(a, b) for a, b in zip(row, old, strict=True))
                          if old else tuple(row))
    order = ["imports"] + [r for r in best if r != "imports"]
    print(f"stsdetect {' '.join(command)}: {n_lines:,} lines; best of {args.repeat} fresh "
          f"processes per row (load average {min(loads):.2f}-{max(loads):.2f}); "
          "rows exclusive")
    print(f"{'stage':<24} {'cpu s':>7} {'wall s':>7} {'lines/cpu-s':>12} {'minflt':>8}")
    for name in order:
        cpu, wall, flt = best[name]
        rate = f"{n_lines / cpu:12,.0f}" if cpu > 0.0005 else f"{'':>12}"
        print(f"{name:<24} {cpu:7.3f} {wall:7.3f} {rate} {flt:8,.0f}")
    cpu = sum(v[0] for v in best.values())
    wall = sum(v[1] for v in best.values())
    flt = sum(v[2] for v in best.values())
    print(f"{'total (sum of bests)':<24} {cpu:7.3f} {wall:7.3f} {n_lines / cpu:12,.0f} "
          f"{flt:8,.0f}")
    print("minflt: minor page faults (fresh 4 KiB pages touched), best of N per row")


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def month_positions(day: int, vessels: int, interval_s: float, seed: int) -> pd.DataFrame:
    """One UTC day of ``vessels`` vessels, each reporting every ``interval_s`` (+ jitter).

    Transits at 8-14 kn on random headings over the East China Sea, a third of them at
    anchor (in pairs 300 m apart: long-lived rendezvous crossing every window edge).
    """
    rng = np.random.default_rng(seed)  # the same fleet every day
    lat0 = rng.uniform(26.0, 34.0, vessels)
    lon0 = rng.uniform(121.0, 127.0, vessels)
    heading = np.radians(rng.uniform(0, 360, vessels))
    speed_kn = np.where(np.arange(vessels) % 3 == 0, 0.0, rng.uniform(8, 14, vessels))
    anchored = speed_kn == 0
    pair = np.flatnonzero(anchored)[1::2]
    lat0[pair] = lat0[pair - 3] + 300 / 111_200 if pair.size else lat0[pair]
    lon0[pair] = lon0[pair - 3] if pair.size else lon0[pair]
    t_start = pd.Timestamp("2024-03-01", tz="UTC").value // 10**9 + day * 86400
    per = int(86400 // interval_s)
    jitter = np.random.default_rng(seed + day + 1).uniform(0, interval_s, (vessels, 1))
    t = t_start + np.arange(per)[None, :] * interval_s + jitter  # (vessels, per)
    hours = (t - (pd.Timestamp("2024-03-01", tz="UTC").value // 10**9)) / 3600.0
    # bounce along the heading: stay in the area whatever the length of the month
    dist_deg = (speed_kn[:, None] * 1.852 * hours / 111.2) % 4.0
    dist_deg = np.where(dist_deg > 2.0, 4.0 - dist_deg, dist_deg)
    lat = lat0[:, None] + dist_deg * np.cos(heading)[:, None]
    lon = lon0[:, None] + dist_deg * np.sin(heading)[:, None]
    n = t.size
    return pd.DataFrame({
        "mmsi": np.repeat(412000000 + np.arange(vessels, dtype=np.int64), per),
        "time": pd.to_datetime(np.round(t.ravel()).astype("int64") * 10**9, utc=True),
        "lat": lat.ravel(), "lon": lon.ravel(),
        "sog_kn": np.repeat(speed_kn, per) + np.abs(rng.normal(0, 0.1, n)),
        "cog_deg": np.full(n, np.nan), "heading_deg": np.full(n, np.nan),
        "nav_status": np.zeros(n, np.int8), "msg_type": np.ones(n, np.int8),
    }).sort_values("time", kind="stable")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _month_run(files, in_memory, context, queue):
    import threading

    sys.path.insert(0, SRC)  # a spawned child: this checkout's stsdetect, not an installed one
    samples, stop = [], threading.Event()

    def sample():  # resident memory every 0.2 s, to tell which phase made the peak
        while not stop.wait(0.2):
            samples.append((time.perf_counter(), _rss_mb()))

    threading.Thread(target=sample, daemon=True).start()
    t0, c0 = time.perf_counter(), time.process_time()
    phases = ""
    if in_memory:
        import stsdetect

        pos = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
        events = stsdetect.detect(pos, context=context).events
    else:
        from stsdetect.scale import detect_windowed

        res = detect_windowed(files, context=context)
        events = res.events
        edges = np.cumsum([t0, res.report["decode_s"], res.report["windows_s"],
                           res.report["finish_s"]])
        peaks = []
        for a, b in itertools.pairwise(edges):  # three phases
            inside = [r for t, r in samples if a <= t <= b]
            peaks.append(max(inside) if inside else float("nan"))
        phases = (f"  phases wall s decode {res.report['decode_s']:.0f} / windows "
                  f"{res.report['windows_s']:.0f} / finish {res.report['finish_s']:.0f}, "
                  f"peak RSS MB {peaks[0]:.0f} / {peaks[1]:.0f} / {peaks[2]:.0f}")
    stop.set()
    queue.put((time.perf_counter() - t0, time.process_time() - c0, _peak_mb(), len(events),
               phases))


def month(args) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-month-", dir=args.cache) as tmp:
        files, rows = [], 0
        t0 = time.perf_counter()
        keep = Path(args.files) if args.files else None
        for day in range(args.days):  # one file per UTC day
            path = (keep or Path(tmp)) / f"day{day:03d}.parquet"
            if keep is not None and path.exists():  # made by an earlier run: reuse it
                import pyarrow.parquet as pq

                rows += pq.ParquetFile(path).metadata.num_rows
                files.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            pos = month_positions(day, args.vessels, args.interval, args.seed)
            pos.to_parquet(path)
            files.append(path)
            rows += len(pos)
            del pos
        print(f"{rows:,} reports: {args.days} days x {args.vessels} vessels every "
              f"{args.interval:g} s (made or found in {time.perf_counter() - t0:.0f} s)")
        ctx = mp.get_context("spawn")
        for in_memory in ([False, True] if args.in_memory else [False]):
            queue = ctx.Queue()
            proc = ctx.Process(target=_month_run, args=(files, in_memory, not args.no_context,
                                                        queue))
            proc.start()
            wall, cpu, peak, n_events, phases = queue.get()
            proc.join()
            mode = "in memory" if in_memory else "out of core"
            print(f"{mode:<12} wall {wall:8.1f} s  cpu {cpu:8.1f} s  "
                  f"{rows / cpu:10,.0f} reports/cpu-s  peak {peak:7.0f} MB  {n_events} events"
                  f"{phases}")
            sys.stdout.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    for name in ("e2e", "stages", "month"):
        p = sub.add_parser(name)
        p.add_argument("--cache", default=tempfile.gettempdir())
        p.add_argument("--lines", type=int, default=1_250_000)
        p.add_argument("--repeat", type=int, default=3)
        p.add_argument("--days", type=int, default=30)
        p.add_argument("--vessels", type=int, default=1500)
        p.add_argument("--interval", type=float, default=15.0)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--in-memory", action="store_true")
        p.add_argument("--no-context", action="store_true",
                       help="month: without the context stage (context=False)")
        p.add_argument("--files", default=None,
                       help="month: keep the daily Parquet files in this folder and reuse "
                            "those already there (same --vessels/--interval/--seed)")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_stages_child"]:  # one fresh process of ``stages``
        return _stages_child(argv[1:])
    args = ap.parse_args(argv)
    {"e2e": e2e, "stages": stages, "month": month}[args.what](args)


if __name__ == "__main__":
    main()
