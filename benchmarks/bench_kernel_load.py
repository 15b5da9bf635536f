"""Start-up cost of the NMEA kernel in a fresh process: imports, numba's start-up, cache load.

Run ``python benchmarks/bench_kernel_load.py [--repeat 5]`` (under the shared lock:
``flock /tmp/bench.lock python benchmarks/bench_kernel_load.py``). Each repeat is a fresh
Python process that times, in order:

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
first ``read_ais``). The kernel must already be compiled (any earlier run compiles it;
``benchmarks/bench_decode.py`` prints the cold compile time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

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
decode_chunk(np.frombuffer(line, np.uint8), len(line))
t4 = time.perf_counter()
stsdetect.ais.read_ais([line.strip()], workers=1)
t5 = time.perf_counter()
stsdetect.ais.read_ais([line.strip()], workers=1)
t6 = time.perf_counter()
print(json.dumps({"import numba": t1 - t0, "import stsdetect.ais": t2 - t1,
                  "numba target init": t3 - t2, "kernel cache load + first call": t4 - t3,
                  "first read_ais": t5 - t4, "second read_ais": t6 - t5}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
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


if __name__ == "__main__":
    main()
