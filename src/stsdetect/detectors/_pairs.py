"""Private helper: pairs of points on the unit sphere within a chord, by a grid of cells.

The detectors' candidate search (close pairs on the rendezvous grid, vessels heard around a
silence, dark periods side by side). Points are Earth-centred unit vectors
(:func:`stsdetect.geo.unit_xyz`); the 3-D grid's cells are one chord wide, so the 27 cells
around a point hold every point within the chord -- across the antimeridian and at the poles
alike. One compiled pass (numba) over the points: sorted by (group, cell), each point looks
up its 27 neighbouring cells by binary search. No k-d tree (scipy.spatial is not imported:
~0.1 s of every run's start-up) and no Python loop over points.

Callers check their candidates exactly afterwards (great-circle distance, time windows), so
the pairs found need only include every pair within the chord; they are in fact exactly the
pairs whose squared chord is at most ``chord**2``, as a k-d tree's ``query_pairs`` gives.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from stsdetect.geo import GRID_BITS, grid_cell, grid_keys

__all__ = ["pairs_within"]

_BITS = GRID_BITS  # the cell keys are geo.grid_keys (shared with the context stage's crowd)
_MASK = (1 << _BITS) - 1


@njit(cache=True, nogil=True)
def _grid_pairs(s_grp, s_key, sx, sy, sz, q_grp, q_key, qx, qy, qz, self_join,
                chord2):  # pragma: no cover - compiled
    """Pairs (query, point) within the chord; points ``s_*`` sorted by (group, key).

    With ``self_join`` the queries are the points themselves (same order) and each pair is
    given once, as (i, j) with i < j in that order.
    """
    n_q = q_key.size
    cap = max(64, 2 * n_q)
    out_i = np.empty(cap, np.int64)
    out_j = np.empty(cap, np.int64)
    n = 0
    for i in range(n_q):
        g = q_grp[i]
        g0 = np.searchsorted(s_grp, g, "left")
        g1 = np.searchsorted(s_grp, g, "right")
        if g1 - g0 == 0:
            continue
        keys = s_key[g0:g1]
        key = q_key[i]
        ci = key >> (2 * _BITS)
        cj = (key >> _BITS) & _MASK
        ck = key & _MASK
        for di in range(-1, 2):
            for dj in range(-1, 2):
                lo = ((ci + di) << (2 * _BITS)) | ((cj + dj) << _BITS) | (ck - 1)
                hi = lo + 2  # the three cells along z are consecutive keys
                j = g0 + np.searchsorted(keys, lo, "left")
                while j < g1 and s_key[j] <= hi:
                    if not self_join or j > i:
                        dx = sx[j] - qx[i]
                        dy = sy[j] - qy[i]
                        dz = sz[j] - qz[i]
                        if dx * dx + dy * dy + dz * dz <= chord2:
                            if n == cap:  # grow the outputs (amortised doubling)
                                cap *= 2
                                grown_i = np.empty(cap, np.int64)
                                grown_j = np.empty(cap, np.int64)
                                for k in range(n):  # not a slice assignment: that
                                    grown_i[k] = out_i[k]  # brings numba's shape-error
                                    grown_j[k] = out_j[k]  # text into the cached library
                                out_i, out_j = grown_i, grown_j
                            out_i[n] = i
                            out_j[n] = j
                            n += 1
                    j += 1
    return out_i[:n], out_j[:n]


def pairs_within(xyz: np.ndarray, chord: float, group=None, other_xyz=None,
                 other_group=None):
    """Index pairs of unit vectors at most ``chord`` apart (Euclidean), optionally per group.

    Parameters
    ----------
    xyz : numpy.ndarray, shape (n, 3)
        Earth-centred unit vectors. Rows with a non-finite coordinate pair with nothing.
    chord : float
        Greatest chord (unit sphere) of a pair.
    group : array_like of int64, optional
        Only points of the same group pair (e.g. the same grid time); all one group if None.
    other_xyz, other_group : optional
        A second set: pairs are then (row of ``xyz``, row of ``other_xyz``), every such pair
        within the chord; without it, pairs of rows of ``xyz``, each once, as ``i < j``.

    Returns
    -------
    i, j : numpy.ndarray of int64
        Row indices, in no particular order.
    """
    xyz = np.ascontiguousarray(xyz, dtype=np.float64).reshape(-1, 3)
    grp = np.zeros(len(xyz), np.int64) if group is None else np.asarray(group, np.int64)
    self_join = other_xyz is None
    if self_join:
        s_xyz, s_grp = xyz, grp
    else:
        s_xyz = np.ascontiguousarray(other_xyz, dtype=np.float64).reshape(-1, 3)
        s_grp = np.zeros(len(s_xyz), np.int64) if other_group is None \
            else np.asarray(other_group, np.int64)
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64)
    q_ok = np.flatnonzero(np.isfinite(xyz).all(axis=1))
    s_ok = q_ok if self_join else np.flatnonzero(np.isfinite(s_xyz).all(axis=1))
    if q_ok.size == 0 or s_ok.size == 0 or not chord >= 0:
        return empty
    cell = grid_cell(chord)
    s_key = grid_keys(s_xyz[s_ok], cell)
    by_cell = np.lexsort((s_key, s_grp[s_ok]))
    s_order, s_key = s_ok[by_cell], s_key[by_cell]
    s = s_xyz[s_order]
    if self_join:
        q_idx, q, q_grp_sorted, q_key = s_order, s, s_grp[s_order], s_key
    else:
        q_idx = q_ok
        q = xyz[q_ok]
        q_grp_sorted, q_key = grp[q_ok], grid_keys(q, cell)
    i, j = _grid_pairs(s_grp[s_order], s_key, s[:, 0].copy(), s[:, 1].copy(), s[:, 2].copy(),
                       q_grp_sorted, q_key, q[:, 0].copy(), q[:, 1].copy(), q[:, 2].copy(),
                       self_join, float(chord) * float(chord))
    i, j = q_idx[i], s_order[j]
    if self_join:
        i, j = np.minimum(i, j), np.maximum(i, j)
    return i, j
