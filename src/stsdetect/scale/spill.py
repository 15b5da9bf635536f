"""The positions spill of an in-process windowed run, held in memory up to a budget.

A windowed run writes every decoded report to a dataset partitioned by window and reads each
window back with its margins (:func:`stsdetect.scale.windows.spill_positions`,
:func:`~stsdetect.scale.windows.load_positions`). On disk that costs a write of every report,
a memory-mapped read of each window and its neighbours' edges (twice with the context stage:
the window tasks, then the status tasks of the finish) and the deletion of the folder; on the
14-day benchmark about 1.3 s of a 4.7 s run (``benchmarks/bench_windowed_warm.py``). When the
run's tasks share one process (:func:`stsdetect.scale.detect_windowed`) and its reports fit
in a budget, :class:`MemorySpill` keeps the same partitions as Arrow tables instead: a
decoded piece is referenced, not copied (cut into its partitions by zero-copy slices; sorted
first only when its rows are not already in window order), and a window's read filters its
partitions' slices by time as the disk route's reader does. Past the budget, everything held
is written to disk and the run goes on there, so memory stays bounded by the budget plus one
window. The partitions, keys and order are the disk spill's, so the events are the same.
(:class:`pyarrow.dataset.InMemoryDataset` would hold the tables too, but it keeps no
partition expressions, so every window's read would test every report held.)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_SPILL_MEMORY_BYTES", "MemorySpill"]

#: Bytes of spilled reports a windowed run holds in memory before it writes them to disk:
#: 1 GiB, about 16 million reports (67 bytes each as an uncompressed Arrow table: the 14-day
#: benchmark's 6.2 million take 0.41 GB). It is the headroom left by the largest measured
#: out-of-core run: a simulated month (30 days, 1,500 vessels, 259 million reports) peaks at
#: 3.3 GB in its window phase (``docs/scaling.md``), and its decode phase (1.5 GB) plus a full
#: budget stays under that, so the month still runs under the 4 GB of issue #16. Set 0 to
#: always spill to disk.
DEFAULT_SPILL_MEMORY_BYTES = 1 << 30


class MemorySpill:
    """The positions partitions of a run, in memory until they exceed a budget.

    It stands where a spill folder's path stands (``os.fspath`` gives the folder, which
    still holds the run's small side tables), so the tasks of an in-process run take it in
    place of ``workdir``.

    Parameters
    ----------
    path : path
        The run's spill folder: the side tables go there, and the positions too once the
        budget is exceeded.
    budget_bytes : int
        Largest size of the Arrow tables held (``Table.nbytes``).
    write : callable
        ``write(table, part=name)`` writes a piece to the folder (the disk route).
    """

    def __init__(self, path, budget_bytes: int, write):
        self.path = Path(path)
        self.budget_bytes = int(budget_bytes)
        self._piece_bytes = self._side_bytes = 0
        #: True once the pieces have been written to disk (the budget was exceeded).
        self.on_disk = False
        self._write = write
        self._pieces: list = []  # (part name, table) in input order, for a flush to disk
        self._parts: dict = {}  # (window, part of window) -> slices of the pieces, in order
        self._side: dict = {}  # (folder, window) -> a side table of the windows' tasks

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    @property
    def nbytes(self) -> int:
        """Bytes held: the positions' Arrow tables and the side tables."""
        return self._piece_bytes + self._side_bytes

    def hold(self, key, table) -> bool:
        """Hold a window task's side table (a pandas DataFrame, not modified afterwards)
        under ``key`` if the budget has room and nothing went to disk; return whether it
        did (if not, the caller writes a file)."""
        size = int(table.memory_usage(index=False).sum())
        if self.on_disk or self.nbytes + size > self.budget_bytes:
            return False
        self._side[key] = table
        self._side_bytes += size
        return True

    def held(self, key):
        """The side table held under ``key``, or None."""
        return self._side.get(key)

    def add(self, table, part: str, window_col: str, part_col: str, n_parts: int) -> None:
        """Hold a piece (with its window and part-of-window columns), or write it to disk
        when the budget is exceeded (with everything held before it)."""
        if self.on_disk:
            self._write(table, part=part)
            return
        key = (table.column(window_col).to_numpy() * n_parts
               + table.column(part_col).to_numpy().astype(np.int64))
        if key.size > 1 and not bool(np.all(key[1:] >= key[:-1])):
            order = np.argsort(key, kind="stable")  # a partition's rows keep input order
            table, key = table.take(order), key[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        ends = np.append(starts[1:], key.size)
        for a, b, k in zip(starts.tolist(), ends.tolist(), key[starts].tolist(),
                           strict=True):  # loop over the piece's partitions (windows x parts)
            self._parts.setdefault(divmod(k, n_parts), []).append(table.slice(a, b - a))
        self._pieces.append((part, table))
        self._piece_bytes += table.nbytes
        if self.nbytes > self.budget_bytes:
            self.flush()

    def flush(self) -> None:
        """Write every piece held to disk and hold no more (side tables held stay held)."""
        for part, table in self._pieces:  # loop over the pieces (dumps x chunks)
            self._write(table, part=part)
        self._pieces, self._parts, self._piece_bytes, self.on_disk = [], {}, 0, True

    def slices(self, keys) -> list:
        """The held slices of these partitions (``(window, part)`` pairs) as ``(key,
        slice)`` pairs, in key order and, within a key, in input order."""
        return [(key, s) for key in sorted(keys) for s in self._parts.get(key, ())]
