"""What the ``stsdetect`` program sets for its own process (never the library).

:func:`stsdetect.cli.console` -- the ``stsdetect`` program and ``python -m stsdetect`` -- owns its
process from start to exit (it already leaves without the interpreter's module teardown), so it
may choose the cyclic garbage collector's schedule. :func:`stsdetect.cli.main` and every library
function leave the collector as they find it.
"""

from __future__ import annotations

import gc

#: The program's collector thresholds (:func:`gc.set_threshold`): a young collection after
#: 500,000 net allocations of container objects instead of 700, the middle generation after 100
#: of those instead of 10, and a full collection after 100 of those instead of 10. A run imports
#: pandas, numba (whose target initialisation alone builds about a hundred thousand objects)
#: and stsdetect: about 260,000 container objects that live to the end. Each young collection
#: walks the young objects still alive, so its cost is that of the survivors, and here nearly
#: every young object survives: on the 1.31M-line dump of ``bench_engine.py e2e``, with
#: CPython's defaults about 380 collections took 0.17-0.23 CPU s of a 1.6 s run (3 of them full
#: collections that found nothing to free); with a young threshold of 10,000, 26 young
#: collections still took 0.03-0.05 CPU s, 25 of them during the imports, and together freed
#: 1,353 objects. With 500,000 no collection runs in such a run at all. Cycles are still
#: freed, later: in a longer run (``--workers``, many files) a young collection follows every
#: 500,000 net container allocations (some 50-100 ms each, walking the survivors once), a
#: full one after about 5G.
PROGRAM_GC_THRESHOLDS = (500_000, 100, 100)


def configure_gc() -> None:
    """Set :data:`PROGRAM_GC_THRESHOLDS` (the program only: see the module notes)."""
    gc.set_threshold(*PROGRAM_GC_THRESHOLDS)
