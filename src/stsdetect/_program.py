"""What the ``stsdetect`` program sets for its own process (never the library).

:func:`stsdetect.cli.console` -- the ``stsdetect`` program and ``python -m stsdetect`` -- owns its
process from start to exit (it already leaves without the interpreter's module teardown), so it
may choose the cyclic garbage collector's schedule. :func:`stsdetect.cli.main` and every library
function leave the collector as they find it.
"""

from __future__ import annotations

import gc

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
