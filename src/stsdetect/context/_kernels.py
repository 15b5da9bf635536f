"""Compiled (numba) kernels of the context stage.

The stops' row passes (:func:`stsdetect.context.stops.stop_pieces`): whether the rows are
in (mmsi, time) order, which reports without a speed need one from their next report, which
slow steps may link two reports, and the slow rows of a time range with their pieces' starts
-- each one pass over the rows, the distances left to NumPy (the same formulas as before).

The crowd: one pass over the candidates instead of materialised pair tables: the crowd around
an event is counted over a 3-D grid of unit vectors (cells one search chord wide, so the 27 cells
around an event hold every stop within the chord; correct across the antimeridian and at the
poles, as the k-d trees of the detectors are), with a per-vessel marker so that a vessel with
several stops near an event counts once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from stsdetect.geo import GRID_BIAS, GRID_BITS, grid_cell, grid_keys

__all__ = ["crowd_counts", "speedless_steps", "stop_rows", "stop_steps"]

# The grid's cell keys are geo's (one grid shared with the detectors' pair search); the kernel
# below works out the same keys from coordinates.
_BIAS = GRID_BIAS
_BITS = GRID_BITS


@njit(cache=True, nogil=True)
def _crowd(keys, sx, sy, sz, s0, s1, scode, n_codes, ex, ey, ez, e0, e1, ea, eb, cell,
           chord2):  # pragma: no cover - compiled
    n = ex.size
    out = np.zeros(n, np.int64)
    mark = np.full(n_codes, -1, np.int64)
    for i in range(n):
        if not (np.isfinite(ex[i]) and np.isfinite(ey[i]) and np.isfinite(ez[i])):
            continue
        ci = np.int64(np.floor(ex[i] / cell)) + _BIAS
        cj = np.int64(np.floor(ey[i] / cell)) + _BIAS
        ck = np.int64(np.floor(ez[i] / cell)) + _BIAS
        count = 0
        for di in range(-1, 2):
            for dj in range(-1, 2):
                for dk in range(-1, 2):
                    key = ((ci + di) << (2 * _BITS)) | ((cj + dj) << _BITS) | (ck + dk)
                    lo = np.searchsorted(keys, key)
                    j = lo
                    while j < keys.size and keys[j] == key:
                        c = scode[j]
                        if c != ea[i] and c != eb[i] and mark[c] != i \
                                and s0[j] < e1[i] and s1[j] > e0[i]:
                            dx = sx[j] - ex[i]
                            dy = sy[j] - ey[i]
                            dz = sz[j] - ez[i]
                            if dx * dx + dy * dy + dz * dz <= chord2:
                                mark[c] = i
                                count += 1
                        j += 1
        out[i] = count
    return out


def crowd_counts(stop_xyz, stop_t0, stop_t1, stop_code, n_codes, ev_xyz, ev_t0, ev_t1,
                 ev_a, ev_b, chord):
    """Distinct other vessels stopped within a chord of each event while it lasted.

    Parameters
    ----------
    stop_xyz : numpy.ndarray, shape (m, 3)
        Unit vectors of the stops.
    stop_t0, stop_t1 : numpy.ndarray of float
        Start and end of each stop, seconds from any common origin.
    stop_code : numpy.ndarray of int64
        Vessel of each stop as a code in ``0 .. n_codes - 1``.
    n_codes : int
    ev_xyz : numpy.ndarray, shape (n, 3)
        Unit vectors of the events (NaN: counted 0).
    ev_t0, ev_t1 : numpy.ndarray of float
        Start and end of each event, seconds from the same origin.
    ev_a, ev_b : numpy.ndarray of int64
        Codes of the event's two vessels (-1: none), never counted.
    chord : float
        Search chord on the unit sphere (:func:`stsdetect.geo.arc_to_chord_m` / radius).

    Returns
    -------
    numpy.ndarray of int64
        Count per event: stops overlapping the event in time (``t0 < event end`` and
        ``t1 > event start``), within the chord, of vessels other than its own, each vessel
        once.
    """
    n = len(ev_t0)
    if n == 0 or len(stop_t0) == 0:
        return np.zeros(n, np.int64)
    cell = grid_cell(chord)
    keys = grid_keys(stop_xyz, cell)
    order = np.argsort(keys, kind="stable")
    sx = np.ascontiguousarray(stop_xyz[order, 0], dtype=np.float64)
    sy = np.ascontiguousarray(stop_xyz[order, 1], dtype=np.float64)
    sz = np.ascontiguousarray(stop_xyz[order, 2], dtype=np.float64)
    ev_xyz = np.asarray(ev_xyz, dtype=np.float64)
    return _crowd(keys[order], sx, sy, sz,
                  np.asarray(stop_t0, np.float64)[order], np.asarray(stop_t1, np.float64)[order],
                  np.asarray(stop_code, np.int64)[order], int(n_codes),
                  np.ascontiguousarray(ev_xyz[:, 0]), np.ascontiguousarray(ev_xyz[:, 1]),
                  np.ascontiguousarray(ev_xyz[:, 2]), np.asarray(ev_t0, np.float64),
                  np.asarray(ev_t1, np.float64), np.asarray(ev_a, np.int64),
                  np.asarray(ev_b, np.int64), float(cell), float(chord) ** 2)


@njit(cache=True, nogil=True)
def speedless_steps(mmsi, t, sog, gap_ns):  # pragma: no cover - compiled
    """Whether the rows are in (mmsi, time) order (ties allowed), and the rows ``i`` without
    a finite speed whose next row is the same vessel's, at most ``gap_ns`` later: their speed
    is implied by the step to that report (meaningful only for rows in order). One kernel for
    both: each compiled function costs a few ms to load in a fresh process."""
    out = np.empty(mmsi.size, np.int64)
    in_order = True
    k = 0
    for i in range(mmsi.size - 1):
        same = mmsi[i + 1] == mmsi[i]
        if mmsi[i + 1] < mmsi[i] or (same and t[i + 1] < t[i]):
            in_order = False
        if not np.isfinite(sog[i]) and same and t[i + 1] - t[i] <= gap_ns:
            out[k] = i
            k += 1
    return in_order, out[:k].copy()


@njit(cache=True, nogil=True)
def stop_steps(mmsi, t, sog, implied_rows, implied, max_speed_kn,
               gap_ns):  # pragma: no cover - compiled
    """Which rows are slow, and the rows ``i`` whose step from row ``i - 1`` (same vessel,
    both slow, at most ``gap_ns`` apart) may link them.

    A row's speed is its own when finite, else ``implied`` (at ``implied_rows``, ascending),
    else unknown; it is slow unless its speed is finite and over ``max_speed_kn`` (a report
    with no speed of its own and no next report is slow: nothing says otherwise).
    """
    n = mmsi.size
    slow = np.empty(n, np.bool_)
    cand = np.empty(n, np.int64)
    k = 0
    j = 0
    for i in range(n):
        v = sog[i]
        if not np.isfinite(v):
            v = np.nan
            while j < implied_rows.size and implied_rows[j] < i:
                j += 1
            if j < implied_rows.size and implied_rows[j] == i:
                v = implied[j]
        slow[i] = not (np.isfinite(v) and v > max_speed_kn)
        if (i > 0 and slow[i] and slow[i - 1] and mmsi[i] == mmsi[i - 1]
                and t[i] - t[i - 1] <= gap_ns):
            cand[k] = i
            k += 1
    return slow, cand[:k].copy()


@njit(cache=True, nogil=True)
def stop_rows(mmsi, t, slow, link_rows, linked, has_a, a_ns, has_b,
              b_ns):  # pragma: no cover - compiled
    """The slow rows inside ``[a_ns, b_ns)`` (each bound only when given), the positions
    among them where a piece starts (a row not linked to the row before it, or not next to
    the previous slow row, or the first), and each vessel's first and last row inside.

    ``linked``: per row of ``link_rows`` (ascending), whether its step from the row before
    links them.
    """
    n = mmsi.size
    rows = np.empty(n, np.int64)
    first = np.empty(n, np.int64)
    heads = np.empty(n, np.int64)
    tails = np.empty(n, np.int64)
    n_rows = 0
    n_first = 0
    n_v = 0
    j = 0
    prev_in = False
    for i in range(n):
        inside = (not has_a or t[i] >= a_ns) and (not has_b or t[i] < b_ns)
        same = i > 0 and mmsi[i] == mmsi[i - 1]
        if prev_in and not (same and inside):  # the previous row ended its vessel's run
            tails[n_v - 1] = i - 1
        if inside and not (same and prev_in):
            heads[n_v] = i
            n_v += 1
        prev_in = inside
        if not (inside and slow[i]):
            continue
        while j < link_rows.size and link_rows[j] < i:
            j += 1
        is_linked = j < link_rows.size and link_rows[j] == i and linked[j]
        if n_rows == 0 or not is_linked or rows[n_rows - 1] != i - 1:
            first[n_first] = n_rows
            n_first += 1
        rows[n_rows] = i
        n_rows += 1
    if prev_in:
        tails[n_v - 1] = n - 1
    return (rows[:n_rows].copy(), first[:n_first].copy(), heads[:n_v].copy(),
            tails[:n_v].copy())
