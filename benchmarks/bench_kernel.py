"""The NMEA kernel alone: its speed per dump layout, and its start-up in a fresh process.

Run ``python benchmarks/bench_kernel.py [--repeat 5] [--lines 200000]`` (under the shared
lock: ``flock /tmp/bench.lock python benchmarks/bench_kernel.py``).

Speed: for each layout of ``benchmarks/bench_decode.py`` (the same dumps, built from the real
samples under ``../shared/data``), the file is cut into the reader's 1 MiB chunks and
:func:`stsdetect.ais.kernel.decode_chunk` is timed on them, one thread, best of
``--repeat``: lines per CPU second (user + sys) and per wall second. ``read_ais`` adds to
this the reading, the multipart assembler, provenance and the tables
(``bench_decode.py`` measures it whole).

Start-up: each repeat is a fresh Python process that times, in order:

* ``import numba``;
* ``import stsdetect.ais`` (pandas, pyarrow, the reader; numba is already imported);
* numba's CPU target initialisation, which the first load of any cached numba function in a
  process pays once (it imports numba's implementation modules, and through numba's BLAS
  check ``scipy.linalg``); stsdetect's other compiled kernels (``context/_kernels.py``)
  would pay it otherwise;
* the kernel's own cache load and first call (``decode_chunk`` on one sentence);
* the first and a second ``read_ais`` of one sentence (the rest of the first-call cost).

It prints the best (least disturbed) of ``--repeat`` processes for each step, wall seconds,
and the total first-call cost as a caller sees it (target initialisation + kernel load +
first ``read_ais``).

Fresh workspaces: per layout, a fresh process decodes the same 1 MiB chunk into 6 fresh
workspaces (a first read on two threads takes 6) and then into them again: ms per chunk
fresh and warm (best of ``--repeat`` processes), and the minor page faults (4 KB) and huge
pages (2 MB, machine-wide ``thp_fault_alloc``) per fresh workspace: what a workspace's
first chunk costs on top of decoding it.

The kernel must already be compiled (any earlier run compiles it;
``benchmarks/bench_decode.py`` prints the cold compile time).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_decode import LAYOUTS, _thp_faults, make_dump  # (sibling script)

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, time
t0 = time.perf_counter()
import numba  # noqa: F401
t1 = time.perf_counter()
import numpy as np
import stsdetect.ais
t2 = time.perf_counter()
from numba.core.registry import cpu_target
cpu_target.target_context.refresh()
t3 = time.perf_counter()
from stsdetect.ais.kernel import decode_chunk
line = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
# (writable, as the reader's chunks: a read-only array is another signature, loaded apart)
decode_chunk(np.frombuffer(line, np.uint8).copy(), len(line))
t4 = time.perf_counter()
stsdetect.ais.read_ais([line.strip()], workers=1)
t5 = time.perf_counter()
stsdetect.ais.read_ais([line.strip()], workers=1)
t6 = time.perf_counter()
print(json.dumps({"import numba": t1 - t0, "import stsdetect.ais": t2 - t1,
                  "numba target init": t3 - t2, "kernel cache load + first call": t4 - t3,
                  "first read_ais": t5 - t4, "second read_ais": t6 - t5}))
"""


_FRESH = r"""
import io, json, resource, sys, time
import numpy as np
from stsdetect.ais.kernel import Workspace, decode_chunk
from stsdetect.ais.reader import _WS_SLACK, _chunks
""" + inspect.getsource(_thp_faults) + r"""
def thp():
    return _thp_faults() or 0

with open(sys.argv[1], "rb") as f:
    data = f.read(3 << 20)
chunks = [(a.copy(), n, c) for a, n, c in _chunks(io.BytesIO(data), 1 << 20, 2)]
a, n, c = chunks[min(1, len(chunks) - 1)]
line = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n"
# the kernel loaded, for a writable chunk (a read-only one is another signature: loading
# it on the first chunk cost ~900 faults of the compiler's)
decode_chunk(np.frombuffer(line, np.uint8).copy(), len(line))
spaces = [Workspace((1 << 20) + _WS_SLACK) for _ in range(6)]
times = {"fresh": [], "warm": []}
f0, h0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, thp()
for kind in ("fresh", "warm"):
    for ws in spaces:
        t = time.perf_counter()
        decode_chunk(a, n, c, ws, copy=False)
        times[kind].append(time.perf_counter() - t)
    if kind == "fresh":
        f1, h1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, thp()
print(json.dumps({"fresh": sum(times["fresh"]) / 6, "warm": sum(times["warm"]) / 6,
                  "minflt": (f1 - f0) / 6, "thp": (h1 - h0) / 6}))
"""


def fresh_workspaces(lines: int, repeat: int, env: dict) -> None:
    """Print a workspace's first chunk against a warm one's, per layout (fresh processes)."""
    print(f"fresh workspaces: one 1 MiB chunk into 6 fresh workspaces, then again, ms per "
          f"chunk, best of {repeat} processes; faults per fresh workspace")
    print(f"  {'layout':<46} {'fresh ms':>9} {'warm ms':>8} {'minflt':>7} {'thp':>5}")
    for name in LAYOUTS:
        path = make_dump(name, lines)
        runs = [json.loads(subprocess.run(
            [sys.executable, "-c", _FRESH, str(path)], env=env, check=True,
            capture_output=True, text=True).stdout.strip().splitlines()[-1])
            for _ in range(repeat)]
        best = min(runs, key=lambda r: r["fresh"])
        print(f"  {name:<46} {best['fresh'] * 1e3:>9.2f} "
              f"{min(r['warm'] for r in runs) * 1e3:>8.2f} {best['minflt']:>7.0f} "
              f"{best['thp']:>5.1f}", flush=True)


def kernel_rates(lines: int, repeat: int) -> None:
    """Print decode_chunk's lines per CPU and wall second on each layout's dump."""
    import io
    import time

    sys.path.insert(0, str(REPO / "src"))
    from stsdetect.ais.kernel import Workspace, decode_chunk
    from stsdetect.ais.reader import _WS_SLACK, _chunks

    chunk = 1 << 20
    print(f"decode_chunk, 1 MiB chunks, best of {repeat} (load average at start: "
          f"{os.getloadavg()[0]:.2f}); one thread, then two at once (the chunks dealt "
          "between them, each with its own workspace: 'x cpu' is their CPU time together "
          "over one thread's, what sharing the machine costs the kernel itself)")
    print(f"  {'layout':<46} {'lines':>8} {'cpu Ml/s':>9} {'wall Ml/s':>9} {'cpu MB/s':>9} "
          f"{'2 thr cpu Ml/s':>14} {'x cpu':>6} {'2/1 wall':>8}")
    spaces = [Workspace(chunk + _WS_SLACK) for _ in range(2)]
    for name in LAYOUTS:
        data = make_dump(name, lines).read_bytes()
        n_lines = data.count(b"\n") or data.count(b"\r")  # (CR-only dumps: their lines)
        chunks = [(a.copy(), n, c) for a, n, c in _chunks(io.BytesIO(data), chunk, 2)]
        decode_chunk(*chunks[0][:2], chunks[0][2], spaces[0])
        cpu = wall = cpu2 = wall2 = float("inf")
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            for a, n, c in chunks:
                decode_chunk(a, n, c, spaces[0])
            wall = min(wall, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            _on_two_threads(decode_chunk, chunks, spaces)
            wall2 = min(wall2, time.perf_counter() - t0)
            cpu2 = min(cpu2, time.process_time() - c0)
        print(f"  {name:<46} {n_lines:>8} {n_lines / cpu / 1e6:>9.2f} "
              f"{n_lines / wall / 1e6:>9.2f} {len(data) / cpu / 1e6:>9.0f} "
              f"{n_lines / cpu2 / 1e6:>14.2f} {cpu2 / cpu:>6.3f} {wall / wall2:>8.2f}",
              flush=True)


def _on_two_threads(decode_chunk, chunks: list, spaces: list) -> None:
    """Decode ``chunks`` on two threads at once, every other chunk each, each thread with
    its own workspace (the copied results dropped: the kernel alone, no reader)."""
    import threading

    def run(part, ws):
        for a, n, c in part:
            decode_chunk(a, n, c, ws)

    threads = [threading.Thread(target=run, args=(chunks[i::2], spaces[i])) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--lines", type=int, default=200_000)
    args = ap.parse_args()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO / "src"),
                                                    env.get("PYTHONPATH", "")] if p)
    subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True,
                   capture_output=True)  # compiles the kernel if its cache is cold
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True,
                             capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"fresh-process start-up, best of {args.repeat} (load average at end: "
          f"{os.getloadavg()[0]:.2f}, wall seconds)")
    for step in runs[0]:
        print(f"  {step:<34} {min(r[step] for r in runs):7.3f}")
    first = min(r["numba target init"] + r["kernel cache load + first call"]
                + r["first read_ais"] for r in runs)
    print(f"  {'first read_ais call as a caller sees it':<34} {first:7.3f}  "
          "(target init + kernel load + first read_ais)")
    fresh_workspaces(args.lines, args.repeat, env)
    kernel_rates(args.lines, args.repeat)


if __name__ == "__main__":
    main()
