"""What the ``stsdetect`` program sets for its own process (never the library).

:func:`stsdetect.cli.console` -- the ``stsdetect`` program and ``python -m stsdetect`` -- owns its
process from start to exit (it already leaves without the interpreter's module teardown), so it
may choose the cyclic garbage collector's schedule (:func:`configure_gc`) and NumPy's memory
advice (:func:`configure_memory`). :func:`stsdetect.cli.main` and every library function leave
both as they find them.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import sys

#: The program's collector thresholds (:func:`gc.set_threshold`): a young collection after
#: 10,000 net allocations of container objects instead of 700, the middle generation after 100
#: of those instead of 10, and a full collection after 100 of those instead of 10. A run imports
#: pandas, numba (whose target initialisation alone builds about a hundred thousand objects)
#: and stsdetect: with CPython's defaults, on the 1.31M-line dump of ``bench_engine.py e2e``,
#: about 380 collections walked those long-lived objects again and again (0.17-0.23 CPU s of a
#: 1.6 s run, 3 of them full collections that found nothing to free); with these, 26 young
#: collections (0.04 s). Cycles are still freed: those that die young at the next young
#: collection, the rest at the next collection of their generation (a full one after about
#: 100M net allocations).
PROGRAM_GC_THRESHOLDS = (10_000, 100, 100)


def configure_gc() -> None:
    """Set :data:`PROGRAM_GC_THRESHOLDS` (the program only: see the module notes)."""
    gc.set_threshold(*PROGRAM_GC_THRESHOLDS)


#: The environment variable NumPy reads at import for its huge-page advice (NumPy's
#: documentation, "Environment variables"); when a user sets it, the program leaves the choice
#: to NumPy and the user.
HUGEPAGE_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"


def configure_memory() -> None:
    """Turn off NumPy's transparent-huge-page advice for this process (the program only).

    On Linux NumPy asks the kernel (``madvise(MADV_HUGEPAGE)``) to back every array of 4 MiB
    or more with 2 MiB pages. Where transparent huge pages are on "madvise" (a common default,
    and this project's benchmark host, with defrag on "madvise" too) each first touch of such
    a page makes the kernel find, and if need be compact, a free 2 MiB page and zero all of it
    while the process waits: on the 1.31M-line dump of ``bench_engine.py e2e`` a quarter of
    ``stsdetect detect``'s samples were the kernel zeroing huge pages, and runs were 0.06-0.14
    CPU s faster without the advice (best of 8 fresh processes each, alternated, pinned to one
    core: 1.54 against 1.66 CPU s, system time 0.29 against 0.35), the events identical. The
    program's arrays live for one run, too briefly for the fewer TLB misses of huge pages to
    pay back. With the ``malloc`` settings below as well, huge pages on against off (8
    fresh processes each, alternated): 1.466 against 1.461 CPU s best, but 1.641 against
    1.585 median, system time 0.373 against 0.299 median -- the stalls, not the zeroing.

    A user's :data:`HUGEPAGE_VARIABLE` is left in force. If NumPy is not imported yet (``stsdetect
    --help`` never imports it), the setting is made right after it is, by a one-shot import
    hook, so commands that do not need NumPy still do not import it.

    With glibc, the program's ``malloc`` also gets :data:`PROGRAM_MALLOC` (``mallopt``; the
    settings of the Dask workers, :data:`stsdetect.dask.WORKER_MALLOC`): arrays up to 32 MB
    come from the heap, and freed memory is kept for the next arrays instead of being handed
    back to the kernel and faulted in, zeroed, again (each MB faulted in costs about 0.5 ms
    of system time in 4 KiB pages). On the same dump: 10 fresh processes each, alternated,
    1.540 -> 1.468 CPU s best (system time 0.296 -> 0.248), 1.602 -> 1.574 median. A
    setting the user made in the environment (``MALLOC_*_``, ``GLIBC_TUNABLES``) is left
    in force.
    """
    _set_malloc()
    if HUGEPAGE_VARIABLE in os.environ:
        return
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        _no_hugepages(numpy)
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("numpy", _no_hugepages))


#: The program's glibc ``malloc`` settings (:func:`configure_memory`): ``mallopt`` parameter
#: number (glibc's ``malloc.h``) -> (value, the environment variable that would set it).
#: The same values as :data:`stsdetect.dask.WORKER_MALLOC`: arrays up to 32 MB (glibc's own
#: largest adaptive threshold) from the heap, which keeps up to 256 MB free before shrinking
#: and grows by 64 MB at a time.
PROGRAM_MALLOC = {-3: (32 * 2**20, "MALLOC_MMAP_THRESHOLD_"),  # M_MMAP_THRESHOLD
                  -1: (256 * 2**20, "MALLOC_TRIM_THRESHOLD_"),  # M_TRIM_THRESHOLD
                  -2: (64 * 2**20, "MALLOC_TOP_PAD_")}  # M_TOP_PAD


def _set_malloc(mallopt=None) -> list:
    """Apply :data:`PROGRAM_MALLOC` with glibc's ``mallopt`` (or the given one); returns the
    (parameter, value) pairs set. Nothing on another C library, nor where the user set the
    environment variable (or any ``glibc.malloc`` tunable)."""
    if mallopt is None:
        try:
            if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
                return []
            import ctypes

            mallopt = ctypes.CDLL(None).mallopt
        except (AttributeError, OSError, ValueError):  # no confstr name, no libc symbol
            return []
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return []
    done = []
    for param, (value, variable) in PROGRAM_MALLOC.items():  # three settings
        if variable not in os.environ and mallopt(param, value) == 1:  # 1: accepted
            done.append((param, value))
    return done


def _no_hugepages(numpy) -> None:
    try:  # NumPy 2 keeps it in numpy._core, NumPy 1 in numpy.core
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:  # a NumPy without the switch: nothing to turn off
            return
    _set_madvise_hugepage(False)


class _AfterImport:
    """A one-shot import hook (a :data:`sys.meta_path` finder): once the module ``name`` has
    been executed, ``then(module)`` is called. The hook takes itself out at the first import
    of ``name``; the module is found and loaded by the other finders, as without it."""

    def __init__(self, name: str, then):
        self.name, self.then = name, then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module, then = loader.exec_module, self.then

        def exec_then(module):
            exec_module(module)
            try:
                then(module)
            except Exception:  # an optimisation only: never fail the import over it
                pass

        loader.exec_module = exec_then  # this spec's own loader instance
        return spec
