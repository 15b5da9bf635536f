"""Private helpers: resampling tracks onto a shared time grid and finding close pairs on it.

Everything here works on whole arrays; the only Python loops run over chunks of grid times
(bounded memory) or over a fixed small number of passes.
"""

from __future__ import annotations

from itertools import pairwise
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from ..geo import EARTH_RADIUS_M, KNOT_M_S, arc_to_chord_m, haversine_m, unit_xyz
from ..tracks import Tracks

__all__ = ["Resampled", "close_pairs", "count_rows_between", "group_median", "resample_tracks"]


class Resampled(NamedTuple):
    """Tracks resampled onto a shared time grid; rows sorted by ``(segment, grid)``.

    The grid time of row ``r`` is ``grid[r] * step_s`` seconds since the Unix epoch: the grid is
    aligned to multiples of the step, so it is the same for every vessel and every input.
    """

    grid: np.ndarray  #: int64 grid index; time = grid * step_s
    segment: np.ndarray  #: int64 segment id in the source Tracks
    lat_deg: np.ndarray  #: float64 interpolated latitude
    lon_deg: np.ndarray  #: float64 interpolated longitude in [-180, 180)
    sog_kn: np.ndarray  #: float64 interpolated speed over ground (see resample_tracks)


def _segment_keys(tracks: Tracks):
    """A float key per row, globally sorted: ``(time_s - t0) + segment * span``.

    Monotone in ``(segment, time_s)``, so one :func:`numpy.searchsorted` finds a time inside a
    segment for all segments at once. Exact for times on whole seconds; otherwise ties are
    resolved to about a microsecond.
    """
    t0 = float(tracks.time_s.min())
    span = float(np.ceil(tracks.time_s.max() - t0)) + 1.0
    return tracks.segment.astype(float) * span + (tracks.time_s - t0), t0, span


def _query_keys(segment, time_s, t0, span):
    return segment.astype(float) * span + (time_s - t0)


def count_rows_between(tracks: Tracks, segment, start_s, end_s) -> np.ndarray:
    """Number of reports of each ``segment`` with ``start_s <= time_s <= end_s`` (vectorized)."""
    segment = np.asarray(segment, np.int64)
    if segment.size == 0 or len(tracks) == 0:
        return np.zeros(segment.size, np.int64)
    keys, t0, span = _segment_keys(tracks)
    lo = np.searchsorted(keys, _query_keys(segment, np.asarray(start_s, float), t0, span), "left")
    hi = np.searchsorted(keys, _query_keys(segment, np.asarray(end_s, float), t0, span), "right")
    lo = np.maximum(lo, tracks.offsets[segment])
    hi = np.minimum(hi, tracks.offsets[segment + 1])
    return np.maximum(hi - lo, 0).astype(np.int64)


def resample_tracks(tracks: Tracks, step_s: float, max_gap_s: float, return_xyz: bool = False):
    """Positions of every segment at every grid time it covers, never across a long gap.

    A segment covers the grid times between its first and last report. A grid time is kept
    when it coincides with a report, or when the reports just before and after it are at most
    ``max_gap_s`` apart; the position there is interpolated along the great circle between
    them (linear in Earth-centred unit vectors, so right across the antimeridian and near the
    poles). Speed is interpolated linearly between the reported speeds; where one is missing
    the other is used, and where both are missing the speed implied by the two positions. A
    grid time that falls on a report takes that report's position and speed as they are.

    Returns the :class:`Resampled` tuple; with ``return_xyz`` also the ``(n, 3)`` unit vectors
    of the resampled positions (for :func:`close_pairs`, which then need not recompute them).
    """
    if not (np.isfinite(step_s) and step_s > 0):
        raise ValueError(f"step must be a positive duration, got {step_s!r} s")
    empty_f = np.zeros(0)
    if len(tracks) == 0:
        res = Resampled(np.zeros(0, np.int64), np.zeros(0, np.int64), empty_f, empty_f, empty_f)
        return (res, np.zeros((0, 3))) if return_xyz else res
    t = tracks.time_s
    offsets = tracks.offsets
    first_t = t[offsets[:-1]]
    last_t = t[offsets[1:] - 1]
    k0 = np.ceil(first_t / step_s).astype(np.int64)
    k1 = np.floor(last_t / step_s).astype(np.int64)
    count = np.maximum(k1 - k0 + 1, 0)
    total = int(count.sum())
    seg = np.repeat(np.arange(count.size, dtype=np.int64), count)
    base = np.repeat(np.cumsum(count) - count, count)
    grid = np.repeat(k0, count) + (np.arange(total, dtype=np.int64) - base)
    tg = grid.astype(float) * step_s

    keys, t0, span = _segment_keys(tracks)
    i = np.searchsorted(keys, _query_keys(seg, tg, t0, span), "right") - 1
    i = np.clip(i, offsets[seg], offsets[seg + 1] - 1)
    j = np.minimum(i + 1, offsets[seg + 1] - 1)
    at_report = t[i] >= tg  # equal up to key rounding; never later by construction
    gap = t[j] - t[i]
    keep = at_report | ((j > i) & (gap <= max_gap_s))
    grid, seg, tg, i, j, gap, at_report = (a[keep] for a in (grid, seg, tg, i, j, gap,
                                                               at_report))
    # On a report: that report alone (its neighbour may be beyond max_gap).
    j = np.where(at_report, i, j)
    gap = np.where(at_report, 0.0, gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(at_report | (gap <= 0), 0.0, (tg - t[i]) / gap)
    w = np.clip(w, 0.0, 1.0)

    lat, lon = tracks.lat_deg, tracks.lon_deg
    xi = unit_xyz(lat[i], lon[i])
    xj = unit_xyz(lat[j], lon[j])
    p = xi * (1.0 - w)[:, None] + xj * w[:, None]
    norm = np.linalg.norm(p, axis=1)
    p = np.where((norm > 1e-12)[:, None], p / np.maximum(norm, 1e-12)[:, None], xi)
    lat_g = np.degrees(np.arcsin(np.clip(p[:, 2], -1.0, 1.0)))
    lon_g = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    lat_g = np.where(w == 0.0, lat[i], np.where(w == 1.0, lat[j], lat_g))
    lon_g = np.where(w == 0.0, lon[i], np.where(w == 1.0, lon[j], lon_g))
    lon_g = (lon_g + 180.0) % 360.0 - 180.0

    sog = tracks.sog_kn
    si, sj = sog[i], sog[j]
    s = si * (1.0 - w) + sj * w
    s = np.where(np.isnan(s), np.where(np.isnan(si), sj, si), s)
    need = np.flatnonzero(np.isnan(s) & (j > i) & (gap > 0))
    if need.size:
        a, b = i[need], j[need]
        s[need] = haversine_m(lat[a], lon[a], lat[b], lon[b]) / gap[need] / KNOT_M_S
    res = Resampled(grid, seg, lat_g, lon_g, s)
    return (res, p) if return_xyz else res


def close_pairs(res: Resampled, segment_mmsi: np.ndarray, max_distance_m: float,
                chunk_points: int = 2_000_000, xyz: np.ndarray | None = None):
    """All pairs of resampled points at the same grid time within ``max_distance_m``.

    Grid times are processed in chunks of about ``chunk_points`` points. In each chunk one
    :class:`scipy.spatial.cKDTree` holds the Earth-centred unit vectors, each bin shifted along
    x by 4 x its grid index so that points of different grid times (at least 2 apart after the
    shift, more than any radius) never pair. Candidate pairs are then checked by great-circle
    distance, so the result is exact at any latitude and across the antimeridian. Pairs of
    segments of the same MMSI are skipped. ``xyz`` may give the points' unit vectors (as
    returned by ``resample_tracks(..., return_xyz=True)``) to save recomputing them.

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
    chunk_of_bin = (np.cumsum(bin_count) - bin_count) // max(int(chunk_points), 1)
    chunk_first_bin = np.flatnonzero(np.concatenate(([True], np.diff(chunk_of_bin) != 0)))
    chunk_bounds = np.append(bin_start[chunk_first_bin], n)
    out_a, out_b, out_d = [], [], []
    seg_mmsi = segment_mmsi[res.segment]
    for lo, hi in pairwise(chunk_bounds):  # loop over chunks of grid time
        idx = order[lo:hi]
        if idx.size < 2:
            continue
        pts = unit_xyz(res.lat_deg[idx], res.lon_deg[idx]) if xyz is None else xyz[idx]
        pts[:, 0] += 4.0 * (res.grid[idx] - res.grid[idx[0]]).astype(float)
        tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
        pairs = tree.query_pairs(radius, output_type="ndarray")
        if pairs.size == 0:
            continue
        a, b = idx[pairs[:, 0]], idx[pairs[:, 1]]
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


def group_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of ``values`` per group id in ``[0, n_groups)``, ignoring NaN (NaN if none)."""
    order = np.lexsort((values, group))  # NaN sorts last within each group
    v, g = values[order], group[order]
    count = np.bincount(g, weights=~np.isnan(v), minlength=n_groups).astype(np.int64)
    start = np.searchsorted(g, np.arange(n_groups), "left")
    lo = np.clip(start + (count - 1) // 2, 0, max(v.size - 1, 0))
    hi = np.clip(start + count // 2, 0, max(v.size - 1, 0))
    if v.size == 0:
        return np.full(n_groups, np.nan)
    return np.where(count > 0, (v[lo] + v[hi]) / 2.0, np.nan)
