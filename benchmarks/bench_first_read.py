"""A process's first ``read_ais`` call: one thread against two, in fresh processes.

Run ``flock /tmp/bench.lock python benchmarks/bench_first_read.py [--rounds 8] [FILE ...]``
(default files: the bare VDM, tag-block and N-AIS dumps ``benchmarks/bench_decode.py``
builds, and ``/tmp/dump-1250000/scenario.nmea`` when present).

The command-line tool reads one file per process: its only ``read_ais`` call pays for the
reader's fresh memory (its workspaces, chunk buffers and output columns) on top of the
decoding. Each round runs one fresh process per thread count, taken in turn (1, 2, 1,
2 ...); a process loads the compiled kernel first (:func:`decode_chunk` of one sentence,
which leaves the reader's caches empty, its chunk writable as the reader's are; the
kernel must already be compiled: a first run compiles it), then times one
``read_ais(path, workers=w)``. It prints min and median of
the rounds per file and thread count: wall ms, user and system ms, minor page faults
(``ru_minflt``: a 4 KB page each, or a 2 MB huge page counted once), the huge pages the
machine faulted in meanwhile (``thp_fault_alloc`` of /proc/vmstat, machine-wide) and the
process's peak RSS (MB); then, with ``--steady N``, the best of N later calls in the same
process (the steady state, for comparison). A process during whose read other processes
used more than :data:`OTHERS_MAX_CORES` of CPU is run again (up to :data:`RERUNS` times;
on two cores another busy process takes the second thread's core).
``--tree base=/path/src --tree new=/path/src`` times two source trees (each process's
``PYTHONPATH``), their processes taken in turn too.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_decode import _machine_busy_s, _thp_faults, undisturbed  # (sibling script)

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("STSDETECT_BENCH_CACHE",
                            Path(tempfile.gettempdir()) / "stsdetect-bench-layouts"))
DEFAULT_FILES = [CACHE / "bare_vdm_gfw_nmea_txt_200000.nmea",
                 CACHE / "tag_blocks_g_gfw_nmea_with_tagblock_txt_200000.nmea",
                 CACHE / "n_ais_trailing_columns_noaadata_test_ais_200000.nmea",
                 Path("/tmp/dump-1250000/scenario.nmea")]

_CHILD = r"""
import json, os, resource, sys, time
import numpy as np
from stsdetect.ais import read_ais
from stsdetect.ais.kernel import decode_chunk
""" + inspect.getsource(_thp_faults) + inspect.getsource(_machine_busy_s) + r"""
def thp():
    return _thp_faults() or 0

busy = _machine_busy_s

path, workers, steady = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
# the kernel loaded (for a writable chunk, as the reader's: a read-only one is another
# signature, loaded apart), the reader's caches left empty
decode_chunk(np.frombuffer(line, np.uint8).copy(), len(line))
u0, h0, b0 = resource.getrusage(resource.RUSAGE_SELF), thp(), busy()
t0, c0 = time.perf_counter(), time.process_time()
data = read_ais(path, workers=workers)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
u1, h1, b1 = resource.getrusage(resource.RUSAGE_SELF), thp(), busy()
# other processes' CPU meanwhile, in cores (/proc/stat ticks: 10 ms, so a rough figure)
others = None if b0 is None or b1 is None else max(0.0, (b1 - b0 - cpu) / wall)
rows = len(data.positions)
del data
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
later = []
for _ in range(steady):
    t = time.perf_counter()
    read_ais(path, workers=workers)
    later.append(time.perf_counter() - t)
print(json.dumps({"wall": wall, "user": u1.ru_utime - u0.ru_utime,
                  "sys": u1.ru_stime - u0.ru_stime, "minflt": u1.ru_minflt - u0.ru_minflt,
                  "thp": h1 - h0, "peak_mb": peak, "rows": rows, "others": others,
                  "steady": min(later) if later else None}))
"""


#: Most CPU other processes may use during the timed read (cores, from /proc/stat) before
#: the process is run again, and how often at most (then kept, with a note).
OTHERS_MAX_CORES = 0.25
RERUNS = 4


def _one(path: Path, workers: int, steady: int, src: str | None = None) -> dict:
    env = None if src is None else dict(os.environ, PYTHONPATH=src)

    def run() -> dict:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(workers),
                              str(steady)], capture_output=True, text=True, check=True,
                             env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])

    return undisturbed(run, f"a {workers}-thread read", OTHERS_MAX_CORES, RERUNS, 0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--rounds", type=int, default=8, help="fresh processes per thread count")
    ap.add_argument("--steady", type=int, default=0,
                    help="later calls per process (their best printed as 'steady ms')")
    ap.add_argument("--tree", action="append", default=[], metavar="NAME=SRC",
                    help="a source tree to time (PYTHONPATH of its processes; repeat it to "
                         "compare trees: their processes are taken in turn too)")
    args = ap.parse_args()
    files = args.files or [p for p in DEFAULT_FILES if p.exists()]
    trees = [tuple(t.split("=", 1)) for t in args.tree] or [("", None)]
    for _, src in trees:
        _one(files[0], 1, 0, src)  # (compiles the kernel if its cache is cold)
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {args.rounds} fresh processes "
          "per row, 1 and 2 threads in turn; min / median")
    head = (f"{'file':<44} {'tree':<6} {'thr':>3} {'first ms':>15} {'user ms':>11} {'sys ms':>11} "
            f"{'minflt':>13} {'thp':>9} {'peak MB':>9} {'steady ms':>11}")
    print(head)
    print("-" * len(head))
    for path in files:
        runs: dict = {(t, w): [] for t, _ in trees for w in (1, 2)}
        for _ in range(args.rounds):
            for t, src in trees:
                for w in (1, 2):
                    runs[t, w].append(_one(path, w, args.steady, src))
        for (t, w), r in runs.items():

            def mm(key, scale=1.0, fmt="{:.0f}", r=r):
                v = [x[key] * scale for x in r]
                return f"{fmt.format(min(v))}/{fmt.format(statistics.median(v))}"

            st = mm("steady", 1e3, "{:.1f}") if r[0]["steady"] is not None else "-"
            print(f"{path.name[:44]:<44} {t[:6]:<6} {w:>3} {mm('wall', 1e3, '{:.1f}'):>15} "
                  f"{mm('user', 1e3):>11} {mm('sys', 1e3):>11} {mm('minflt'):>13} "
                  f"{mm('thp'):>9} {mm('peak_mb'):>9} {st:>11}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
