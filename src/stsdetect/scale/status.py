"""Navigational-status counts of a windowed run, window by window (bounded memory).

The context stage asks two questions of the AIS navigational status, both for a list of
queries (vessel, time range ``[lo, hi]``): how many reports have a known status, say "at
anchor" (1), say "moored" (5) -- the moored share of a stop (berths) and the majority status
of an event's participant -- and, where no status has a majority, the status of the middle
report of the range (:func:`stsdetect.context.columns._nav_status`). In memory both are
answered by a :class:`stsdetect.context.StatusIndex` over all the positions.

A windowed run answers them without holding more than one window: counts add up over the
windows (each window counts its core's reports of the queries' vessels), and a middle report
is the ``(n - 1) // 2``-th of the range in (time, input) order, which is found from the
per-window totals and then read in the one window that holds it. :class:`WindowedStatus` has
the part of :class:`~stsdetect.context.StatusIndex`'s interface that
:func:`~stsdetect.context.find_anchorages` and :func:`~stsdetect.context.add_context` use
(``counts``, ``status``, ``vessels``), so both run unchanged and give the same columns as an
in-memory run. Its memory is one window's reports of the queried vessels plus a few numbers
per query and window, whatever the span (the earlier end-of-run read of every participant's
statuses over the whole run grew with participants x span).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["WindowedStatus", "status_task"]

_NAT = np.iinfo(np.int64).min


def status_task(workdir, k: int, queries: pd.DataFrame, plan, schema=None) -> dict:
    """Status counts and runs of window ``k``'s core for the queries that overlap it.

    Parameters
    ----------
    workdir : path
        Spill folder.
    k : int
        Window number: its core ``[k W, (k + 1) W)`` is read (``mmsi``, ``time``,
        ``nav_status`` of the queries' vessels, in input order).
    queries : pandas.DataFrame
        ``q`` (query number), ``mmsi``, ``lo``, ``hi`` (int64 epoch ns, inclusive).
    plan : stsdetect.scale.windows.WindowPlan
        For the window length.
    schema : pyarrow.Schema, optional
        Unified schema of the spill.

    Returns
    -------
    dict
        ``counts``: a table ``q``, ``known``, ``n1``, ``n5``, ``total`` (reports in the
        range, whatever their status); ``runs``: the statuses of each query's reports in
        this core, in (time, input) order, run-length encoded: ``q``, ``status`` (-1
        unknown), ``length`` (ships at anchor or moored report one status for days: a
        handful of runs per query).
    """
    from stsdetect.context.columns import StatusIndex
    from stsdetect.scale.windows import load_positions

    a_ns = int(k) * plan.window_ns
    q = queries["q"].to_numpy(np.int64)
    q_mmsi = queries["mmsi"].to_numpy(np.int64)
    lo, hi = queries["lo"].to_numpy(np.int64), queries["hi"].to_numpy(np.int64)
    pos = load_positions(workdir, plan, a_ns, a_ns + plan.window_ns, mmsi=np.unique(q_mmsi),
                         schema=schema, columns=("mmsi", "time", "nav_status"))
    n = q.size
    zero = np.zeros(n, np.int64)
    if not (len(pos) and "nav_status" in pos.columns):
        return {"counts": pd.DataFrame({"q": q, "known": zero, "n1": zero, "n5": zero,
                                        "total": zero}),
                "runs": pd.DataFrame({"q": zero[:0], "status": zero[:0], "length": zero[:0]})}
    index = StatusIndex(pos, q_mmsi)
    known, n1, n5, a, b = index.counts(q_mmsi, lo, hi)
    counts = pd.DataFrame({"q": q, "known": known, "n1": n1, "n5": n5,
                           "total": (b - a).astype(np.int64)})
    # runs of equal status in the index, then each query's slice [a, b) cut into them
    st = index.status
    starts = np.flatnonzero(np.concatenate(([True], st[1:] != st[:-1]))) if st.size else \
        np.zeros(0, np.int64)
    ends = np.append(starts[1:], st.size)
    has = b > a
    j0 = np.searchsorted(starts, a[has], side="right") - 1
    j1 = np.searchsorted(starts, b[has] - 1, side="right") - 1
    nr = j1 - j0 + 1
    which = np.repeat(np.flatnonzero(has), nr)
    first = np.repeat(np.cumsum(nr) - nr, nr)
    j = np.repeat(j0, nr) + (np.arange(nr.sum()) - first)
    length = np.minimum(ends[j], b[which]) - np.maximum(starts[j], a[which])
    runs = pd.DataFrame({"q": q[which], "status": st[starts[j]], "length": length})
    return {"counts": counts, "runs": runs}


class _Middle:
    """``status[i]``: the middle report's status of query ``i`` of the last ``counts``."""

    def __init__(self, owner):
        self.owner = owner

    def __getitem__(self, ids):
        return self.owner._middle(np.asarray(ids, np.int64))


class WindowedStatus:
    """A :class:`stsdetect.context.StatusIndex` stand-in answered window by window.

    Parameters
    ----------
    executor : LocalExecutor or stsdetect.dask.DaskExecutor
        Runs :func:`status_task` (one task per window a query overlaps).
    workdir : path or stsdetect.scale.spill.MemorySpill
        Spill folder, or the spill held in memory.
    plan : stsdetect.scale.windows.WindowPlan
        Window length.
    windows : array_like of int
        The windows of the run (sorted).
    schema : pyarrow.Schema, optional
        Unified schema of the spill.

    Notes
    -----
    ``counts(q_mmsi, lo, hi)`` returns ``known, n1, n5, a, b`` like
    :meth:`StatusIndex.counts <stsdetect.context.StatusIndex.counts>`; ``a`` and ``b`` are not
    positions in an index but ``a = i`` (the query's number) and ``b = a + 1`` when the range
    holds reports (``b = a`` when not), so ``status[(a + b - 1) // 2]`` -- how
    :func:`~stsdetect.context.columns._nav_status` reads the middle report -- is
    ``status[i]``: the middle report of query ``i``, found in the queries' run-length encoded
    statuses the window tasks returned. ``vessels`` is None: every vessel is covered.

    Queries given to :meth:`prefetch` beforehand (the stops' and the event participants'
    ranges, both known when the context stage starts) are answered from one pass over the
    windows; any other query is fetched when asked.
    """

    def __init__(self, executor, workdir, plan, windows, schema=None):
        self.executor = executor
        from stsdetect.scale.spill import MemorySpill

        # a spill held in memory is passed as it is: its tasks run in this process
        self.workdir = workdir if isinstance(workdir, MemorySpill) else str(workdir)
        self.plan = plan
        self.windows = np.asarray(windows, np.int64)
        self.schema = schema
        #: None: every vessel is covered (no positions needed beside this index).
        self.vessels = None
        self.status = _Middle(self)
        #: Passes over the windows and tasks run.
        self.n_passes = self.n_tasks = 0
        self._keys = pd.DataFrame({"mmsi": np.zeros(0, np.int64), "lo": np.zeros(0, np.int64),
                                   "hi": np.zeros(0, np.int64)})
        self._sums = np.zeros((0, 4), np.int64)  # known, n1, n5, total per fetched query
        self._run_status = np.zeros(0, np.int64)  # runs of all fetched queries, by query
        self._run_end = np.zeros(0, np.int64)  # cumulative lengths
        self._run_first = np.zeros(0, np.int64)  # first run of each fetched query
        self._asked = np.zeros(0, np.int64)  # fetched rows of the last counts' queries

    def prefetch(self, q_mmsi, lo, hi) -> None:
        """Fetch the statuses of these queries (MMSI, ``[lo, hi]``) in one pass."""
        self._lookup(np.asarray(q_mmsi, np.int64), np.asarray(lo, np.int64),
                     np.asarray(hi, np.int64))

    def _rows(self, want: pd.DataFrame) -> pd.Series:
        """Row of each query (``mmsi``, ``lo``, ``hi``) in the fetched table; NaN if not
        fetched."""
        keyed = self._keys.assign(row=np.arange(len(self._keys), dtype=np.int64))
        return want.merge(keyed, how="left", on=["mmsi", "lo", "hi"])["row"]

    def _lookup(self, q, lo, hi) -> np.ndarray:
        """Rows of the fetched table for the queries, fetching those not there yet."""
        want = pd.DataFrame({"mmsi": q, "lo": lo, "hi": hi})
        row = self._rows(want)
        missing = row.isna().to_numpy()
        if missing.any():
            self._fetch(want.loc[missing].drop_duplicates(ignore_index=True))
            row = self._rows(want)
        return row.to_numpy(np.int64)

    def plan_fetch(self, q_mmsi, lo, hi):
        """The queries not fetched yet (distinct) and their :func:`status_task` jobs.

        For a driver that runs the status tasks in a round of its own tasks (the windowed
        finish: one task per window for loitering drift, heard counts and statuses): it runs
        ``status_task(workdir, k, jobs[k], plan, schema)`` for each window ``k`` of ``jobs``
        and hands the results, in window order, to :meth:`absorb` with ``new``.

        Returns
        -------
        new : pandas.DataFrame
            ``mmsi``, ``lo``, ``hi`` of the queries to fetch.
        jobs : dict
            Window number -> its queries (``q`` numbers rows of ``new``), in window order.
        """
        want = pd.DataFrame({"mmsi": np.asarray(q_mmsi, np.int64),
                             "lo": np.asarray(lo, np.int64), "hi": np.asarray(hi, np.int64)})
        new = want.loc[self._rows(want).isna().to_numpy()].drop_duplicates(ignore_index=True)
        return new, self._jobs(new)

    def _jobs(self, new: pd.DataFrame) -> dict:
        from stsdetect.scale.windows import jobs_by_window

        q = new["mmsi"].to_numpy(np.int64)
        lo, hi = new["lo"].to_numpy(np.int64), new["hi"].to_numpy(np.int64)
        w = self.plan.window_ns
        ok = (lo != _NAT) & (hi != _NAT) & (q >= 0)
        k0 = np.where(ok, np.minimum(lo, hi) // w, 0)
        k1 = np.where(ok, np.maximum(lo, hi) // w, -1)
        frame = pd.DataFrame({"q": np.arange(q.size, dtype=np.int64), "mmsi": q, "lo": lo,
                              "hi": hi})
        return jobs_by_window(frame, k0, k1, self.windows)

    def _fetch(self, new: pd.DataFrame) -> None:
        """One pass over the windows for ``new`` queries (distinct); appended to the table."""
        by_window = self._jobs(new)
        ks, jobs = list(by_window), list(by_window.values())
        m = len(ks)
        self.absorb(new, self.executor.map(status_task, [self.workdir] * m, ks, jobs,
                                           plan=self.plan, schema=self.schema))

    def absorb(self, new: pd.DataFrame, parts) -> None:
        """Add the answers of :func:`status_task` over the windows (``parts``, in window
        order) to the queries ``new`` (see :meth:`plan_fetch`)."""
        base = len(self._keys)
        q = new["mmsi"].to_numpy(np.int64)
        sums = np.zeros((q.size, 4), np.int64)
        runs = []
        n_parts = self.n_tasks
        for part in parts:  # window order
            self.n_tasks += 1
            c = part["counts"]
            sums[c["q"].to_numpy(np.int64)] += c[["known", "n1", "n5", "total"]].to_numpy(
                np.int64)  # a query appears once per window
            runs.append(part["runs"])
        # a pass over the windows (queries with no vessel or no time touch none: no pass)
        self.n_passes += int(self.n_tasks > n_parts)
        runs = pd.concat([pd.DataFrame({"q": np.zeros(0, np.int64),
                                        "status": np.zeros(0, np.int64),
                                        "length": np.zeros(0, np.int64)}), *runs],
                         ignore_index=True)
        # by query, windows (so reports) in order within each
        order = np.argsort(runs["q"].to_numpy(np.int64), kind="stable")
        r_q = runs["q"].to_numpy(np.int64)[order] + base
        r_status = runs["status"].to_numpy(np.int64)[order]
        r_len = runs["length"].to_numpy(np.int64)[order]
        offset = self._run_end[-1] if self._run_end.size else 0
        first = np.searchsorted(r_q, base + np.arange(q.size)) + self._run_status.size
        self._keys = pd.concat([self._keys, new[["mmsi", "lo", "hi"]]], ignore_index=True)
        self._sums = np.concatenate([self._sums, sums])
        self._run_first = np.concatenate([self._run_first, first])
        self._run_status = np.concatenate([self._run_status, r_status])
        self._run_end = np.concatenate([self._run_end, offset + np.cumsum(r_len)])

    def counts(self, q_mmsi, lo, hi):
        """Per query (MMSI, ``[lo, hi]`` in int64 epoch ns): reports with a known status, at
        anchor (1), moored (5), and the ``a``, ``b`` of the class notes."""
        q = np.asarray(q_mmsi, np.int64)
        rows = self._lookup(q, np.asarray(lo, np.int64), np.asarray(hi, np.int64))
        self._asked = rows
        sums = self._sums[rows]
        a = np.arange(q.size, dtype=np.int64)
        b = a + (sums[:, 3] > 0)
        return sums[:, 0], sums[:, 1], sums[:, 2], a, b

    def _middle(self, ids):
        """Status of the middle report, in (time, input) order, of each given query of the
        last ``counts`` (-1 where unknown or none)."""
        out = np.full(ids.size, -1, np.int64)
        rows = self._asked[ids]
        total = self._sums[rows, 3]
        has = total > 0
        rows, m = rows[has], (total[has] - 1) // 2
        first = self._run_first[rows]
        before = np.where(first > 0, self._run_end[np.maximum(first - 1, 0)], 0)
        run = np.searchsorted(self._run_end, before + m, side="right")
        out[has] = self._run_status[run]
        return out
