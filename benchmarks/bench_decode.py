"""Decode speed per dump layout: stsdetect (1 and 2 threads) vs pyais vs libais.

Run ``python benchmarks/bench_decode.py [--lines 200000] [--repeat 5]``; ``--dump FILE ...``
times only ``read_ais`` on given dumps, one thread against two. For each layout it
builds a dump from a real public file under ``../shared/data`` (or ``$STSDETECT_SHARED_DATA``),
repeated to at least ``--lines`` lines, and decodes it with each decoder in its own
subprocess (so that peak RSS is each decoder's own; imports and, for pyais and libais, the
extraction of the sentences happen before the clock starts: their easiest input). It prints
one row per layout: lines/s and messages/s of stsdetect on one and two threads, pyais's and
libais's messages/s, the speed-ups, and each one's peak MB; then the kernel's compile time,
cold (an empty numba cache) and cached. The layouts include chhs2131's dump, whose sentences
are parted by CR only (no LF: one line of sentences run together for stsdetect; repeated as
it is to ``--lines`` sentences, its "lines" are its CRs), and gpsd's log with comment lines.
Then one row per decoded table layout (``TABLES``: gpsdio JSON lines; MarineCadastre and
DMA CSV written from the reports of gfw ``nmea.txt``), each repeated to ``--lines`` rows:
stsdetect's rows/s on one and two workers and peak MB (pyais and libais read no tables);
``--tables-only`` prints only these. ``--tree base=/path/src --tree new=/path/src`` times
only stsdetect, one and two threads, on each source tree (each process's ``PYTHONPATH``),
their processes taken in turn: min and median per tree, and the 2/1 ratios.

Decoders:

* ``stsdetect`` - :func:`stsdetect.read_ais` (positions, statics, vessels, report, with
  provenance), ``workers=1`` and ``workers=2``.
* ``pyais`` - ``pyais.stream.IterMessages`` over the sentences (tag blocks and other columns
  stripped beforehand) and ``.decode()`` of every message.
* ``libais`` - the C++ decoder ``ais.decode`` (pip ``libais``, built from source) on each
  single-part payload and on two-part messages joined by a minimal Python loop; skipped
  with a note when it is not installed.

Timings are the best of ``--repeat`` runs (the machine this was written on is shared: expect
noise; the best run is the least disturbed one), and for stsdetect the best of
``--processes`` fresh processes (3 by default, one and two threads in turn; see
``_run_stsdetect`` for why). Use five or more calls: the first two real reads in a
fresh process are slower (first touches of fresh output memory; on the idle VM bare VDM took
84-115 ms for its best of two against 43 ms for its best of five). Each decoder's CPU time (user
+ sys of its process, best run) is printed beside the wall time: on a busy machine the CPU rate
(``cpu Ml/s``) is the one that says what one core does; the two-thread speed-up is from wall
times and needs an idle machine. Run it alone: ``flock /tmp/bench.lock python
benchmarks/bench_decode.py``.

For stsdetect it also prints the fastest call's user and system time apart (``u+s ms``) and
its fresh memory (``flt/thp``): minor page faults (``ru_minflt``; each a fresh 4 KB page,
or one 2 MB huge page, which counts once) and the huge pages the machine faulted in
meanwhile (``thp_fault_alloc`` of /proc/vmstat, machine-wide: other processes' count too).
On a VM whose host backs guest memory on first touch, the system time of a read is mostly
these faults, and the same faults cost from a few to over a hundred ms from one minute to
the next: compare fault counts, not system times. ``--dump`` adds the process's first
read (``1st``: workspaces, chunk buffers and the kernel's first use on top of the output).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STSDETECT_SHARED_DATA", REPO.parent / "shared" / "data"))
CACHE = Path(os.environ.get("STSDETECT_BENCH_CACHE",
                            Path(tempfile.gettempdir()) / "stsdetect-bench-layouts"))

#: layout name -> (source file under the shared data, how each line is rewritten)
LAYOUTS = {
    "bare VDM (gfw nmea.txt)": ("gfw-ais-listener/nmea.txt", None),
    "tag blocks + g: (gfw nmea-with-tagblock.txt)": ("gfw-ais-listener/nmea-with-tagblock.txt",
                                                     None),
    "N-AIS trailing columns (noaadata test.ais)": ("noaadata/test.ais", None),
    "SignalK extra field (gofree-merrimac.log)": ("signalk/gofree-merrimac.log", None),
    "$PGHP + \\si (dma ais-sample.txt)": ("dma-aisabnormal/ais-sample.txt", None),
    "leading epoch + space (from nmea.txt)": ("gfw-ais-listener/nmea.txt", "epoch_space"),
    "leading fractional epoch (from nmea.txt)": ("gfw-ais-listener/nmea.txt", "epoch_frac"),
    "satellite t|mmsi|lat|lon| (from nmea.txt)": ("gfw-ais-listener/nmea.txt", "satellite"),
    "sentences run together, CR only (chhs2131)": (
        "chhs2131-pyais-ec/ais_20211104_15.txt", None),
    "comment lines (gpsd sample.aivdm)": ("gpsd/sample.aivdm", None),
}

#: decoded tables: layout name -> how the table is built (see :func:`make_table`); pyais and
#: libais read no tables, so their columns are n/a and the rates are rows/s
TABLES = {
    "gpsdio JSON lines (gfw-gpsdio-segment/*.json)": "gpsdio",
    "MarineCadastre CSV (nmea.txt's reports)": "marinecadastre",
    "DMA CSV (nmea.txt's reports)": "dma",
}


def _rewrite(line: bytes, how: str | None, i: int) -> bytes:
    t = 1_600_000_000 + i
    if how is None or not line.startswith(b"!"):
        return line
    if how == "epoch_space":
        return b"%d %s" % (t, line)
    if how == "epoch_frac":
        return b"%d.%03d,%s" % (t, i % 1000, line)
    if how == "satellite":
        return b"%d|123456789|1.5|2.5|%s" % (t, line)
    raise ValueError(how)


def make_dump(name: str, n_lines: int) -> Path:
    """The layout's dump: its source file's lines rewritten and repeated to ``n_lines``."""
    src, how = LAYOUTS[name]
    safe = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    path = CACHE / f"{safe}_{n_lines}.nmea"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    raw = (SHARED / src).read_bytes()
    if b"\n" not in raw:  # no LF at all (chhs2131: sentences parted by CR only): kept as is
        n = len(_SENTENCE.findall(raw))
        path.write_bytes((raw.rstrip(b"\r") + b"\r") * -(-n_lines // n))
        return path
    lines = raw.splitlines()
    lines = [_rewrite(ln, how, i) for i, ln in enumerate(lines)]
    reps = -(-n_lines // len(lines))
    path.write_bytes(b"\n".join(lines * reps) + b"\n")
    return path


_SENTENCE = re.compile(rb"![A-Z]{2}VD[MO],[^*]*\*[0-9A-Fa-f]{2}")

_DMA_STATUS = ["Under way using engine", "At anchor", "Not under command",
               "Restricted maneuverability", "Constrained by her draught", "Moored", "Aground",
               "Engaged in fishing", "Under way sailing"] + ["Unknown value"] * 7


def make_table(name: str, n_rows: int) -> Path:
    """A decoded table of at least ``n_rows`` rows from real files: the gpsdio segments'
    JSON lines repeated, or the reports of gfw ``nmea.txt`` (decoded by stsdetect, with
    their vessels' static data; a time one second apart per row, as the file has none)
    written in MarineCadastre's or DMA's CSV layout and repeated."""
    how = TABLES[name]
    path = CACHE / f"table_{how}_{n_rows}.{'json' if how == 'gpsdio' else 'csv'}"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    if how == "gpsdio":
        rows = [ln for f in sorted((SHARED / "gfw-gpsdio-segment").glob("*.json"))
                for ln in f.read_bytes().splitlines() if ln.strip()]
        header = []
    else:
        import pandas as pd

        from stsdetect.ais import read_ais

        data = read_ais(SHARED / "gfw-ais-listener" / "nmea.txt", workers=1)
        pos = data.positions.dropna(subset=["lat", "lon"])
        v = data.vessels.set_index("mmsi")
        rows = []
        for i, r in enumerate(pos.itertuples()):
            s = v.loc[r.mmsi] if r.mmsi in v.index else None
            name_ = "" if s is None or pd.isna(s["name"]) else s["name"].replace(",", " ")
            imo = "" if s is None or pd.isna(s["imo"]) else int(s["imo"])
            mc_imo = f"IMO{imo}" if imo != "" else ""
            dims = ["" if s is None or pd.isna(s[k]) else f"{s[k]:g}"
                    for k in ("length_m", "beam_m", "draught_m")]
            sog, cog, hdg = ("" if pd.isna(x) else f"{x:g}"
                             for x in (r.sog_kn, r.cog_deg, r.heading_deg))
            hh, mm, ss = i // 3600 % 24, i // 60 % 60, i % 60
            if how == "marinecadastre":
                rows.append(f"{r.mmsi},2021-06-01T{hh:02d}:{mm:02d}:{ss:02d},{r.lat:.5f},"
                            f"{r.lon:.5f},{sog},{cog},{hdg},{name_},"
                            f"{mc_imo},,70,{r.nav_status},"
                            f"{dims[0]},{dims[1]},{dims[2]},,A".encode())
            else:
                rows.append(f"01/06/2021 {hh:02d}:{mm:02d}:{ss:02d},Class A,{r.mmsi},"
                            f"{r.lat:.6f},{r.lon:.6f},{_DMA_STATUS[r.nav_status]},,{sog},"
                            f"{cog},{hdg},{imo or 'Unknown'},Unknown,{name_},Cargo,,"
                            f"{dims[1]},{dims[0]},GPS,{dims[2]},Unknown,,AIS,,,,".encode())
        header = [b"MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,"
                  b"VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass"
                  if how == "marinecadastre" else
                  b"# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,"
                  b"ROT,SOG,COG,Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
                  b"Type of position fixing device,Draught,Destination,ETA,Data source type,"
                  b"A,B,C,D"]
    reps = -(-n_rows // len(rows))
    path.write_bytes(b"\n".join(header + rows * reps) + b"\n")
    return path


def _child(decoder: str, path: str, repeat: int) -> dict:
    """Runs in a subprocess: decode ``path`` ``repeat`` times; best time, counts, peak MB."""
    import resource

    raw = Path(path).read_bytes()
    data_lines = raw.count(b"\n") or raw.count(b"\r")  # (CR-only dumps: their records)
    best = float("inf")
    best_cpu = float("inf")
    n_msgs = 0
    if decoder.startswith("stsdetect"):
        from stsdetect.ais import read_ais

        workers = int(decoder.split("-")[1])
        read_ais([b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"])  # load the kernel
        calls = []
        busy0, own0, wall0 = _machine_busy_s(), time.process_time(), time.perf_counter()
        for _ in range(repeat):
            u0, h0 = resource.getrusage(resource.RUSAGE_SELF), _thp_faults()
            t0, c0 = time.perf_counter(), time.process_time()
            data = read_ais(path, workers=workers)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            u1, h1 = resource.getrusage(resource.RUSAGE_SELF), _thp_faults()
            calls.append({"seconds": wall, "user": u1.ru_utime - u0.ru_utime,
                          "sys": u1.ru_stime - u0.ru_stime,
                          "minflt": u1.ru_minflt - u0.ru_minflt,
                          "thp": None if h0 is None else h1 - h0})
            best = min(best, wall)
            best_cpu = min(best_cpu, cpu)
            n_msgs = data.report.decoded_lines
            del data
        # other processes' CPU meanwhile, in cores (None where /proc/stat is missing)
        busy1 = _machine_busy_s()
        others = None if busy0 is None or busy1 is None else max(0.0, (
            busy1 - busy0 - (time.process_time() - own0)) / (time.perf_counter() - wall0))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        quick = min(calls, key=lambda c: c["seconds"])
        return {"seconds": best, "cpu_seconds": best_cpu, "messages": n_msgs,
                "lines": data_lines, "peak_mb": peak_mb,
                # the fastest call's user and system time and faults, and the first call's
                "user": quick["user"], "sys": quick["sys"], "minflt": quick["minflt"],
                "thp": quick["thp"], "first_minflt": calls[0]["minflt"],
                "first_thp": calls[0]["thp"], "first_sys": calls[0]["sys"],
                "others": others}
    elif decoder == "pyais":
        from pyais.stream import IterMessages

        sentences = _SENTENCE.findall(Path(path).read_bytes())
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            n = 0
            for msg in IterMessages(sentences):
                try:
                    msg.decode()
                    n += 1
                except Exception:
                    pass
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
            n_msgs = n
    elif decoder == "libais":
        import ais

        sentences = [s.split(b",") for s in _SENTENCE.findall(Path(path).read_bytes())]
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            n = 0
            parts: dict = {}
            for f in sentences:
                try:
                    if f[1] == b"1":
                        ais.decode(f[5].decode(), int(f[6][:1]))
                        n += 1
                        continue
                    key = (f[3], f[4])
                    parts.setdefault(key, []).append(f[5])
                    if f[2] == f[1]:
                        ais.decode(b"".join(parts.pop(key)).decode(), int(f[6][:1]))
                        n += 1
                except Exception:
                    pass
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
            n_msgs = n
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": best, "cpu_seconds": best_cpu, "messages": n_msgs,
            "lines": data_lines, "peak_mb": peak_mb}


def _machine_busy_s() -> float | None:
    """CPU seconds the whole machine has spent busy (all but idle and iowait, every
    process; the first line of /proc/stat; None where there is none)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


#: Most CPU other processes may use during a stsdetect process's calls (in cores, from
#: /proc/stat) before that process is run again (see :func:`_run_stsdetect`).
OTHERS_MAX_CORES = 0.1
#: Most times a process disturbed that way is run again.
RERUNS = 3


def undisturbed(run, what: str, max_cores: float = OTHERS_MAX_CORES, reruns: int = RERUNS,
                pause_s: float = 1.0) -> dict:
    """``run()``'s result (a dict with ``others``: other processes' CPU during it, in
    cores, or None), run again up to ``reruns`` times while ``others`` is over
    ``max_cores``, each time with a note on stderr naming ``what`` was disturbed."""
    for attempt in range(reruns + 1):
        r = run()
        if r.get("others") is None or r["others"] <= max_cores:
            break
        print(f"  (other processes used {r['others']:.2f} cores during {what}: "
              f"{'run again' if attempt < reruns else 'kept'})", file=sys.stderr, flush=True)
        time.sleep(pause_s)
    return r


def _thp_faults() -> int | None:
    """Transparent huge pages faulted in so far, machine-wide (``thp_fault_alloc`` of
    /proc/vmstat; None where there is none). ``ru_minflt`` counts a 2 MB huge page as one
    fault, so fresh memory is about ``minflt`` x 4 KB + ``thp`` x 2 MB; the machine-wide
    count includes other processes' (run it alone)."""
    try:
        with open("/proc/vmstat") as f:
            for line in f:
                if line.startswith("thp_fault_alloc "):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _user_sys(r: dict) -> str:
    """A call's user and system time, ms."""
    return f"{r['user'] * 1e3:.0f}+{r['sys'] * 1e3:.0f}"


def _fresh(r: dict, first: bool = False) -> str:
    """A call's fresh memory: ``minflt/thp`` (see :func:`_thp_faults`)."""
    flt, thp = (r["first_minflt"], r["first_thp"]) if first else (r["minflt"], r["thp"])
    return f"{flt}/{'-' if thp is None else thp}"


def _run(decoder: str, path: Path, repeat: int, env=None) -> dict | None:
    cmd = [sys.executable, __file__, "--child", decoder, str(path), "--repeat", str(repeat)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        # an optional comparison decoder (pyais, libais) not installed: its columns show n/a;
        # stsdetect itself missing is an error (an install that points elsewhere)
        if "No module named" in out.stderr and "No module named 'stsdetect" not in out.stderr:
            return None
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_stsdetect(path: Path, repeat: int, processes: int) -> dict:
    """stsdetect on one and on two threads, each in ``processes`` fresh processes taken in
    turn (1, 2, 1, 2 ...): the best process of each.

    A fresh process sometimes spends all its calls 2-3x slower, in system time: numpy asks
    for transparent huge pages on its large arrays (``madvise``), and when the kernel has to
    compact memory to find them, each read's fresh output columns cost tens of ms of page
    zeroing and compaction (seen on this VM in about one process in three, with the code
    before and after a change alike). That is the machine's state, not the decoder, and a
    single process per row turned the two-thread ratio into noise (2/1 from 1.4 to 5.2 on
    one layout in one hour).

    A process during whose calls other processes used more than :data:`OTHERS_MAX_CORES`
    of CPU (from /proc/stat: the machine's busy time less the process's own) is run again,
    up to :data:`RERUNS` times, with a note on stderr: on a two-core machine another
    process busy on one core takes what a second thread would do (gpsd's row read 0.84 for
    2/1 while another process kept a core busy, 1.16 and 1.27 on the idle machine)."""
    runs: dict = {1: [], 2: []}
    for _ in range(processes):
        for w in (1, 2):
            runs[w].append(undisturbed(partial(_run, f"stsdetect-{w}", path, repeat),
                                       f"a {w}-thread process"))
    return {w: min(r, key=lambda v: v["seconds"]) for w, r in runs.items()}


def compare_trees(paths: list, trees: list, repeat: int, processes: int) -> None:
    """One row per dump and source tree (``trees``: ``(name, src)``, ``src`` the
    ``PYTHONPATH`` of its processes): stsdetect's best call on one and on two threads in
    each of ``processes`` fresh processes per tree and thread count, all taken in turn
    (tree A 1, 2, tree B 1, 2, A 1, 2 ...), so that a change of the machine's state
    meanwhile falls on every tree alike; min and median over the processes, and the 2/1
    ratio of each."""
    import statistics

    for _, src in trees:  # (compiles each tree's kernel if its cache is cold)
        _run("stsdetect-2", paths[0], 1, dict(os.environ, PYTHONPATH=src))
    print(f"load average at start: {os.getloadavg()[0]:.2f}; best of {repeat} calls in each "
          f"of {processes} fresh processes per row and thread count; ms min/median")
    head = (f"{'dump':<46} {'tree':<8} {'1 thread ms':>15} {'2 threads ms':>15} "
            f"{'2/1 min/med':>12}")
    print(head)
    print("-" * len(head))
    for path in paths:
        runs: dict = {(t, w): [] for t, _ in trees for w in (1, 2)}
        for _ in range(processes):
            for t, src in trees:
                env = dict(os.environ, PYTHONPATH=src)
                for w in (1, 2):
                    runs[t, w].append(undisturbed(
                        partial(_run, f"stsdetect-{w}", path, repeat, env),
                        f"a {w}-thread process of {t}")["seconds"] * 1e3)
        for t, _ in trees:
            one, two = runs[t, 1], runs[t, 2]
            m1, m2 = statistics.median(one), statistics.median(two)
            print(f"{Path(path).name[:46]:<46} {t[:8]:<8} {min(one):>7.2f}/{m1:<7.2f} "
                  f"{min(two):>7.2f}/{m2:<7.2f} {min(one) / min(two):>5.2f}/"
                  f"{m1 / m2:<5.2f}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def compile_times() -> tuple[float, float]:
    """Seconds to import stsdetect's kernel and decode one line: cold (empty numba cache,
    so the kernel compiles) and then cached."""
    code = ("import time; t = time.perf_counter(); from stsdetect.ais import read_ais; "
            "read_ais(['!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A']); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
        # the source tree's own cache (__pycache__ next to kernel.py) would be found first:
        # a cold run needs it out of the way, so copy the package where it has none
        with tempfile.TemporaryDirectory() as tree:
            import shutil

            shutil.copytree(REPO / "src" / "stsdetect", Path(tree) / "stsdetect",
                            ignore=shutil.ignore_patterns("__pycache__"))
            env["PYTHONPATH"] = tree
            times = []
            for _ in range(2):
                out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                     text=True, env=env, check=True)
                times.append(float(out.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--layouts", nargs="*", default=None, help="substrings of layout names")
    ap.add_argument("--processes", type=int, default=3,
                    help="fresh processes per stsdetect row (best taken; see _run_stsdetect)")
    ap.add_argument("--child", nargs=2, metavar=("DECODER", "PATH"))
    ap.add_argument("--dump", nargs="*", default=None,
                    help="only time read_ais on these dumps, one and two threads (e.g. the "
                         "1.31M-line dump bench_engine.py makes)")
    ap.add_argument("--tables-only", action="store_true",
                    help="only the decoded tables' rows (no NMEA layouts)")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=SRC",
                    help="only stsdetect, one and two threads, of each source tree given "
                         "(PYTHONPATH of its processes; repeat it to compare trees, their "
                         "processes taken in turn) on the layouts (or --dump files)")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], args.child[1], args.repeat)))
        return
    if args.tree:
        paths = args.dump or [make_dump(n, args.lines) for n in LAYOUTS
                              if not args.layouts or any(s in n for s in args.layouts)]
        compare_trees([Path(p) for p in paths], [tuple(t.split("=", 1)) for t in args.tree],
                      args.repeat, args.processes)
        return
    if args.dump is not None:
        print(f"load average at start: {os.getloadavg()[0]:.2f}; best of {args.repeat} calls "
              f"in each of {args.processes} fresh processes")
        # (milliseconds with two decimals: a 200k-line read of some layouts takes 9-15 ms)
        print(f"{'dump':<40} {'lines':>10} {'1 thread ms':>11} {'cpu ms':>8} "
              f"{'user+sys ms':>13} {'flt/thp':>11} {'1st flt/thp':>11} {'1st sys':>7} "
              f"{'2 threads ms':>12} {'cpu ms':>8} {'user+sys ms':>13} {'flt/thp':>11} "
              f"{'2/1':>5}")
        for path in args.dump:
            r = _run_stsdetect(Path(path), args.repeat, args.processes)
            print(f"{Path(path).name:<40} {r[1]['lines']:>10,} {r[1]['seconds'] * 1e3:>11.2f} "
                  f"{r[1]['cpu_seconds'] * 1e3:>8.2f} {_user_sys(r[1]):>13} "
                  f"{_fresh(r[1]):>11} {_fresh(r[1], True):>11} {r[1]['first_sys'] * 1e3:>7.0f} "
                  f"{r[2]['seconds'] * 1e3:>12.2f} {r[2]['cpu_seconds'] * 1e3:>8.2f} "
                  f"{_user_sys(r[2]):>13} {_fresh(r[2]):>11} "
                  f"{r[1]['seconds'] / r[2]['seconds']:>5.2f}", flush=True)
        print("user+sys: the fastest call's, ms; flt/thp: its minor page faults (4 KB) and the "
              "machine's huge pages (2 MB) faulted in meanwhile; 1st: the process's first "
              "read's")
        print(f"load average at end: {os.getloadavg()[0]:.2f}")
        return
    names = [n for n in LAYOUTS if not args.layouts or any(s in n for s in args.layouts)]
    if args.tables_only:
        names = []
    if names:
        cold, cached = compile_times()
        print(f"kernel compile + first call: cold {cold:.1f} s, cached {cached:.1f} s")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()}); "
          f"best of {args.repeat} calls (stsdetect: in each of {args.processes} fresh "
          "processes); 'cpu' columns: rates per CPU second (user + sys)")
    head = (f"{'layout':<46} {'lines':>8} {'st1 Ml/s':>9} {'st1 cpu':>8} {'st1 kmsg/s':>10} "
            f"{'st2 Ml/s':>9} {'st2 cpu':>8} {'2/1':>5} {'pyais kmsg/s':>12} {'x pyais':>7} "
            f"{'x cpu':>6} "
            f"{'libais kmsg/s':>13} {'x libais':>8} {'MB st1/st2/pyais/libais':>24} "
            f"{'st1 u+s ms':>10} {'st1 flt/thp':>11} {'st2 u+s ms':>10} {'st2 flt/thp':>11}")
    if names:
        print(head)
        print("-" * len(head))
    for name in names:
        path = make_dump(name, args.lines)
        ours = _run_stsdetect(path, args.repeat, args.processes)
        r = {"stsdetect-1": ours[1], "stsdetect-2": ours[2],
             **{d: _run(d, path, args.repeat) for d in ("pyais", "libais")}}
        s1, s2, py, lib = r["stsdetect-1"], r["stsdetect-2"], r["pyais"], r["libais"]
        rate = {k: v["messages"] / v["seconds"] for k, v in r.items() if v}
        cpu = {k: v["messages"] / v["cpu_seconds"] for k, v in r.items() if v}
        lib_txt = f"{rate['libais'] / 1e3:>13.0f} {rate['stsdetect-1'] / rate['libais']:>8.1f}" \
            if lib else f"{'n/a':>13} {'':>8}"
        mem = "/".join(f"{v['peak_mb']:.0f}" if v else "-" for v in (s1, s2, py, lib))
        print(f"{name:<46} {s1['lines']:>8} {s1['lines'] / s1['seconds'] / 1e6:>9.2f} "
              f"{s1['lines'] / s1['cpu_seconds'] / 1e6:>8.2f} "
              f"{rate['stsdetect-1'] / 1e3:>10.0f} {s2['lines'] / s2['seconds'] / 1e6:>9.2f} "
              f"{s2['lines'] / s2['cpu_seconds'] / 1e6:>8.2f} "
              f"{s1['seconds'] / s2['seconds']:>5.2f} {rate['pyais'] / 1e3:>12.0f} "
              f"{rate['stsdetect-1'] / rate['pyais']:>7.1f} "
              f"{cpu['stsdetect-1'] / cpu['pyais']:>6.1f} {lib_txt} {mem:>24} "
              f"{_user_sys(s1):>10} {_fresh(s1):>11} {_user_sys(s2):>10} {_fresh(s2):>11}",
              flush=True)
    tables = [n for n in TABLES if not args.layouts or any(s in n for s in args.layouts)]
    if tables:
        print("\ndecoded tables (pyais, libais: n/a; rates are rows/s, 'rows' counts the "
              "header)")
        head = (f"{'layout':<46} {'rows':>8} {'st1 Mr/s':>9} {'st1 cpu':>8} {'st2 Mr/s':>9} "
                f"{'st2 cpu':>8} {'2/1':>5} {'MB st1/st2':>11}")
        print(head)
        print("-" * len(head))
    for name in tables:
        path = make_table(name, args.lines)
        ours = _run_stsdetect(path, args.repeat, args.processes)
        s1, s2 = ours[1], ours[2]
        print(f"{name:<46} {s1['lines']:>8} {s1['lines'] / s1['seconds'] / 1e6:>9.2f} "
              f"{s1['lines'] / s1['cpu_seconds'] / 1e6:>8.2f} "
              f"{s2['lines'] / s2['seconds'] / 1e6:>9.2f} "
              f"{s2['lines'] / s2['cpu_seconds'] / 1e6:>8.2f} "
              f"{s1['seconds'] / s2['seconds']:>5.2f} "
              f"{s1['peak_mb']:>5.0f}/{s2['peak_mb']:<5.0f}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}. 'st2 cpu': lines per CPU second "
          "of both threads together; '2/1': one thread's wall time over two threads' (needs "
          "an otherwise idle machine); 'u+s ms': the fastest call's user and system time; "
          "'flt/thp': its minor page faults (4 KB) and the machine's huge pages (2 MB) "
          "faulted in meanwhile")


if __name__ == "__main__":
    main()
