"""Private helpers: resampling tracks onto a shared time grid and finding close pairs on it.

Everything here works on whole arrays; the only Python loops run over chunks of grid times
(bounded memory) or over a fixed small number of passes.
"""

from __future__ import annotations

import weakref
from itertools import pairwise
from typing import NamedTuple

import numpy as np

from ..geo import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    arc_to_chord_m,
    haversine_m,
    unit_components,
    unit_xyz,
    wrap_lon_deg,
)
from ..tracks import Tracks
from ._pairs import pairs_within
from ._runs import group_median, run_mean_of_two

__all__ = ["MAX_GRID_POINTS", "MIN_STEP_S", "Resampled", "close_pairs", "count_rows_between",
           "group_median", "resample_tracks", "run_mean_of_two"]

#: Shortest grid step: AIS reports carry their time to the whole second (ITU-R M.1371-5,
#: the UTC second field), so a finer grid only repeats positions.
MIN_STEP_S = 1.0

#: Most grid points one resampling may make: 2**28 (about 268 million; 40 bytes each, 64 with
#: unit vectors, so about 16 GiB). A step so small that the tracks' spans would need more is
#: rejected before anything is allocated: ``--step 1ns`` once asked for 19.5 PiB. At the
#: default 10-minute step the bound is 5,100 vessel-years of tracks in one run (windowed runs
#: resample one window at a time).
MAX_GRID_POINTS = 2**28


class Resampled(NamedTuple):
    """Tracks resampled onto a shared time grid; rows sorted by ``(segment, grid)``.

    The grid time of row ``r`` is ``grid[r] * step`` since the Unix epoch (exact in int64 ns):
    the grid is aligned to multiples of the step, so it is the same for every vessel and every
    input.
    """

    grid: np.ndarray  #: int64 grid index; time = grid * step
    segment: np.ndarray  #: int64 segment id in the source Tracks
    lat_deg: np.ndarray  #: float64 interpolated latitude
    lon_deg: np.ndarray  #: float64 interpolated longitude in [-180, 180)
    sog_kn: np.ndarray  #: float64 interpolated speed over ground (see resample_tracks)


#: Tracks -> its :func:`_segment_keys`, while that Tracks lives (weak keys: nothing is kept
#: alive by it). The detectors of one run (rendezvous, its position counts, the tow search,
#: ...) search the same Tracks, whose columns are fixed once it is made.
_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _segment_keys(tracks: Tracks):
    """A float key per row, globally sorted: ``(time - t0) + segment * span`` in seconds.

    ``t0`` (int64 ns) is the earliest report: a local origin, so the float part holds only
    offsets. Monotone in ``(segment, time)``, so one :func:`numpy.searchsorted` finds a time
    inside a segment for all segments at once. Exact for times on whole seconds; otherwise
    ties are resolved to about a microsecond. Made once per Tracks (read-only, kept in
    :data:`_KEYS` while the Tracks lives) and checked against the columns it was made from.
    """
    got = _KEYS.get(tracks)
    if got is not None and got[0] is tracks.time_ns and got[1] is tracks.segment:
        return got[2]
    t0 = int(tracks.time_ns.min())
    span = float(np.ceil((int(tracks.time_ns.max()) - t0) / 1e9)) + 1.0
    offset = tracks.time_ns - t0
    keys = offset / 1e9  # same rounding as _query_keys: equal times, equal keys
    # the segment term into the offsets' buffer (no third array of the rows' size to fault in)
    keys += np.multiply(tracks.segment, span, dtype=float, out=offset.view(np.float64))
    del offset
    keys.flags.writeable = False
    out = (keys, t0, span)
    _KEYS[tracks] = (tracks.time_ns, tracks.segment, out)
    return out


def _query_keys(segment, time_ns, t0, span):
    return segment.astype(float) * span + (time_ns - t0) / 1e9


def count_rows_between(tracks: Tracks, segment, start_ns, end_ns) -> np.ndarray:
    """Number of reports of each ``segment`` with ``start_ns <= time_ns <= end_ns`` (int64 ns)."""
    segment = np.asarray(segment, np.int64)
    if segment.size == 0 or len(tracks) == 0:
        return np.zeros(segment.size, np.int64)
    keys, t0, span = _segment_keys(tracks)
    lo = np.searchsorted(keys, _query_keys(segment, np.asarray(start_ns, np.int64), t0, span),
                         "left")
    hi = np.searchsorted(keys, _query_keys(segment, np.asarray(end_ns, np.int64), t0, span),
                         "right")
    lo = np.maximum(lo, tracks.offsets[segment])
    hi = np.minimum(hi, tracks.offsets[segment + 1])
    return np.maximum(hi - lo, 0).astype(np.int64)


def _resample_chunk(tracks, keys, t0, span, seg, grid, step_ns, max_gap_ns, with_xyz=True):
    """Resample the grid points ``(seg, grid)`` (one chunk); see :func:`resample_tracks`.

    Times stay int64 ns; only differences (exact) become float, for the weights.
    """
    t, offsets = tracks.time_ns, tracks.offsets
    tg = grid * step_ns
    i = np.searchsorted(keys, _query_keys(seg, tg, t0, span), "right") - 1
    i = np.clip(i, offsets[seg], offsets[seg + 1] - 1)
    j = np.minimum(i + 1, offsets[seg + 1] - 1)
    at_report = t[i] >= tg  # equal up to key rounding; never later by construction
    gap = t[j] - t[i]
    keep = at_report | ((j > i) & (gap <= max_gap_ns))
    if not keep.all():
        grid, seg, tg, i, j, gap, at_report = (a[keep] for a in (grid, seg, tg, i, j, gap,
                                                                   at_report))
    # On a report: that report alone (its neighbour may be beyond max_gap).
    j = np.where(at_report, i, j)
    gap = np.where(at_report, 0, gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(at_report | (gap <= 0), 0.0, (tg - t[i]) / np.maximum(gap, 1))
    w = np.clip(w, 0.0, 1.0)
    v = 1.0 - w

    lat, lon = tracks.lat_deg, tracks.lon_deg
    lat_i, lon_i, lat_j, lon_j = lat[i], lon[i], lat[j], lon[j]
    xi, yi, zi = unit_components(lat_i, lon_i)
    xj, yj, zj = unit_components(lat_j, lon_j)
    x, y, z = xi * v + xj * w, yi * v + yj * w, zi * v + zj * w
    norm = np.sqrt(x * x + y * y + z * z)
    ok = norm > 1e-12  # antipodal brackets cannot survive cleaning; fall back to report i
    norm = np.where(ok, norm, 1.0)
    x, y, z = np.where(ok, x / norm, xi), np.where(ok, y / norm, yi), np.where(ok, z / norm, zi)
    lat_g = np.degrees(np.arcsin(np.clip(z, -1.0, 1.0)))
    lon_g = np.degrees(np.arctan2(y, x))
    lat_g = np.where(w == 0.0, lat_i, np.where(w == 1.0, lat_j, lat_g))
    lon_g = np.where(w == 0.0, lon_i, np.where(w == 1.0, lon_j, lon_g))
    lon_g = wrap_lon_deg(lon_g)

    sog = tracks.sog_kn
    si, sj = sog[i], sog[j]
    sg = si * v + sj * w
    sg = np.where(np.isnan(sg), np.where(np.isnan(si), sj, si), sg)
    need = np.flatnonzero(np.isnan(sg) & (j > i) & (gap > 0))
    if need.size:
        a, b = i[need], j[need]
        sg[need] = haversine_m(lat[a], lon[a], lat[b], lon[b]) / (gap[need] * 1e-9) / KNOT_M_S
    return grid, seg, lat_g, lon_g, sg, (np.column_stack((x, y, z)) if with_xyz else None)


def resample_tracks(tracks: Tracks, step_s: float, max_gap_s: float, return_xyz: bool = False,
                    chunk_points: int = 1_000_000):
    """Positions of every segment at every grid time it covers, never across a long gap.

    A segment covers the grid times between its first and last report. A grid time is kept
    when it coincides with a report, or when the reports just before and after it are at most
    ``max_gap_s`` apart; the position there is interpolated along the great circle between
    them (linear in Earth-centred unit vectors, so right across the antimeridian and near the
    poles). Speed is interpolated linearly between the reported speeds; where one is missing
    the other is used, and where both are missing the speed implied by the two positions. A
    grid time that falls on a report takes that report's position and speed as they are.

    Work is done in chunks of whole segments of about ``chunk_points`` grid points, which keeps
    the temporaries small (and in cache) whatever the size of the input.

    Returns the :class:`Resampled` tuple; with ``return_xyz`` also the ``(n, 3)`` unit vectors
    of the resampled positions (for :func:`close_pairs`, which then need not recompute them).
    """
    if not (np.isfinite(step_s) and step_s > 0):
        raise ValueError(f"step must be a positive duration, got {step_s!r} s")
    if step_s < MIN_STEP_S:
        raise ValueError(f"step of {step_s:g} s is below the shortest of {MIN_STEP_S:g} s: AIS "
                         "times are whole seconds")
    empty_f = np.zeros(0)
    empty = Resampled(np.zeros(0, np.int64), np.zeros(0, np.int64), empty_f, empty_f, empty_f)
    if len(tracks) == 0:
        return (empty, np.zeros((0, 3))) if return_xyz else empty
    t = tracks.time_ns
    offsets = tracks.offsets
    step_ns = round(step_s * 1e9)  # grid times are exact multiples of the step, in int64 ns
    max_gap_ns = round(max_gap_s * 1e9)
    k0 = -(-t[offsets[:-1]] // step_ns)  # ceil
    k1 = t[offsets[1:] - 1] // step_ns  # floor
    # grid points counted in floating point: a huge sum cannot overflow int64
    n_points = float(np.maximum(k1 - k0 + 1, 0).sum(dtype=float))
    if n_points > MAX_GRID_POINTS:
        raise ValueError(
            f"a step of {step_s:g} s would put {n_points:.3g} grid points on these tracks, "
            f"more than the bound of {MAX_GRID_POINTS:,} (MAX_GRID_POINTS, about 16 GiB): use "
            "a longer step, or run in time windows")
    count = np.maximum(k1 - k0 + 1, 0)
    before = np.cumsum(count) - count
    chunk_of_seg = before // max(int(chunk_points), 1)
    bounds = np.append(np.flatnonzero(np.diff(chunk_of_seg, prepend=-1)), count.size)
    keys, t0, span = _segment_keys(tracks)
    # Outputs allocated once at their upper bound and filled chunk by chunk (no concatenation
    # of parts: at 10^7 points the copies cost more than the arithmetic).
    total = int(count.sum())
    out = [np.empty(total, np.int64), np.empty(total, np.int64), np.empty(total),
           np.empty(total), np.empty(total), np.empty((total, 3) if return_xyz else (0, 3))]
    filled = 0
    for s0, s1 in pairwise(bounds):  # loop over chunks of segments
        cnt = count[s0:s1]
        m = int(cnt.sum())
        if m == 0:
            continue
        seg = np.repeat(np.arange(s0, s1, dtype=np.int64), cnt)
        base = np.repeat(np.cumsum(cnt) - cnt, cnt)
        grid = np.repeat(k0[s0:s1], cnt) + (np.arange(m, dtype=np.int64) - base)
        part = _resample_chunk(tracks, keys, t0, span, seg, grid, step_ns, max_gap_ns,
                               return_xyz)
        size = part[0].size
        for dest, src in zip(out, part, strict=True):
            if src is not None:
                dest[filled:filled + size] = src
        filled += size
    res = Resampled(*(a[:filled] for a in out[:5]))
    return (res, out[5][:filled]) if return_xyz else res


def close_pairs(res: Resampled, segment_mmsi: np.ndarray, max_distance_m: float,
                chunk_points: int = 2_000_000, xyz: np.ndarray | None = None,
                tree_points: int = 50_000):
    """All pairs of resampled points at the same grid time within ``max_distance_m``.

    Grid times are taken in groups of about ``tree_points`` points (never splitting a grid
    time; at most ``chunk_points`` in any case, which bounds memory). In each group the points
    of one grid time are paired by a grid of cells over the Earth-centred unit vectors
    (:func:`stsdetect.detectors._pairs.pairs_within`). Candidate pairs are then checked by
    great-circle distance, so the result is exact at any latitude and across the
    antimeridian. Pairs of segments of the same MMSI are skipped. ``xyz`` may give the points'
    unit vectors (as returned by ``resample_tracks(..., return_xyz=True)``) to save
    recomputing them.

    Returns
    -------
    a, b : numpy.ndarray of int64
        Row indices into ``res`` with ``res.segment[a] < res.segment[b]``.
    distance_m : numpy.ndarray of float64
    """
    n = res.grid.size
    empty = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    if n < 2:
        return empty
    radius = float(arc_to_chord_m(max_distance_m)) / EARTH_RADIUS_M
    radius = radius * (1.0 + 1e-6) + 1e-12  # margin: exact check by haversine below
    order = np.argsort(res.grid, kind="stable")
    g_sorted = res.grid[order]
    bin_start = np.flatnonzero(np.concatenate(([True], g_sorted[1:] != g_sorted[:-1])))
    bin_count = np.diff(np.append(bin_start, n))
    group_size = max(min(int(tree_points), int(chunk_points)), 1)
    group_of_bin = (np.cumsum(bin_count) - bin_count) // group_size
    group_first_bin = np.flatnonzero(np.concatenate(([True], np.diff(group_of_bin) != 0)))
    group_bounds = np.append(bin_start[group_first_bin], n)
    out_a, out_b, out_d = [], [], []
    seg_mmsi = segment_mmsi[res.segment]
    for lo, hi in pairwise(group_bounds):  # loop over groups of grid times
        idx = order[lo:hi]
        if idx.size < 2:
            continue
        pts = unit_xyz(res.lat_deg[idx], res.lon_deg[idx]) if xyz is None else xyz[idx]
        pa, pb = pairs_within(pts, radius, group=g_sorted[lo:hi])
        if pa.size == 0:
            continue
        a, b = idx[pa], idx[pb]
        ok = seg_mmsi[a] != seg_mmsi[b]
        a, b = a[ok], b[ok]
        d = haversine_m(res.lat_deg[a], res.lon_deg[a], res.lat_deg[b], res.lon_deg[b])
        ok = d <= max_distance_m
        a, b, d = a[ok], b[ok], d[ok]
        swap = res.segment[a] > res.segment[b]
        out_a.append(np.where(swap, b, a))
        out_b.append(np.where(swap, a, b))
        out_d.append(d)
    if not out_a:
        return empty
    return (np.concatenate(out_a).astype(np.int64), np.concatenate(out_b).astype(np.int64),
            np.concatenate(out_d))
