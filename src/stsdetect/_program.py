"""What the ``stsdetect`` program sets for its own process (never the library).

:func:`stsdetect.cli.console` -- the ``stsdetect`` program and ``python -m stsdetect`` -- owns its
process from start to exit (it already leaves without the interpreter's module teardown), so it
may choose the cyclic garbage collector's schedule. :func:`stsdetect.cli.main` and every library
function leave the collector as they find it.
"""

from __future__ import annotations

import gc

#: The program's collector thresholds (:func:`gc.set_threshold`): CPython's defaults for the two
#: young generations (700 allocations, 10 young collections), and a full collection after 1,000
#: collections of the middle generation instead of 10. A run imports pandas, numba (whose
#: target initialisation alone builds several hundred thousand objects) and stsdetect, which
#: leaves about a million long-lived objects that every full collection walks again: on the
#: 1.31M-line dump of ``bench_engine.py e2e`` the default schedule made 3 full collections, about
#: 0.14 CPU s of a 1.6 s run, and finding nothing to free. Cycles are still collected by the
#: young collections as before; only those that outlived two young collections wait longer
#: (a full collection still runs after about 7M net allocations of container objects).
PROGRAM_GC_THRESHOLDS = (700, 10, 1000)


def configure_gc() -> None:
    """Set :data:`PROGRAM_GC_THRESHOLDS` (the program only: see the module notes)."""
    gc.set_threshold(*PROGRAM_GC_THRESHOLDS)
