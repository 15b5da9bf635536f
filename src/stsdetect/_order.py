"""Compiled (numba) row passes of the cleaning stage (:func:`stsdetect.build_tracks`).

Three passes, each linear in the rows: :func:`vessel_codes` (which rows have a time and a
position, and a code per MMSI from a hash table), :func:`scatter_rows` (a stable counting
sort by vessel into fresh columns, cleaning speed/course/longitude, checking that each
vessel's rows are already in (time, lat, lon, sog, cog) order -- they are, in a dump written
in time order, so no comparison sort runs at all; vessels whose rows are not are reported, for
the caller to sort with :func:`numpy.lexsort` -- and listing the duplicate candidates, the
rows within the duplicate window of the row before) and :func:`drop_rows` (removes
duplicates in place and lists the steps that may be impossible jumps). Each compiled function
costs a few ms to load in a fresh process, so the passes are few. Loaded only by the cleaning
stage (numba is not imported by ``import stsdetect.tracks``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["drop_rows", "member_rows", "scatter_rows", "sea_steps", "vessel_codes"]


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


# ------------------------------------------------------------------------------------------
# The cleaning's row passes (build_tracks): vessel codes, counting sort, duplicates, jumps
# ------------------------------------------------------------------------------------------

_NAT = np.iinfo(np.int64).min  # pandas' NaT in int64 nanoseconds
_MAX_T = np.iinfo(np.int64).max
_FIB = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing (Knuth): top bits of m * 2^64/phi


@njit(cache=True, nogil=True)
def _grow(a, size):  # pragma: no cover - compiled
    out = np.empty(size, a.dtype)
    for i in range(a.size):  # element by element: an array-to-array slice assignment brings
        out[i] = a[i]  # numba's shape-mismatch error text (unicode code) into the cached library
    return out


@njit(cache=True, nogil=True)
def _code_rows(start, mmsi, t, missing, nat_missing, check_pos, lat, lon, code, slot_code,
               shift, uniq, count, t_min, t_max, heard, state):  # pragma: no cover - compiled
    """:func:`vessel_codes` from row ``start`` on, until the rows end or the table is full
    (``state[0]`` codes = ``uniq.size``); returns the row reached. ``state``: codes so far,
    rows without a time, rows without a position. ``heard[0]``/``heard[1]``: per code, the
    earliest/latest time of its rows with a time (with or without a position)."""
    k = state[0]
    n_no_time = 0
    n_no_pos = 0
    has_missing = missing.size > 0
    mask = np.uint64(slot_code.size - 1)
    i = start
    n = mmsi.size
    while i < n:
        ti = t[i]
        if (has_missing and missing[i]) or (nat_missing and ti == _NAT):
            n_no_time += 1
            code[i] = -1
            i += 1
            continue
        m = mmsi[i]
        h = (np.uint64(m) * _FIB) >> shift
        while True:
            c = slot_code[h]
            if c < 0 or uniq[c] == m:
                break
            h = (h + np.uint64(1)) & mask
        if c < 0:  # a new MMSI
            if k == uniq.size:
                break  # the caller grows the table, then calls again from row i
            c = k
            k += 1
            slot_code[h] = c
            uniq[c] = m
            t_min[c] = _MAX_T  # (no counted row yet)
            t_max[c] = _NAT
            heard[0, c] = ti
            heard[1, c] = ti
        if ti < heard[0, c]:
            heard[0, c] = ti
        if ti > heard[1, c]:
            heard[1, c] = ti
        if check_pos and not (abs(lat[i]) <= 90.0 and abs(lon[i]) <= 180.0):
            n_no_pos += 1
            code[i] = -1
            i += 1
            continue
        code[i] = c
        count[c] += 1
        if ti < t_min[c]:
            t_min[c] = ti
        if ti > t_max[c]:
            t_max[c] = ti
        i += 1
    state[0] = k
    state[1] += n_no_time
    state[2] += n_no_pos
    return i


@njit(cache=True, nogil=True)
def vessel_codes(mmsi, t, missing, nat_missing, lat, lon,
                 check_pos=True):  # pragma: no cover - compiled
    """One pass over the input rows: which have a time and a position, and a code per MMSI.

    Parameters
    ----------
    mmsi, t : int64 arrays
        MMSI and time (ns) of each row.
    missing : bool array
        Per row, no time (empty: none missing but for ``nat_missing``).
    nat_missing : bool
        Whether ``t == NaT`` (the int64 minimum) also means no time.
    lat, lon : float64 arrays
    check_pos : bool, default True
        Whether rows need a valid position (else ``lat`` and ``lon`` are not read: they may
        be empty).

    Returns
    -------
    code : int32 array
        Per row, its MMSI's code (codes 0, 1, ... in order of first appearance among the rows
        with a time), or -1 for a row without a time or (with ``check_pos``) without a valid
        position (latitude within [-90, 90], longitude within [-180, 180]; NaN fails).
    uniq, count, t_min, t_max : arrays, one value per code
        The MMSI, its number of rows (0 when none has a valid position), and those rows'
        earliest and latest time (the int64 maximum and minimum when there are none).
    heard : int64 array of shape (2, codes)
        The earliest and latest time of each MMSI's rows with a time, with or without a
        position (the span it was heard).
    n_no_time, n_no_position : int
    """
    n = mmsi.size
    code = np.empty(n, np.int32)
    bits = 10  # open addressing in 2**bits slots, at most a quarter full
    slot_code = np.full(1 << bits, -1, np.int32)
    size = 1 << (bits - 2)
    uniq = np.empty(size, np.int64)
    count = np.zeros(size, np.int64)
    t_min = np.empty(size, np.int64)
    t_max = np.empty(size, np.int64)
    heard = np.empty((2, size), np.int64)
    state = np.zeros(3, np.int64)
    i = 0
    while True:
        i = _code_rows(i, mmsi, t, missing, nat_missing, check_pos, lat, lon, code,
                       slot_code, np.uint64(64 - bits), uniq, count, t_min, t_max, heard,
                       state)
        if i >= n:
            break
        k = state[0]  # the table is full: twice the slots and room
        bits += 1
        slot_code = np.full(1 << bits, -1, np.int32)
        mask = np.uint64((1 << bits) - 1)
        for j in range(k):
            h = (np.uint64(uniq[j]) * _FIB) >> np.uint64(64 - bits)
            while slot_code[h] >= 0:
                h = (h + np.uint64(1)) & mask
            slot_code[h] = j
        size = 1 << (bits - 2)
        uniq = _grow(uniq, size)
        count = _grow(count, size)
        count[k:] = 0
        t_min = _grow(t_min, size)
        t_max = _grow(t_max, size)
        grown = np.empty((2, size), np.int64)
        for j in range(k):  # as in _grow
            grown[0, j] = heard[0, j]
            grown[1, j] = heard[1, j]
        heard = grown
    k = state[0]
    return (code, uniq[:k].copy(), count[:k].copy(), t_min[:k].copy(), t_max[:k].copy(),
            heard[:, :k].copy(), state[1], state[2])


@njit(cache=True, nogil=True)
def scatter_rows(code, rank, starts, t, lat, lon, sog, cog,
                 window_ns):  # pragma: no cover - compiled
    """Stable counting sort of the rows by vessel rank, cleaning values on the way, listing
    the duplicate candidates.

    The output columns are allocated here, in 4 KiB pages (measured, session 12: made by
    NumPy instead, which asks for huge pages for arrays of 4 MiB or more, they cut the
    cleaning's page faults from 12.5k to 4.4k on the 1.31M-line dump, but the program's
    system time on the benchmark VM got more variable and higher in the median, 0.33 -> 0.40
    s over 12 alternated pairs, so that was undone).

    Parameters
    ----------
    code : int32 array
        Per input row, its code from :func:`vessel_codes` (-1: dropped).
    rank : int64 array
        Per code, the vessel's rank in MMSI order (-1: dropped).
    starts : int64 array
        ``n_vessels + 1`` offsets of each rank's rows in the output.
    t, lat, lon, sog, cog : arrays
        The input columns.
    window_ns : int64
        The duplicate window.

    Returns
    -------
    t, lat, lon, sog, cog : arrays
        The rows in (vessel, input) order: longitude 180 written as -180 (the only
        longitude of a kept row outside [-180, 180)), speed outside [0, 102.25) and course
        outside [0, 360) (AIS "not available" 102.3 kn / 360 deg, negative, NaN) as NaN.
    unsorted : bool array
        Per rank: its rows are not in (t, lat, lon, sog, cog) order, NaN last (equal rows
        in input order are in order).
    candidates : int64 array
        Output rows ``j`` (not the first of their vessel) within ``window_ns`` of row
        ``j - 1``, in the order they were written; only those of the vessels that are in
        order (the caller finds those of the ``unsorted`` ones once they are sorted).
    """
    n_out = starts[-1]
    o_t = np.empty(n_out, np.int64)
    o_lat = np.empty(n_out, np.float64)
    o_lon = np.empty(n_out, np.float64)
    o_sog = np.empty(n_out, np.float64)
    o_cog = np.empty(n_out, np.float64)
    n_v = starts.size - 1
    fill = starts[:-1].copy()
    unsorted = np.zeros(n_v, np.bool_)
    cand = np.empty(max(n_out, 1), np.int64)
    n_c = 0
    for i in range(code.size):
        c0 = code[i]
        if c0 < 0:
            continue
        c = rank[c0]
        if c < 0:
            continue
        j = fill[c]
        fill[c] = j + 1
        ti = t[i]
        la = lat[i]
        lo = lon[i]
        if not lo < 180.0:
            lo = -180.0
        s = sog[i]
        if not (s >= 0.0 and s < 102.25):
            s = np.nan
        g = cog[i]
        if not (g >= 0.0 and g < 360.0):
            g = np.nan
        o_t[j] = ti
        o_lat[j] = la
        o_lon[j] = lo
        o_sog[j] = s
        o_cog[j] = g
        if j == starts[c] or unsorted[c]:
            continue
        a = j - 1
        if ti - o_t[a] <= window_ns:  # (o_t[a] <= ti while the vessel is in order)
            cand[n_c] = j
            n_c += 1
        if o_t[a] < ti:
            continue
        if o_t[a] > ti:
            unsorted[c] = True
            continue
        cmp = _before(o_lat[a], la)
        if cmp == 0:
            cmp = _before(o_lon[a], lo)
        if cmp == 0:
            cmp = _before(o_sog[a], s)
        if cmp == 0:
            cmp = _before(o_cog[a], g)
        if cmp > 0:
            unsorted[c] = True
    return o_t, o_lat, o_lon, o_sog, o_cog, unsorted, cand[:n_c].copy()


@njit(cache=True, nogil=True)
def drop_rows(drop, starts, t, lat, lon, sog, cog, speed_m_s, noise_m,
              deg_to_m):  # pragma: no cover - compiled
    """Remove the rows flagged ``drop`` (in place, keeping the order), and list the kept
    steps between consecutive rows of one vessel that may be impossible jumps.

    A step is a candidate when an upper bound of its great-circle distance,
    ``deg_to_m * (|dlat| + min(|dlon|, 360 - |dlon|))``, exceeds (with a 1e-9 relative margin)
    ``speed_m_s * |dt| + noise_m``: a cheap prefilter (``stsdetect.tracks._exact_jumps``
    then tests the candidates exactly).

    Returns
    -------
    n : int
        Rows kept (the first ``n`` of each column).
    new_starts : int64 array
        Each vessel's offsets among the kept rows.
    candidates : int64 array
        Kept row ``i`` such that the step from ``i`` to ``i + 1`` is a candidate.
    """
    n_v = starts.size - 1
    new_starts = np.empty(n_v + 1, np.int64)
    cand = np.empty(max(t.size, 1), np.int64)
    n_c = 0
    k = 0
    for v in range(n_v):
        new_starts[v] = k
        first = k
        for i in range(starts[v], starts[v + 1]):
            if drop[i]:
                continue
            t[k] = t[i]
            lat[k] = lat[i]
            lon[k] = lon[i]
            sog[k] = sog[i]
            cog[k] = cog[i]
            if k > first:
                dlon = abs(lon[k] - lon[k - 1])
                bound = (abs(lat[k] - lat[k - 1]) + min(dlon, 360.0 - dlon)) * deg_to_m
                allowed = speed_m_s * (abs(t[k] - t[k - 1]) / 1e9) + noise_m
                if bound > allowed * (1.0 - 1e-9):
                    cand[n_c] = k - 1
                    n_c += 1
            k += 1
    new_starts[n_v] = k
    return k, new_starts, cand[:n_c].copy()


@njit(cache=True, nogil=True)
def sea_steps(mmsi, t, sog, sea_kn, cap_s):  # pragma: no cover - compiled
    """Per row of rows sorted by (mmsi, time): the seconds to the same vessel's next report,
    clipped to [0, ``cap_s``], where the row's speed is at least ``sea_kn`` (NaN is not); 0
    otherwise and on each vessel's last row. Elementwise the same arithmetic as NumPy's
    ``clip((t[i + 1] - t[i]) / 1e9, 0, cap_s)``."""
    n = t.size
    out = np.zeros(n)
    for i in range(n - 1):
        if mmsi[i + 1] == mmsi[i] and sog[i] >= sea_kn:
            x = (t[i + 1] - t[i]) / 1e9
            out[i] = min(max(x, 0.0), cap_s)
    return out


@njit(cache=True, nogil=True)
def member_rows(values, keys):  # pragma: no cover - compiled
    """Rows ``i`` (ascending) whose ``values[i]`` is one of ``keys`` (int64 arrays): one pass
    over the values against a hash set of the keys."""
    bits = 10  # sparse (at most 1/8 full): a value not among the keys mostly meets an
    while (1 << bits) < 8 * keys.size:  # empty slot at once
        bits += 1
    shift = np.uint64(64 - bits)
    mask = np.uint64((1 << bits) - 1)
    slot = np.zeros(1 << bits, np.int64)
    used = np.zeros(1 << bits, np.bool_)
    for k in keys:
        h = (np.uint64(k) * _FIB) >> shift
        while used[h] and slot[h] != k:
            h = (h + np.uint64(1)) & mask
        used[h] = True
        slot[h] = k
    out = np.empty(values.size, np.int64)
    n = 0
    for i in range(values.size):
        v = values[i]
        h = (np.uint64(v) * _FIB) >> shift
        while used[h]:
            if slot[h] == v:
                out[n] = i
                n += 1
                break
            h = (h + np.uint64(1)) & mask
    return out[:n].copy()
