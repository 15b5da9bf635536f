"""Compiled (numba) row ordering of the cleaning stage (:func:`stsdetect.build_tracks`).

One counting sort of the rows by vessel, then one pass that checks each vessel's rows are
already in (time, lat, lon, sog, cog) order -- they are, in a dump written in time order, so
no comparison sort runs at all; vessels whose rows are not are reported, for the caller to
sort with :func:`numpy.lexsort`. Loaded only by the cleaning stage (numba is not imported by
``import stsdetect.tracks``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["vessel_order"]


@njit(cache=True, nogil=True, inline="always")
def _before(a, b):  # pragma: no cover - compiled
    """-1 / 0 / 1: float ``a`` sorts before / with / after ``b``, NaN last (as np.lexsort)."""
    if np.isnan(a):
        return 0 if np.isnan(b) else 1
    if np.isnan(b):
        return -1
    if a < b:
        return -1
    if a > b:
        return 1
    return 0


@njit(cache=True, nogil=True)
def vessel_order(codes, n_codes, rows, t, lat, lon, sog, cog):  # pragma: no cover - compiled
    """Stable order of ``rows`` by vessel code, and which vessels' rows are out of order.

    Parameters
    ----------
    codes : int64 array
        Vessel code (0 .. n_codes - 1, in MMSI order) of each of ``rows``.
    n_codes : int
    rows : int64 array
        Row numbers into ``t``, ``lat``, ``lon``, ``sog``, ``cog``.

    Returns
    -------
    order : int64 array
        Positions into ``rows``, stably sorted by code.
    unsorted : bool array
        Per code: its rows are not in (t, lat, lon, sog, cog) order, NaN last; equal rows
        in input order are in order.
    """
    n = codes.size
    start = np.zeros(n_codes + 1, np.int64)
    for i in range(n):
        start[codes[i] + 1] += 1
    for c in range(n_codes):
        start[c + 1] += start[c]
    fill = start[:-1].copy()
    order = np.empty(n, np.int64)
    unsorted = np.zeros(n_codes, np.bool_)
    last = np.full(n_codes, -1, np.int64)  # each vessel's previous row, in input order
    for i in range(n):  # one pass in input order: the previous row of a vessel is near
        c = codes[i]
        order[fill[c]] = i
        fill[c] += 1
        b = rows[i]
        a = last[c]
        last[c] = b
        if a < 0 or unsorted[c]:
            continue
        if t[a] < t[b]:
            continue
        if t[a] > t[b]:
            unsorted[c] = True
            continue
        cmp = _before(lat[a], lat[b])
        if cmp == 0:
            cmp = _before(lon[a], lon[b])
        if cmp == 0:
            cmp = _before(sog[a], sog[b])
        if cmp == 0:
            cmp = _before(cog[a], cog[b])
        if cmp > 0:
            unsorted[c] = True
    return order, unsorted
