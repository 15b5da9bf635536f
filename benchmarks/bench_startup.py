"""Where the time of ``stsdetect detect`` goes, and whether 1M reports/s on one core can fit.

Usage::

    python benchmarks/bench_startup.py [--lines 1250000] [--repeat 3] [--one-core]

On the dump of ``bench_engine.py e2e`` (a three-day, ~1.3M-line tag-block dump of about 260
vessels made with ``stsdetect simulate``), each of ``--repeat`` fresh processes first imports,
one group at a time, what the command needs -- numpy, pyarrow, pandas, numba, then numba's
one-time target initialisation split in its three parts (the BLAS check in
``numba.np.arraymath`` that imports ``scipy.linalg``; the ``cffi.FFI()`` its typing registry
makes, which imports ``pycparser``; the rest of its registries) and every other module the
command imports (stsdetect's, shapely, ...) -- then runs ``stsdetect detect DUMP -o FILE -q``
through ``cli.main`` with every stage timed (the rows of ``bench_engine.py stages``, whose
``read_ais`` row here no longer holds numba's initialisation). Interpreter start-up is
``python -c pass`` timed from outside. Rows are best of N, CPU (user + system) and wall.

Then the arithmetic of the goal (#16 point 8): at 1M reports/s the whole run may take
``lines / 1e6`` seconds of one core. The fixed start-up (interpreter + imports + numba's
initialisation) is subtracted from that budget, and what is left is set against the measured
work (decoding and every stage). ``--one-core`` pins the children to CPU 0 (``taskset -c 0``
equivalent), so decoding runs its threads on one core. Each child first sets the garbage
collector's schedule as the ``stsdetect`` program does (:mod:`stsdetect._program`). The last
rows time the program itself
(``python -m stsdetect detect ...``, best of ``--repeat``), the figure the goal is about; the
rows above say where its time goes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parent / "src")

#: The start-up groups, imported in this order in each fresh process: (row, code). numba's
#: target initialisation (``cpu_target.target_context.refresh()``, which the first call of any
#: compiled function makes) is split so that each part is measured exclusively: its BLAS check
#: imports ``scipy.linalg.cython_blas`` and its typing registry calls ``cffi.FFI()``.
GROUPS = (
    ("import numpy", "import numpy"),
    ("import pyarrow", "import pyarrow"),
    ("import pandas", "import pandas"),
    ("import numba", "import numba"),
    ("numba init: scipy.linalg", "import scipy.linalg.cython_blas"),
    ("numba init: cffi/pycparser", "import cffi; cffi.FFI()"),
    ("numba init: rest", "from numba.core.registry import cpu_target; "
                         "cpu_target.target_context.refresh()"),
)


def _child(argv) -> None:
    """One fresh process: the start-up groups, the other modules, then the timed command."""
    import importlib

    sys.path.insert(0, SRC)
    from stsdetect._program import configure_gc

    configure_gc()  # as the ``stsdetect`` program does first (cli.console)
    modules, command = json.loads(argv[0]), argv[1:]
    rows = {}
    for label, code in GROUPS:
        c, w, f = time.process_time(), time.perf_counter(), _minflt()
        try:
            exec(code, {})
        except ImportError:  # e.g. no cffi installed: numba then skips that part too
            pass
        rows[label] = (time.process_time() - c, time.perf_counter() - w, _minflt() - f)
    c, w, f = time.process_time(), time.perf_counter(), _minflt()
    for name in modules:  # what is left of the command's imports, in its order
        try:
            importlib.import_module(name)
        except Exception:  # a module importable only as a side effect of another
            pass
    rows["other modules (stsdetect, shapely, ...)"] = (time.process_time() - c,
                                                       time.perf_counter() - w, _minflt() - f)
    sys.path.insert(0, str(HERE))
    import bench_engine  # now cheap: numpy and pandas are loaded

    work, code = bench_engine.run_timed_command(command)
    print(json.dumps({"startup": rows, "work": work, "code": code}))
    sys.stdout.flush()
    os._exit(0)  # as the ``stsdetect`` program leaves (cli.console): no module teardown


def _minflt() -> int:
    """Minor page faults of this process so far (fresh pages touched)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _pin(one_core: bool):
    if not one_core:
        return None
    return lambda: os.sched_setaffinity(0, {0})


def main(argv=None) -> None:
    import argparse
    import resource
    import subprocess

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        return _child(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=None, help="where bench_engine.py keeps its dump")
    ap.add_argument("--lines", type=int, default=1_250_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one-core", action="store_true", help="pin the children to CPU 0")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import tempfile

    import bench_engine

    cache = Path(args.cache or tempfile.gettempdir())
    dump = bench_engine.make_dump(cache, args.lines)
    out = cache / "events-startup.csv"
    command = ["detect", str(dump), "-o", str(out), "-q"]
    modules = bench_engine._imported_modules(command)
    with open(dump, "rb") as fh:
        n_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b""))
    env = bench_engine._env()
    pin = _pin(args.one_core)

    def child_cpu(run):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = run()
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        # ru_minflt of RUSAGE_CHILDREN sums the children waited for (one here)
        return res, user + system, wall, (user, system, after.ru_minflt - before.ru_minflt)

    best: dict = {}

    def keep(label, cpu, wall, flt):
        old = best.get(label)
        best[label] = ((min(cpu, old[0]), min(wall, old[1]), min(flt, old[2])) if old
                       else (cpu, wall, flt))

    whole, program = [], []
    for _ in range(args.repeat):
        # the program itself, as a user runs it (no timing wrappers, no grouped imports)
        _, cpu, wall, split = child_cpu(lambda: subprocess.run(
            [sys.executable, "-m", "stsdetect", *command], check=True, env=env,
            stdout=subprocess.DEVNULL, preexec_fn=pin))
        program.append((cpu, wall, *split))
        _, cpu, wall, split = child_cpu(lambda: subprocess.run(
            [sys.executable, "-c", "pass"], check=True, env=env, preexec_fn=pin))
        keep("python start-up", cpu, wall, split[2])
        res, cpu, wall, split = child_cpu(lambda: subprocess.run(
            [sys.executable, __file__, "_child", json.dumps(modules), *command], check=True,
            capture_output=True, text=True, env=env, preexec_fn=pin))
        whole.append((cpu, wall, *split))
        got = json.loads(res.stdout.strip().splitlines()[-1])
        for label, (c, w, f) in got["startup"].items():
            keep(label, c, w, f)
        for label, (c, w, f) in got["work"].items():
            keep("work: " + label, c, w, f)
    startup = [k for k in best if not k.startswith("work: ")]
    work = [k for k in best if k.startswith("work: ")]
    print(f"stsdetect {' '.join(command)}: {n_lines:,} lines; best of {args.repeat} fresh "
          f"processes per row{', pinned to CPU 0' if args.one_core else ''}; load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'row':<42} {'cpu s':>7} {'wall s':>7} {'minflt':>8}")
    sums = {}
    for title, keys in (("fixed start-up", startup), ("work", work)):
        for k in keys:
            print(f"{k:<42} {best[k][0]:7.3f} {best[k][1]:7.3f} {best[k][2]:8,}")
        sums[title] = tuple(sum(best[k][i] for k in keys) for i in range(3))
        print(f"{'= ' + title:<42} {sums[title][0]:7.3f} {sums[title][1]:7.3f} "
              f"{sums[title][2]:8,}")
    numba_init = sum(best[k][0] for k in startup if k.startswith("numba init"))
    cpu_all = sums["fixed start-up"][0] + sums["work"][0]
    budget = n_lines / 1e6
    print(f"{'= sum of rows':<42} {cpu_all:7.3f} "
          f"{sums['fixed start-up'][1] + sums['work'][1]:7.3f}")
    print(f"whole child processes (best): cpu {min(r[0] for r in whole):.3f} s, wall "
          f"{min(r[1] for r in whole):.3f} s (+ python start-up, which they include)")
    print(f"the program, `python -m stsdetect {' '.join(command)}` (best): cpu "
          f"{min(r[0] for r in program):.3f} s, wall {min(r[1] for r in program):.3f} s = "
          f"{n_lines / min(r[0] for r in program) / 1e6:.2f}M lines per CPU s")
    # System time (page faults, reading the dump) moves most between runs on a shared host;
    # user time is the steadier figure to follow from run to run.
    for label, runs in (("whole child processes", whole), ("the program", program)):
        print(f"  {label}, each run: user + system s (minor faults) = "
              + ", ".join(f"{u:.2f} + {sy:.2f} ({flt:,})" for _, _, u, sy, flt in runs)
              + f" (best user {min(r[2] for r in runs):.3f})")
    print("  minflt: minor page faults, each a fresh 4 KiB page the process touched; on this "
          "kind of virtual machine they are most of the system time")
    print()
    print(f"budget at 1M reports/s on one core: {n_lines:,} lines -> {budget:.3f} CPU s")
    left = budget - sums["fixed start-up"][0]
    print(f"  - fixed start-up {sums['fixed start-up'][0]:.3f} (numba init {numba_init:.3f}) "
          f"= {left:.3f} s left for the work, which measures {sums['work'][0]:.3f} s "
          f"(read_ais {best.get('work: read_ais', (0, 0))[0]:.3f})")
    print(f"  sum of rows {cpu_all:.3f} CPU s = {n_lines / cpu_all / 1e6:.2f}M lines per CPU s; "
          f"goal {'met' if cpu_all <= budget else 'not met'}"
          f"{'' if cpu_all <= budget else f' by {cpu_all - budget:.3f} s'}")
    print(f"  without numba's initialisation (scipy.linalg, cffi and the registries): "
          f"{cpu_all - numba_init:.3f} s = {n_lines / (cpu_all - numba_init) / 1e6:.2f}M/s")


if __name__ == "__main__":
    main()
